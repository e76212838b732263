using System.Globalization;

namespace LiveNews.Server.Operations;

/// <summary>
/// The one way a middleware turns a request away: a status, <c>Retry-After</c> in whole seconds and a problem
/// body saying why (rate limits, failed sign-ins, a draining node).
/// </summary>
internal static class Refusal
{
    public static async Task WriteAsync(HttpContext context, int status, TimeSpan retryAfter, string title, string detail)
    {
        context.Response.StatusCode = status;
        context.Response.Headers.RetryAfter = RetryAfterSeconds(retryAfter).ToString(CultureInfo.InvariantCulture);
        var problems = context.RequestServices.GetRequiredService<IProblemDetailsService>();
        await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = { Status = status, Title = title, Detail = detail },
        });
    }

    /// <summary>At least one second: a client told to retry after 0 s would retry at once.</summary>
    public static int RetryAfterSeconds(TimeSpan wait) => Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
}
