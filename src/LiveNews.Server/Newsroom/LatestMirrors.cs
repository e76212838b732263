using LiveNews.Server.Bus;
using LiveNews.Server.Editors;
using LiveNews.Server.Store;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LiveNews.Server.Newsroom;

/// <summary>
/// Keeps <c>latest</c> following its articles when the node changing one dies between the two topics (each
/// written atomically, one after the other): a story taken down stayed listed, headline and summary, until the
/// CMS retried. Each article request records its intent before its change and again after it (members of one
/// sorted set, by time), and removes both once <c>latest</c> mirrors the article; every node mirrors the
/// intents older than <c>Newsroom:MirrorRepairAfter</c>, which only a request that stopped halfway leaves behind.
/// The second intent is for a request slower than that before its change: a sweep may have mirrored the article
/// as it still was and removed the first.
/// </summary>
/// <remarks>
/// Bound: one member per article request in flight, and per one that stopped halfway until the next sweep.
/// Mirroring again is harmless: <c>latest</c> refuses a copy older than the one it holds and publishes nothing
/// when its copy is current.
/// </remarks>
internal sealed class LatestMirrors(
    RedisStore store, RedisNames names, EventBus bus, Publisher publisher, IOptions<NewsroomOptions> options, TimeProvider time, ILogger<LatestMirrors> logger)
    : BackgroundService
{
    private const int SweepBatch = 100;

    /// <summary>Records that <c>latest</c> is to mirror the article; the answer is what <see cref="DoneAsync"/> takes.</summary>
    public async Task<RedisValue> IntendAsync(string articleId)
    {
        RedisValue intent = $"{articleId}\n{Guid.NewGuid():N}";
        await (await store.GetDatabaseAsync()).SortedSetAddAsync(names.LatestMirrorsPending, intent, time.GetUtcNow().ToUnixTimeMilliseconds());
        return intent;
    }

    /// <summary>
    /// The request mirrored the article: its intents go. Best effort: both topics are changed by now, so a Redis
    /// error here must not answer the request as failed (a retry without an idempotency key would publish again);
    /// a sweep removes what is left.
    /// </summary>
    public async Task DoneAsync(params RedisValue[] intents)
    {
        try
        {
            await (await store.GetDatabaseAsync()).SortedSetRemoveAsync(names.LatestMirrorsPending, intents);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            NewsroomLog.MirrorIntentLeft(logger, ex);
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Sweeps.EveryAsync(options.Value.MirrorRepairAfter, time, RepairAsync, ex => NewsroomLog.MirrorSweepFailed(logger, ex), stoppingToken);

    /// <summary>Mirrors the articles of intents older than <c>Newsroom:MirrorRepairAfter</c>, each once.</summary>
    internal async Task RepairAsync()
    {
        var db = await store.GetDatabaseAsync();
        var before = (time.GetUtcNow() - options.Value.MirrorRepairAfter).ToUnixTimeMilliseconds();
        var stopped = await db.SortedSetRangeByScoreAsync(names.LatestMirrorsPending, double.NegativeInfinity, before, take: SweepBatch);
        foreach (var intents in stopped.GroupBy(intent => ((string)intent!).Split('\n')[0]))
        {
            var id = intents.Key;
            try
            {
                // Mostly nothing to do (the request mirrored, then stopped; or its retry did): only a change logs.
                if (Topic.IsValidArticleId(id)
                    && (await ArticlesApi.MirrorAsync(id, await bus.GetStateAtAsync(Topic.Article(id)), EventIds.Fresh(), publisher)).Length > 0)
                {
                    NewsroomLog.MirrorRepaired(logger, id);
                }

                await db.SortedSetRemoveAsync(names.LatestMirrorsPending, [.. intents]);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // One article that cannot be mirrored now holds up none of the others.
                NewsroomLog.MirrorRepairFailed(logger, id, ex);
            }
        }
    }
}
