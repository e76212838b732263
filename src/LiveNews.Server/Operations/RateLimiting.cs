using System.Globalization;
using System.Security.Claims;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

namespace LiveNews.Server.Operations;

/// <summary>The named rate-limiting policies endpoints opt into, and the hub's per-connection limit.</summary>
internal static class RateLimiting
{
    public const string Editor = "editor";
    public const string Public = "public";
    public const string Connections = "connections";

    public static IServiceCollection AddLiveNewsRateLimiting(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RateLimitOptions>()
            .Bind(configuration.GetSection(RateLimitOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.OnRejected = async (context, cancellationToken) =>
            {
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
                var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
                context.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                var problems = context.HttpContext.RequestServices.GetRequiredService<IProblemDetailsService>();
                await problems.TryWriteAsync(new ProblemDetailsContext
                {
                    HttpContext = context.HttpContext,
                    ProblemDetails = { Status = 429, Title = "Too many requests", Detail = $"Retry after {seconds} s." },
                });
            };
            limiter.AddPolicy(Editor, context => Window(context, o => o.EditorRequestsPerMinute,
                context.User.FindFirstValue(ClaimTypes.Name) ?? context.User.FindFirstValue("sub") ?? Address(context)));
            limiter.AddPolicy(Public, context => Window(context, o => o.PublicRequestsPerMinute, Address(context)));
            limiter.AddPolicy(Connections, context => Window(context, o => o.ConnectionsPerMinute, Address(context)));
        });
        services.AddCors(cors => cors.AddDefaultPolicy(policy =>
        {
            var origins = configuration.GetSection(RateLimitOptions.SectionName).Get<RateLimitOptions>()?.AllowedOrigins ?? [];
            if (origins.Count > 0)
            {
                policy.WithOrigins([.. origins]).AllowAnyHeader().AllowAnyMethod().AllowCredentials();
            }
        }));
        return services;
    }

    private static RateLimitPartition<string> Window(HttpContext context, Func<RateLimitOptions, int> limit, string key)
    {
        var permits = limit(context.RequestServices.GetRequiredService<IOptions<RateLimitOptions>>().Value);
        return RateLimitPartition.GetSlidingWindowLimiter(key, _ => new SlidingWindowRateLimiterOptions
        {
            PermitLimit = permits,
            Window = TimeSpan.FromMinutes(1),
            SegmentsPerWindow = 6,
            QueueLimit = 0,
        });
    }

    private static string Address(HttpContext context) => context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
}

/// <summary>Limits hub invocations per connection; a refused call fails with a hub error, the connection stays.</summary>
internal sealed class HubInvocationLimit(IOptions<RateLimitOptions> options) : IHubFilter
{
    private static readonly object LimiterKey = new();

    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        var items = invocationContext.Context.Items;
        if (!items.TryGetValue(LimiterKey, out var value) || value is not RateLimiter limiter)
        {
            limiter = new SlidingWindowRateLimiter(new SlidingWindowRateLimiterOptions
            {
                PermitLimit = options.Value.HubInvocationsPerMinute,
                Window = TimeSpan.FromMinutes(1),
                SegmentsPerWindow = 6,
                QueueLimit = 0,
            });
            items[LimiterKey] = limiter;
        }

        using var lease = limiter.AttemptAcquire();
        if (!lease.IsAcquired)
        {
            var retry = lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)) : 10;
            throw new HubException($"Too many calls on this connection: retry after {retry} s.");
        }

        return await next(invocationContext);
    }

    public Task OnDisconnectedAsync(HubLifetimeContext context, Exception? exception, Func<HubLifetimeContext, Exception?, Task> next)
    {
        if (context.Context.Items.TryGetValue(LimiterKey, out var value) && value is IDisposable limiter)
        {
            limiter.Dispose();
        }

        return next(context, exception);
    }
}
