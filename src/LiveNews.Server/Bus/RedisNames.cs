using System.Collections.Concurrent;
using LiveNews.Server.Store;
using StackExchange.Redis;

namespace LiveNews.Server.Bus;

/// <summary>
/// The one owner of every Redis key and channel name. Keys of one topic share the hash tag
/// <c>{topic}</c>, so the publish script touches a single slot on Redis Cluster.
/// </summary>
internal sealed class RedisNames(RedisStore store)
{
    private readonly string _prefix = store.KeyPrefix;

    /// <summary>Pattern every node subscribes to; topic names cannot hold pattern characters.</summary>
    public RedisChannel AllEvents => RedisChannel.Pattern($"{_prefix}:events:*");

    public RedisChannel Events(Topic topic) => RedisChannel.Literal(EventsChannelName(topic));

    public string EventsChannelName(Topic topic) => $"{_prefix}:events:{topic.Name}";

    // Topics whose key names are kept; past it the memory starts over (articles come and go).
    private const int MaxNamedTopics = 10_000;

    // Every publish and read names its topic's keys: the active topics' names are made once, not per call.
    private readonly ConcurrentDictionary<string, TopicKeys> _topics = new(StringComparer.Ordinal);

    // Names added since the last clear (the dictionary's own Count takes every lock: reads of unknown articles miss).
    private int _named;

    /// <summary>The keys of a topic, named; <see cref="TopicKeys.All"/> is the order the bus scripts take them in.</summary>
    public TopicKeys Topic(Topic topic)
    {
        if (_topics.TryGetValue(topic.Name, out var keys))
        {
            return keys;
        }

        keys = new TopicKeys($"{_prefix}:{{{topic.Name}}}:");
        if (Interlocked.Increment(ref _named) > MaxNamedTopics)
        {
            Volatile.Write(ref _named, 0);
            _topics.Clear();
        }

        _topics.TryAdd(topic.Name, keys);
        return keys;
    }

    /// <summary>Article requests whose change <c>latest</c> is still to mirror (sorted set by start, unix ms).</summary>
    public RedisKey LatestMirrorsPending => $"{_prefix}:{{latest}}:mirrors-pending";

    /// <summary>Marks an event id as published, so a retried publish returns the first envelope.</summary>
    public RedisKey EventId(Topic topic, string eventId) => $"{_prefix}:{{{topic.Name}}}:event:{eventId}";

    /// <summary>
    /// Share jobs and their queue share the hash tag <c>{shares}</c>, so the queue scripts run on one slot.
    /// </summary>
    public RedisKey SharesDue => $"{_prefix}:{{shares}}:due";

    public RedisKey ShareJob(string jobId) => ShareJobPrefix + jobId;

    public string ShareJobPrefix => $"{_prefix}:{{shares}}:job:";

    public string ShareLeasePrefix => $"{_prefix}:{{shares}}:lease:";

    public RedisKey ShareLease(string jobId) => ShareLeasePrefix + jobId;

    public RedisKey SharesOfArticle(string articleId) => $"{_prefix}:{{shares}}:article:{articleId}";

    /// <summary>A social account's health: last post, last error (a hash).</summary>
    public RedisKey ShareAccount(string account) => $"{_prefix}:{{shares}}:account:{account}";

    /// <summary>A social account's OAuth tokens, encrypted with Data Protection.</summary>
    public RedisKey ShareOAuthToken(string account) => $"{_prefix}:{{shares}}:oauth:{account}";

    /// <summary>Held by the one node refreshing an account's rotating OAuth token.</summary>
    public RedisKey ShareOAuthLock(string account) => $"{_prefix}:{{shares}}:oauth-lock:{account}";

    /// <summary>
    /// Hash: topic to this node's viewers, rewritten whole every <c>Realtime:ViewerCountInterval</c> and
    /// expiring after two, so a dead node's viewers drop out. One per node, whatever the number of topics.
    /// </summary>
    public RedisKey ViewersOfNode(string nodeId) => $"{_prefix}:{{viewers}}:node:{nodeId}";

    /// <summary>Sorted set: node ids by when they last wrote their viewers (unix ms), pruned as they go quiet; expires with them.</summary>
    public RedisKey ViewerNodes => $"{_prefix}:{{viewers}}:nodes";

    /// <summary>
    /// A Web Push subscription (JSON), by the hash of its endpoint. Push keys share the hash tag
    /// <c>{push}</c>, so their scripts run on one slot. Expires <c>Push:SubscriptionTimeToLive</c> after the
    /// browser last sent it; removed on unsubscribe and when the push service answers 404 or 410.
    /// </summary>
    public RedisKey PushSubscription(string id) => $"{_prefix}:{{push}}:sub:{id}";

