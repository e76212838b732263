using LiveNews.Server.Bus;
using LiveNews.Server.Store;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LiveNews.Server.Feeds;

/// <summary>
/// The durable queue of WebSub pings, shared by every node: a sorted set of feed paths by due time. A
/// change adds its feeds due one coalescing window later, unless they are already waiting (<c>NX</c>), so
/// the changes of a window make one ping. A node takes due pings by moving them to a lease set; a lease
/// that runs out (its node died) puts the ping back, and a change during a ping queues the next one.
/// </summary>
internal sealed class WebSubQueue(RedisStore store, RedisNames names, IOptions<WebSubOptions> options, TimeProvider time)
{
    // KEYS: due, leased, hub wait. ARGV: now (ms), lease end (ms), at most how many.
    // Takes nothing while the hub asked to wait: the pings stay due.
    private const string TakeScript = """
        if redis.call('EXISTS', KEYS[3]) == 1 then return {} end
        local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
        for _, feed in ipairs(expired) do
          redis.call('ZREM', KEYS[2], feed)
          redis.call('ZADD', KEYS[1], 'NX', ARGV[1], feed)
        end
        local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
        for _, feed in ipairs(due) do
          redis.call('ZREM', KEYS[1], feed)
          redis.call('ZADD', KEYS[2], ARGV[2], feed)
        end
        return due
        """;

    // KEYS: due, leased. ARGV: feed, lease end (ms) the taker holds, retry at (ms, 0: done).
    // Only the lease's holder ends it: a node whose lease ran out and was taken over changes nothing.
    private const string EndScript = """
        local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
        if not score or tonumber(score) ~= tonumber(ARGV[2]) then return 0 end
        redis.call('ZREM', KEYS[2], ARGV[1])
        if tonumber(ARGV[3]) > 0 then redis.call('ZADD', KEYS[1], 'NX', ARGV[3], ARGV[1]) end
        return 1
        """;

    // KEYS: hub wait. ARGV: until (unix ms), for how long (ms). Only lengthens a wait another node recorded.
    private const string WaitScript = """
        local recorded = tonumber(redis.call('GET', KEYS[1]) or '0')
        if recorded >= tonumber(ARGV[1]) then return 0 end
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        return 1
        """;

    // Far above one take (a few milliseconds); bounds the wait when a node died holding it.
    private static readonly TimeSpan TakingLockTime = TimeSpan.FromSeconds(5);

    /// <summary>Queues a ping of each feed, one coalescing window from now, unless one is waiting already.</summary>
    public async Task AddAsync(IReadOnlyList<string> feedPaths)
    {
        var due = (time.GetUtcNow() + options.Value.CoalesceWindow).ToUnixTimeMilliseconds();
        var database = await store.GetDatabaseAsync();
        await database.SortedSetAddAsync(names.WebSubDue, [.. feedPaths.Select(path => new SortedSetEntry(path, due))], SortedSetWhen.NotExists);
    }

    /// <summary>Due pings this node now holds, each until the returned lease end.</summary>
    /// <remarks>
    /// Nodes take in turns, under a short lock: the embedded store runs a script's commands without
    /// isolating them from another client's script, and two nodes taking the same ping at the same instant
    /// was seen there (a test caught every ping of a window made twice).
    /// </remarks>
    public async Task<(IReadOnlyList<string> Feeds, long LeaseEnd)> TakeAsync(int max)
    {
        var database = await store.GetDatabaseAsync();
        var token = Guid.NewGuid().ToString("N");
        if (!await database.StringSetAsync(names.WebSubTaking, token, TakingLockTime, When.NotExists))
        {
            return ([], 0);
        }

        try
        {
            var now = time.GetUtcNow();
            var leaseEnd = (now + options.Value.LeaseTime).ToUnixTimeMilliseconds();
            var result = (RedisResult[])(await database.ScriptEvaluateAsync(TakeScript, [names.WebSubDue, names.WebSubLeased, names.WebSubHubWait], [now.ToUnixTimeMilliseconds(), leaseEnd, max]))!;
            return ([.. result.Select(feed => (string)feed!)], leaseEnd);
        }
        finally
        {
            if (await database.StringGetAsync(names.WebSubTaking) == token)
            {
                await database.KeyDeleteAsync(names.WebSubTaking);
            }
        }
    }

    /// <summary>The hub asked to wait until <paramref name="until"/>: no node takes a ping before then (a longer wait stands).</summary>
    public async Task HubWaitsAsync(DateTimeOffset until)
    {
        var wait = (long)(until - time.GetUtcNow()).TotalMilliseconds;
        if (wait > 0)
        {
            await (await store.GetDatabaseAsync()).ScriptEvaluateAsync(WaitScript, [names.WebSubHubWait], [until.ToUnixTimeMilliseconds(), wait]);
        }
    }

    /// <summary>Ends a lease: the ping was made, or (with <paramref name="retryAt"/>) waits to be tried again.</summary>
    public async Task EndAsync(string feed, long leaseEnd, DateTimeOffset? retryAt)
    {
        var database = await store.GetDatabaseAsync();
        await database.ScriptEvaluateAsync(EndScript, [names.WebSubDue, names.WebSubLeased], [feed, leaseEnd, retryAt?.ToUnixTimeMilliseconds() ?? 0]);
    }
}

/// <summary>
/// On the publishing node: a change of <c>latest</c> or of an article queues a ping of the feeds it changed,
/// before the change and again after it. Queued before, a node that dies once the change is made still leaves
/// the ping (a hub would otherwise never fetch the change, a takedown included); a change then refused costs
/// a ping that finds nothing new. Queued after, a ping taken before a slow change landed is queued again.
/// Both times the queue keeps one waiting ping per feed.
/// </summary>
internal sealed class FeedChanges(WebSubQueue queue, IOptions<WebSubOptions> options, ILogger<FeedChanges> logger) : IPublishObserver
{
    public Task ChangingAsync(Topic topic) => QueueAsync(topic);

    public Task ChangedAsync(Topic topic) => QueueAsync(topic);

    private async Task QueueAsync(Topic topic)
    {
        if (!options.Value.Enabled)
        {
            return;
        }

        IReadOnlyList<string> feeds = topic.Kind switch
        {
            TopicKind.Latest => [FeedsApi.LatestAtom, FeedsApi.LatestJson],
            TopicKind.Article => [FeedsApi.ArticleAtom(topic.Name["article:".Length..])],
            _ => [],
        };
        if (feeds.Count == 0)
        {
            return;
        }

        try
        {
            await queue.AddAsync(feeds);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            FeedsLog.QueueFailed(logger, topic.Name, ex);
        }
    }
}
