using LiveNews.Server.Realtime;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace LiveNews.Server.Deploy;

/// <summary>What lets a node be replaced without losing anything: the graceful drain on SIGTERM.</summary>
internal static class DeployServiceCollectionExtensions
{
    /// <summary>How long a draining node waits for its hub connections to take their close message and go.</summary>
    public static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Margin between <c>Realtime:DrainTimeout</c> and the host's shutdown timeout: closing sockets, stopping the relay and the worker.</summary>
    private static readonly TimeSpan StopMargin = CloseTimeout + TimeSpan.FromSeconds(5);

    public static IServiceCollection AddDeploy(this IServiceCollection services)
    {
        services.AddSingleton<Drain>();
        services.AddHostedService<DrainOnShutdown>();
        services.AddHealthChecks().AddCheck<DrainHealthCheck>("drain", tags: ["ready"]);
        services.AddOptions<HostOptions>().Configure<IOptions<RealtimeOptions>>((host, realtime) =>
            host.ShutdownTimeout = realtime.Value.DrainTimeout + StopMargin);
        return services;
    }

    /// <summary>Refuses new connections and writes while draining; early, before authentication and limits.</summary>
    public static WebApplication UseDrain(this WebApplication app)
    {
        app.UseMiddleware<DrainMiddleware>();
        return app;
    }
}

/// <summary>A draining node is not ready: the balancer (or Kubernetes) stops sending it traffic at once.</summary>
internal sealed class DrainHealthCheck(Drain drain) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(drain.IsDraining
            ? HealthCheckResult.Unhealthy("draining: this node is shutting down")
            : HealthCheckResult.Healthy());
}
