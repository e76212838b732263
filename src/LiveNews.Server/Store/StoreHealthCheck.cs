using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace LiveNews.Server.Store;

/// <summary>Ready means the store answers a round trip.</summary>
internal sealed class StoreHealthCheck(RedisStore store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!store.IsConnected)
        {
            return HealthCheckResult.Unhealthy("store not connected");
        }

        try
        {
            var latency = await (await store.GetDatabaseAsync()).PingAsync();
            return HealthCheckResult.Healthy($"store answered in {latency.TotalMilliseconds:0.0} ms");
        }
        catch (Exception ex)
        {
            return HealthCheckResult.Unhealthy("store unreachable", ex);
        }
    }
}
