using System.Globalization;
using LiveNews.Server.Bus;
using LiveNews.Server.Store;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LiveNews.Server.Realtime;

/// <summary>
/// "N watching" for <c>live</c> and every <c>article:{id}</c>, over all nodes. Every
/// <c>Realtime:ViewerCountInterval</c> each node writes its own readers per topic to Redis in one script
/// call (one hash per node, so the keys grow with nodes, not topics; it expires after two intervals, so a
/// dead node's viewers drop out within three), reads every live node's hash, sums them, and pushes
/// <c>viewers({ topic, count, at })</c> to its readers of each topic whose count changed. When a topic's count
/// did not change, only its readers who arrived since the last interval get it (a join and a leave cancelled
/// out, yet the newcomer has no count at all). Joins and leaves only move an in-memory count: the Redis
/// commands per interval grow with nodes and topics, never with them.
/// </summary>
internal sealed class ViewerCounts(
    RedisStore store,
    RedisNames names,
    Subscribers subscribers,
    EventRelay relay,
    IOptions<RealtimeOptions> options,
    TimeProvider time,
    IHostApplicationLifetime lifetime,
    ILogger<ViewerCounts> logger) : BackgroundService
{
    public const string Method = "viewers";

    // KEYS: 1 this node's hash, 2 the node index. ARGV: 1 node id, 2 now (unix ms), 3 hash TTL ms,
    // 4 index entries older than this are pruned (unix ms), 5 index TTL ms, then topic, count pairs.
    // Returns the ids of the nodes that wrote lately (their hashes may still have expired: a missing hash
    // counts nothing). HSET in chunks: unpack of thousands of arguments overflows Lua's stack.
    private const string Write = """
        redis.call('DEL', KEYS[1])
        local i = 6
        while i <= #ARGV do
          local last = math.min(i + 199, #ARGV)
          redis.call('HSET', KEYS[1], unpack(ARGV, i, last))
          i = last + 1
        end
        if #ARGV >= 6 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
        redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
        redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[4])
        redis.call('PEXPIRE', KEYS[2], ARGV[5])
        return redis.call('ZRANGE', KEYS[2], 0, -1)
        """;

    private static readonly IReadOnlyDictionary<string, long> None = new Dictionary<string, long>();

    // The counts pushed last to this node's readers, per topic; only the loop touches it.
    private readonly Dictionary<string, long> _pushed = new(StringComparer.Ordinal);

    // Readers who arrived since the last interval that pushed counts (one that failed keeps them); only the loop
    // touches it.
    private readonly HashSet<(string Topic, string ReaderId)> _arrived = [];
    private volatile IReadOnlyDictionary<string, long> _totals = None;
    private bool _failing;
    private volatile bool _leaving;

    /// <summary>This process's id among the nodes.</summary>
    public string NodeId { get; } = Guid.NewGuid().ToString("N");

    /// <summary>Newcomers waiting for an unchanged count (tests watch it stay bounded while Redis is away).</summary>
    internal int Arrived => _arrived.Count;

    /// <summary>Only the live stream and articles show how many are watching.</summary>
    public static bool Counts(Topic topic) => topic.Kind is TopicKind.Live or TopicKind.Article;

    /// <summary>Viewers of the topic over all nodes, as of the last interval; null for topics not counted.</summary>
    public long? Of(Topic topic) => Counts(topic) ? _totals.GetValueOrDefault(topic.Name) : null;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // A node shut down gracefully takes its viewers out at once: they reconnect to other nodes, and
        // would otherwise count twice until its hash expires. (A node that dies leaves that to the expiry.)
        using var leaving = lifetime.ApplicationStopping.Register(() => _ = LeaveAsync());
        using var timer = new PeriodicTimer(options.Value.ViewerCountInterval, time);
        try
        {
            while (!_leaving && await timer.WaitForNextTickAsync(stoppingToken))
            {
                if (!_leaving)
                {
                    await CountAsync();
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task LeaveAsync()
    {
        _leaving = true;
        try
        {
            var database = await store.GetDatabaseAsync().WaitAsync(options.Value.ViewerCountInterval);
            await database.KeyDeleteAsync(names.ViewersOfNode(NodeId)).WaitAsync(options.Value.ViewerCountInterval);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The hash expires by itself.
            RealtimeLog.ViewerCountsFailed(logger, ex);
        }
    }

    /// <summary>One interval: write this node's counts, sum every node's, push the ones that changed.</summary>
    internal async Task CountAsync()
    {
        // Taken before the readers are counted, so each of them is in this interval's count.
        _arrived.UnionWith(subscribers.TakeNewViewers());
        IReadOnlyDictionary<string, long> totals;
        var local = Local();
        try
        {
            totals = await WriteAndSumAsync(local);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Redis away (or anything else): readers keep the last count they got, newcomers stay arrived while they
            // still follow the topic (a long outage with readers coming and going keeps only those); the next
            // interval tries again.
            _arrived.RemoveWhere(arrival => subscribers.Follower(arrival.ReaderId, arrival.Topic) is null);
            if (!_failing)
            {
                _failing = true;
                RealtimeLog.ViewerCountsFailed(logger, ex);
            }

            return;
        }

        _failing = false;
        _totals = totals;
        await PushChangedAsync(totals, local);
    }

    // Counted topics with readers on this node, that something was published on.
    private Dictionary<string, long> Local()
    {
        var local = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (name, count) in subscribers.Counts())
        {
            if (count > 0 && Counted(name))
            {
                local[name] = count;
            }
        }

        return local;
    }

    // Readers only ever join validated topic names.
    private bool Counted(string topic) =>
        Topic.TryParse(topic, out var parsed, out _) && Counts(parsed.Value) && relay.IsPublished(topic);

    private async Task<IReadOnlyDictionary<string, long>> WriteAndSumAsync(Dictionary<string, long> local)
    {
        var interval = options.Value.ViewerCountInterval;
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var args = new List<RedisValue>(5 + (local.Count * 2))
        {
            NodeId,
            now,
            (long)(interval * 2).TotalMilliseconds,

            // The index only bounds the list of hashes to read: prune generously, so clocks a little
            // apart never drop a live node (its hash's expiry is what drops a dead one).
            now - (long)(interval * 10).TotalMilliseconds,
            (long)(interval * 10).TotalMilliseconds,
        };
        foreach (var (topic, count) in local)
        {
            args.Add(topic);
            args.Add(count);
        }

        var database = await store.GetDatabaseAsync();
        var nodes = (RedisValue[])(await database.ScriptEvaluateAsync(Write, [names.ViewersOfNode(NodeId), names.ViewerNodes], [.. args]))!;

        var batch = database.CreateBatch();
        var reads = nodes.Select(node => batch.HashGetAllAsync(names.ViewersOfNode(node!))).ToArray();
        batch.Execute();

        var totals = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var read in reads)
        {
            foreach (var entry in await read)
            {
                if (entry.Value.TryParse(out long count))
                {
                    totals[entry.Name!] = totals.GetValueOrDefault(entry.Name!) + count;
                }
            }
        }

        return totals;
    }

    // Only topics this node counted: readers who joined one while the counts were summed are in no total yet,
    // and would be told 0 (or the other nodes' count) while they watch; the next interval counts them.
    private async Task PushChangedAsync(IReadOnlyDictionary<string, long> totals, Dictionary<string, long> counted)
    {
        var at = time.GetUtcNow();
        var served = subscribers.Counts();
        foreach (var topic in _pushed.Keys.Where(topic => !served.ContainsKey(topic)).ToArray())
        {
            _pushed.Remove(topic);
        }

        var changed = new List<TopicPush>();
        var unchanged = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var name in served.Keys)
        {
            if (!counted.ContainsKey(name))
            {
                // Its next count goes out even if the total is back to what was pushed before: the readers
                // who joined since have not had it.
                _pushed.Remove(name);
                continue;
            }

            var count = totals.GetValueOrDefault(name);
            if (_pushed.TryGetValue(name, out var pushed) && pushed == count)
            {
                unchanged[name] = count;
                continue;
            }

            _pushed[name] = count;
            changed.Add(Push(name, count, at));
        }

        await subscribers.PushPacedAsync(changed);

        await subscribers.PushPacedAsync(TakeArrived(unchanged, at));
    }

    // The readers who arrived since the last interval, each with the count of its topic when it did not change:
    // the others have that count, they do not. (A topic pushed just now reached them with everyone; one not
    // counted has no count to show.)
    private List<(ITopicReader Reader, TopicPush Push)> TakeArrived(Dictionary<string, long> unchanged, DateTimeOffset at)
    {
        var pushes = new List<(ITopicReader Reader, TopicPush Push)>();
        foreach (var topic in _arrived.GroupBy(arrival => arrival.Topic))
        {
            if (unchanged.TryGetValue(topic.Key, out var count))
            {
                var push = Push(topic.Key, count, at);
                foreach (var (_, readerId) in topic)
                {
                    if (subscribers.Follower(readerId, topic.Key) is { } reader)
                    {
                        pushes.Add((reader, push));
                    }
                }
            }
        }

        _arrived.Clear();
        return pushes;
    }

    private static TopicPush Push(string topic, long count, DateTimeOffset at) =>
        new(topic, new RawJson(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new ViewerCount(topic, count, at), LiveNewsJson.Stored)), Method);
}

/// <summary>What readers of a topic receive as <c>viewers</c>: how many watch it over all nodes, and when that was counted.</summary>
internal sealed record ViewerCount(string Topic, long Count, DateTimeOffset At);
