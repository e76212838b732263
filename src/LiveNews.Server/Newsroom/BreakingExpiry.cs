using System.Security.Cryptography;
using System.Text;
using LiveNews.Server.Bus;
using Microsoft.Extensions.Options;

namespace LiveNews.Server.Newsroom;

/// <summary>
/// Removes breaking alerts past their expiry and pushes <c>breaking.expired</c>. Every node sweeps; the
/// event id derives from the alert as stored, so when two nodes race exactly one event is published.
/// </summary>
internal sealed class BreakingExpiry(EventBus bus, IOptions<NewsroomOptions> options, TimeProvider time, ILogger<BreakingExpiry> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Sweeps.EveryAsync(options.Value.ExpirySweepInterval, time, SweepAsync, ex => NewsroomLog.ExpirySweepFailed(logger, ex), stoppingToken);

    internal async Task SweepAsync()
    {
        foreach (var id in await bus.GetExpiredItemIdsAsync(Topic.Breaking, time.GetUtcNow()))
        {
            var current = await bus.GetItemAsync(Topic.Breaking, id);
            if (current is null)
            {
                continue;
            }

            var eventId = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("expired\n" + current)), 0, 16);
            var data = Publisher.Serialize(new Removed(id));
            var result = await bus.PublishAsync(new PublishRequest(Topic.Breaking, "breaking.expired", data, SnapshotChange.Remove(id, current), eventId));
            if (result.Status == PublishStatus.Published)
            {
                NewsroomLog.AlertExpired(logger, id);
            }
        }
    }
}
