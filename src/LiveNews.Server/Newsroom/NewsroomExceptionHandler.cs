using LiveNews.Server.Editors;
using Microsoft.AspNetCore.Diagnostics;
using StackExchange.Redis;

namespace LiveNews.Server.Newsroom;

/// <summary>Turns store outages and write races into problem details the caller can act on.</summary>
internal sealed class NewsroomExceptionHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var (status, title, detail) = exception switch
        {
            RedisException or RedisTimeoutException or TimeoutException =>
                (StatusCodes.Status503ServiceUnavailable, "Store unavailable", "The event store did not answer; retry with the same Idempotency-Key."),
            ConcurrencyException => (StatusCodes.Status409Conflict, "Conflicting change", exception.Message),
            _ => (0, "", ""),
        };
        if (status == 0)
        {
            return false;
        }

        httpContext.Response.StatusCode = status;
        if (status == StatusCodes.Status503ServiceUnavailable)
        {
            httpContext.Response.Headers.RetryAfter = "1";
        }

        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = { Status = status, Title = title, Detail = detail },
        });
    }
}
