using System.Threading.RateLimiting;
using LiveNews.Server.Operations;
using Microsoft.Extensions.Options;

namespace LiveNews.Server.Editors;

/// <summary>
/// Limits failed editor sign-ins per client address (<c>RateLimits:FailedSignInsPerMinute</c>): each 401
/// to a request that carried credentials spends a permit; with none left, every request with credentials
/// from that address gets 429 until the window moves on, so a stolen list of keys cannot be tried out.
/// </summary>
internal sealed class FailedSignIns : IDisposable
{
    private readonly PartitionedRateLimiter<string> _failures;

    public FailedSignIns(IOptions<RateLimitOptions> options)
    {
        var permits = options.Value.FailedSignInsPerMinute;
        _failures = PartitionedRateLimiter.Create<string, string>(address => RateLimitPartition.GetSlidingWindowLimiter(address, _ => new SlidingWindowRateLimiterOptions
        {
            PermitLimit = permits,
            Window = TimeSpan.FromMinutes(1),
            SegmentsPerWindow = 6,
            QueueLimit = 0,
        }));
    }

    // Not async for readers without credentials: their hub or SSE request stays open for hours, and an
    // awaiting middleware keeps its state for all that time.
    public Task InvokeAsync(HttpContext context, RequestDelegate next) =>
        CarriesCredentials(context.Request) ? SignInAsync(context, next) : next(context);

    private async Task SignInAsync(HttpContext context, RequestDelegate next)
    {
        var address = ClientAddress.Of(context);
        if (_failures.GetStatistics(address)?.CurrentAvailablePermits <= 0)
        {
            await Refusal.WriteAsync(context, StatusCodes.Status429TooManyRequests, TimeSpan.FromMinutes(1), "Too many failed sign-ins",
                "Too many failed sign-ins from this address; retry after 60 s.");
            return;
        }

        await next(context);
        if (context.Response.StatusCode == StatusCodes.Status401Unauthorized)
        {
            using var _ = _failures.AttemptAcquire(address);
        }
    }

    public void Dispose() => _failures.Dispose();

    private static bool CarriesCredentials(HttpRequest request) =>
        request.Headers.ContainsKey(ApiKeyAuthenticationHandler.HeaderName)
        || request.Headers.Authorization.Count > 0
        || (request.Path.StartsWithSegments(RateLimiting.HubPath) && request.Query.ContainsKey("access_token"));
}
