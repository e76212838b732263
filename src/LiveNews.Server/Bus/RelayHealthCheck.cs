using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace LiveNews.Server.Bus;

/// <summary>Ready also means this node receives events: its Redis subscription is in place.</summary>
internal sealed class RelayHealthCheck(EventRelay relay) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(relay.IsRelaying
            ? HealthCheckResult.Healthy("subscribed to events")
            : HealthCheckResult.Unhealthy("not subscribed to events: clients of this node would miss pushes"));
}
