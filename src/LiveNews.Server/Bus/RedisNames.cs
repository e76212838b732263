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

    /// <summary>The keys of a topic in the order the bus scripts expect them.</summary>
    public RedisKey[] TopicKeys(Topic topic)
    {
        var tag = $"{_prefix}:{{{topic.Name}}}:";
        return
        [
            tag + "meta",     // hash: seq, epoch
            tag + "history",  // list of envelopes, newest first
            tag + "state",    // string: the topic's single state (live status, article)
            tag + "items",    // hash: item id -> item JSON
            tag + "order",    // sorted set: item id by snapshot order
            tag + "expiry",   // sorted set: item id by expiry (unix ms)
        ];
    }

    /// <summary>Marks an event id as published, so a retried publish returns the first envelope.</summary>
    public RedisKey EventId(Topic topic, string eventId) => $"{_prefix}:{{{topic.Name}}}:event:{eventId}";

    /// <summary>
    /// Share jobs and their queue share the hash tag <c>{shares}</c>, so the queue scripts run on one slot.
    /// </summary>
    public RedisKey SharesDue => $"{_prefix}:{{shares}}:due";

    public RedisKey ShareJob(string jobId) => $"{_prefix}:{{shares}}:job:{jobId}";

    public string ShareLeasePrefix => $"{_prefix}:{{shares}}:lease:";

    public RedisKey ShareLease(string jobId) => ShareLeasePrefix + jobId;

    public RedisKey SharesOfArticle(string articleId) => $"{_prefix}:{{shares}}:article:{articleId}";

    /// <summary>A social account's health: last post, last error (a hash).</summary>
    public RedisKey ShareAccount(string account) => $"{_prefix}:{{shares}}:account:{account}";

    /// <summary>A social account's OAuth tokens, encrypted with Data Protection.</summary>
    public RedisKey ShareOAuthToken(string account) => $"{_prefix}:{{shares}}:oauth:{account}";

    /// <summary>Held by the one node refreshing an account's rotating OAuth token.</summary>
    public RedisKey ShareOAuthLock(string account) => $"{_prefix}:{{shares}}:oauth-lock:{account}";

    /// <summary>The stored answer of an editor request, per caller and <c>Idempotency-Key</c>.</summary>
    public RedisKey Idempotency(string caller, string key) => $"{_prefix}:idempotency:{caller}:{key}";
}
