using System.Net;
using System.Security.Claims;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace LiveNews.Server.Operations;

/// <summary>The named rate-limiting policies endpoints opt into (the hub's per-connection call limit is <see cref="Realtime.HubInvocationLimit"/>).</summary>
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
            .Validate(o => o.KnownProxies.All(p => IPAddress.TryParse(p, out _)), "RateLimits:KnownProxies must be IP addresses (10.0.0.5, ::1).")
            .Validate(o => o.KnownNetworks.All(n => System.Net.IPNetwork.TryParse(n, out _)), "RateLimits:KnownNetworks must be networks in CIDR notation (10.0.0.0/8).")
            .ValidateOnStart();
        services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<RateLimitOptions>>((forwarded, limits) =>
        {
            // ASP.NET Core trusts loopback by default, and every peer once both lists are empty: start from
            // nothing, and read no forwarded header at all unless a proxy or network is configured.
            forwarded.KnownProxies.Clear();
            forwarded.KnownIPNetworks.Clear();
            var trusted = limits.Value.KnownProxies.Count + limits.Value.KnownNetworks.Count > 0;
            forwarded.ForwardedHeaders = trusted ? ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto : ForwardedHeaders.None;

            // Every hop a trusted proxy reports is believed, however many (a CDN in front of a balancer).
            forwarded.ForwardLimit = null;
            foreach (var proxy in limits.Value.KnownProxies)
            {
                forwarded.KnownProxies.Add(IPAddress.Parse(proxy));
            }

            foreach (var network in limits.Value.KnownNetworks)
            {
                forwarded.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(network));
            }
        });

        services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.OnRejected = async (context, cancellationToken) =>
            {
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
                await Refusal.WriteAsync(context.HttpContext, StatusCodes.Status429TooManyRequests, retryAfter, "Too many requests",
                    $"Retry after {Refusal.RetryAfterSeconds(retryAfter)} s.");
            };
            limiter.AddPolicy(Editor, context => Window(context, o => o.EditorRequestsPerMinute,
                context.User.FindFirstValue(ClaimTypes.Name) ?? context.User.FindFirstValue("sub") ?? ClientAddress.Of(context)));
            limiter.AddPolicy(Public, context => Window(context, o => o.PublicRequestsPerMinute, ClientAddress.Of(context)));
            limiter.AddPolicy(Connections, context => Window(context, o => o.ConnectionsPerMinute, ClientAddress.Of(context)));

            // Open hub connections and event streams per address: such a request holds its permit while it is open.
            limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
                context.Request.Path.StartsWithSegments(HubPath) || context.Request.Path.StartsWithSegments(EventStreamPath)
                    ? RateLimitPartition.GetConcurrencyLimiter(ClientAddress.Of(context), _ => new ConcurrencyLimiterOptions
                    {
                        PermitLimit = context.RequestServices.GetRequiredService<IOptions<RateLimitOptions>>().Value.ConnectionsPerAddress,
                        QueueLimit = 0,
                    })
                    : RateLimitPartition.GetNoLimiter(""));
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

    /// <summary>Where the hub is mapped; connections there count against <c>RateLimits:ConnectionsPerAddress</c>.</summary>
    public const string HubPath = "/hubs";

    /// <summary>Where Server-Sent Events streams are served; they count like hub connections.</summary>
    public const string EventStreamPath = "/sse";

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
}
