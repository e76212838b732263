using LiveNews.Server.Operations;

namespace LiveNews.Server.Deploy;

/// <summary>
/// While the node drains, new hub and SSE connections and new editor writes get 503 with
/// <c>Retry-After</c>: the balancer tries another node (nginx <c>proxy_next_upstream http_503</c>) and a
/// CMS retries with the same Idempotency-Key. Editor writes that were accepted are counted until they answer.
/// </summary>
internal sealed class DrainMiddleware(RequestDelegate next, Drain drain)
{
    private static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(1);

    // Not async for what it lets through: a hub or SSE request stays open for hours, and an awaiting
    // middleware keeps its state for all that time.
    public Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path;
        if (IsWrite(context.Request))
        {
            return WriteAsync(context);
        }

        if (drain.IsDraining && (path.StartsWithSegments(RateLimiting.HubPath) || path.StartsWithSegments(RateLimiting.EventStreamPath)))
        {
            return RefuseAsync(context, "This node is shutting down; connect again (another node will answer).");
        }

        return next(context);
    }

    private async Task WriteAsync(HttpContext context)
    {
        using var work = drain.TryBegin();
        if (work is null)
        {
            await RefuseAsync(context, "This node is shutting down and takes no new writes; retry with the same Idempotency-Key.");
            return;
        }

        await next(context);
    }

    private static bool IsWrite(HttpRequest request) =>
        request.Path.StartsWithSegments("/api") && !(HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method));

    private static Task RefuseAsync(HttpContext context, string detail) =>
        Refusal.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, RetryAfter, "Node draining", detail);
}
