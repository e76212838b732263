using System.Security.Cryptography;
using System.Text;
using LiveNews.Server.Bus;
using LiveNews.Server.Store;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LiveNews.Server.Push;

/// <summary>A browser's push subscription as stored: where to send, the keys to encrypt for, what it wants.</summary>
internal sealed record StoredPushSubscription(string Endpoint, string P256dh, string Auth, string[] Topics, DateTimeOffset SubscribedAt);

/// <summary>
/// Push subscriptions in Redis: one key per subscription (by the hash of its endpoint) that expires unless
/// the browser sends it again, and per topic a sorted set of ids by expiry, pruned on every write and
/// capped by <c>Push:MaxSubscriptionsPerTopic</c> (a new one beyond it is refused).
/// </summary>
internal sealed class PushSubscriptions(RedisStore store, RedisNames names, IOptions<PushOptions> options, TimeProvider time)
{
    /// <summary>Topics whose events are pushed: breaking alerts.</summary>
    public static readonly string[] Topics = [Topic.Breaking.Name];

    // KEYS: 1 the subscription, then each push topic's set (in the order of Topics). ARGV: 1 id, 2 JSON,
    // 3 TTL ms, 4 expiry (unix ms), 5 now (unix ms), 6 most per topic, then '1'/'0' per topic: wanted.
    // Returns 1 when stored, 0 when a wanted topic is full (nothing changed).
    private const string Save = """
        for k = 2, #KEYS do
          redis.call('ZREMRANGEBYSCORE', KEYS[k], '-inf', ARGV[5])
          if ARGV[5 + k] == '1' and not redis.call('ZSCORE', KEYS[k], ARGV[1])
            and redis.call('ZCARD', KEYS[k]) >= tonumber(ARGV[6]) then
            return 0
          end
        end
        redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
        for k = 2, #KEYS do
          if ARGV[5 + k] == '1' then redis.call('ZADD', KEYS[k], ARGV[4], ARGV[1]) else redis.call('ZREM', KEYS[k], ARGV[1]) end
        end
        return 1
        """;

    // KEYS: 1 the subscription, then each push topic's set. ARGV: 1 id.
    private const string Delete = """
        redis.call('DEL', KEYS[1])
        for k = 2, #KEYS do redis.call('ZREM', KEYS[k], ARGV[1]) end
        return 1
        """;

    public static string IdOf(string endpoint) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(endpoint)));

    /// <summary>Stores or refreshes the subscription; false when a topic it wants is full.</summary>
    public async Task<bool> SaveAsync(StoredPushSubscription subscription)
    {
        var id = IdOf(subscription.Endpoint);
        var ttl = options.Value.SubscriptionTimeToLive;
        var now = time.GetUtcNow();
        List<RedisValue> args =
        [
            id,
            LiveNewsJson.Serialize(subscription),
            (long)ttl.TotalMilliseconds,
            (now + ttl).ToUnixTimeMilliseconds(),
            now.ToUnixTimeMilliseconds(),
            options.Value.MaxSubscriptionsPerTopic,
            .. Topics.Select(topic => (RedisValue)(subscription.Topics.Contains(topic) ? "1" : "0")),
        ];
        var stored = await (await store.GetDatabaseAsync()).ScriptEvaluateAsync(Save, Keys(id), [.. args]);
        return (long)stored == 1;
    }

    public async Task RemoveAsync(string id) =>
        await (await store.GetDatabaseAsync()).ScriptEvaluateAsync(Delete, Keys(id), [id]);

    /// <summary>The subscriptions of these ids; null where one expired or was removed.</summary>
    public async Task<StoredPushSubscription?[]> GetAsync(IReadOnlyList<string> ids)
    {
        var values = await (await store.GetDatabaseAsync()).StringGetAsync([.. ids.Select(names.PushSubscription)]);
        return [.. values.Select(value => value.IsNullOrEmpty ? null : LiveNewsJson.Deserialize<StoredPushSubscription>(value!))];
    }

    private RedisKey[] Keys(string id) => [names.PushSubscription(id), .. Topics.Select(names.PushTopic)];
}