    /// <summary>Sorted set: subscription ids of a topic by their expiry (unix ms); expired ones are pruned on every write.</summary>
    public RedisKey PushTopic(string topic) => $"{_prefix}:{{push}}:topic:{topic}";

    /// <summary>List: alert events waiting to be pushed (JSON); an entry leaves once its recipients are all taken.</summary>
    public RedisKey PushAlerts => $"{_prefix}:{{push}}:alerts";

    /// <summary>Marks an alert event as queued, so only one node queues it; expires after a day.</summary>
    public RedisKey PushQueued(string eventId) => $"{_prefix}:{{push}}:queued:{eventId}";

    /// <summary>Sorted set: the subscriptions an alert event still goes to, copied when it was queued; each is
    /// popped by exactly one node. Removed when empty; expires after a day.</summary>
    public RedisKey PushRecipients(string eventId) => $"{_prefix}:{{push}}:recipients:{eventId}";

    /// <summary>
    /// WebSub pings waiting, by feed path and due time (unix ms); one member per feed, so changes within the
    /// coalescing window make one ping. Bounded by the number of feeds changed, drained by the worker.
    /// </summary>
    public RedisKey WebSubDue => $"{_prefix}:{{websub}}:due";

    /// <summary>WebSub pings a node took, by feed path and lease expiry; an expired one goes back to due.</summary>
    public RedisKey WebSubLeased => $"{_prefix}:{{websub}}:leased";

    /// <summary>Set while the WebSub hub asked every node to wait (429, or 503 with Retry-After); expires when it said.</summary>
    public RedisKey WebSubHubWait => $"{_prefix}:{{websub}}:hub-wait";

    /// <summary>Held (seconds at most) by the one node taking due WebSub pings.</summary>
    public RedisKey WebSubTaking => $"{_prefix}:{{websub}}:taking";

    /// <summary>The stored answer of an editor request, per caller and <c>Idempotency-Key</c>.</summary>
    public RedisKey Idempotency(string caller, string key) => $"{_prefix}:idempotency:{caller}:{key}";
}

/// <summary>The keys of one topic, all under its hash tag. What bounds each one is said beside it.</summary>
internal sealed class TopicKeys
{
    private readonly string _tag;

    public TopicKeys(string tag)
    {
        _tag = tag;
        Meta = tag + "meta";
        History = tag + "history";
        State = tag + "state";
        Items = tag + "items";
        Order = tag + "order";
        Expiry = tag + "expiry";
        Pins = tag + "pins";
        Removed = tag + "removed";
        All = [Meta, History, State, Items, Order, Expiry, Pins, Removed];
    }

    /// <summary>Hash: <c>seq</c>, <c>epoch</c>. One per topic published to; an unpublished article's expires with its history.</summary>
    public RedisKey Meta { get; }

    /// <summary>List of envelopes, newest first: capped at <c>Bus:HistoryLength</c>, expires after <c>Bus:HistoryTimeToLive</c>.</summary>
    public RedisKey History { get; }

    /// <summary>String: the topic's single state (live status, article); removed when it ends.</summary>
    public RedisKey State { get; }

    /// <summary>Hash: item id to JSON. Removed with the item; capped by a ceiling that refuses, or by a trim (newsroom).</summary>
    public RedisKey Items { get; }

    /// <summary>Sorted set: item id by snapshot and paging order; follows <see cref="Items"/>.</summary>
    public RedisKey Order { get; }

    /// <summary>Sorted set: item id by expiry (unix ms); follows <see cref="Items"/>.</summary>
    public RedisKey Expiry { get; }

    /// <summary>Sorted set: pinned item ids by their order score; follows <see cref="Items"/>.</summary>
    public RedisKey Pins { get; }

    /// <summary>Sorted set: ids of removed entries by their last order score, so a paging cursor naming one
    /// still has a place; removed with the article.</summary>
    public RedisKey Removed { get; }

    /// <summary>The keys above in the scripts' order. Shared by every caller: never written to.</summary>
    public RedisKey[] All { get; }

    /// <summary>String <c>epoch:seq</c>: where an item that copies another topic was last copied from
    /// (<see cref="SnapshotChange.CopiedFrom"/>); expires with the history.</summary>
    public RedisKey CopiedFrom(string itemId) => _tag + "copied:" + itemId;
}
