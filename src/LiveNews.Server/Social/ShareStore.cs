using LiveNews.Server.Editors;
using System.Text.Json;
using LiveNews.Server.Bus;
using LiveNews.Server.Newsroom;
using LiveNews.Server.Store;
using StackExchange.Redis;

namespace LiveNews.Server.Social;

/// <summary>
/// Share jobs in Redis: one JSON document per job, a per-article index, and a due queue whose score is
/// the time a job may next be worked. Taking a job moves its score to the end of a lease, so exactly one
/// node works it; a node that dies leaves the job to be taken again when the lease runs out. Every write
/// of a taken job is fenced by the lease token, so a node that lost its lease cannot overwrite the job.
/// </summary>
internal sealed class ShareStore(RedisStore store, RedisNames names)
{
    // KEYS: due queue. ARGV: now ms, lease ms, token, max jobs, lease key prefix.
    private const string TakeScript = """
        local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[4]))
        for i = 1, #ids do
          redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), ids[i])
          redis.call('SET', ARGV[5] .. ids[i], ARGV[3], 'PX', ARGV[2])
        end
        return ids
        """;

    // KEYS: job, due queue, lease. ARGV: job JSON, job id, token, next due ms (-1: leave the queue), release ('1').
    private const string SaveScript = """
        if redis.call('GET', KEYS[3]) ~= ARGV[3] then return 0 end
        redis.call('SET', KEYS[1], ARGV[1])
        if tonumber(ARGV[4]) < 0 then
          redis.call('ZREM', KEYS[2], ARGV[2])
        else
          redis.call('ZADD', KEYS[2], ARGV[4], ARGV[2])
        end
        if ARGV[5] == '1' then redis.call('DEL', KEYS[3]) end
        return 1
        """;

    // KEYS: job, due queue, article index, lease. ARGV: job JSON, job id, due ms, expected state ('' : must not exist).
    private const string PutScript = """
        local current = redis.call('GET', KEYS[1])
        if ARGV[4] == '' then
          if current then return current end
        else
          if not current or cjson.decode(current)['state'] ~= ARGV[4] then return 0 end
          if redis.call('EXISTS', KEYS[4]) == 1 then return 0 end
        end
        redis.call('SET', KEYS[1], ARGV[1])
        redis.call('SADD', KEYS[3], ARGV[2])
        redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
        return 1
        """;

    private IDatabase Db => store.Database;

    public static string Serialize(ShareJob job) => LiveNewsJson.Serialize(job);

    public static ShareJob Deserialize(string json) => LiveNewsJson.Deserialize<ShareJob>(json)!;

    /// <summary>Stores a new job, due now. Returns the job as stored: an existing one with this id wins.</summary>
    public async Task<ShareJob> CreateAsync(ShareJob job)
    {
        var result = await Db.ScriptEvaluateAsync(PutScript, [JobKey(job.Id), DueKey, ArticleKey(job.ArticleId), LeaseKey(job.Id)],
            [Serialize(job), job.Id, job.CreatedAt.ToUnixTimeMilliseconds(), ""]);
        return result.Resp2Type == ResultType.BulkString ? Deserialize((string)result!) : job;
    }

    /// <summary>Puts a job back in the queue when it is (still) in <paramref name="expectedState"/> and nobody works it.</summary>
    public async Task<bool> RequeueAsync(ShareJob job, string expectedState) =>
        (int)await Db.ScriptEvaluateAsync(PutScript, [JobKey(job.Id), DueKey, ArticleKey(job.ArticleId), LeaseKey(job.Id)],
            [Serialize(job), job.Id, job.UpdatedAt.ToUnixTimeMilliseconds(), expectedState]) == 1;

    public async Task<ShareJob?> GetAsync(string jobId)
    {
        var json = await Db.StringGetAsync(JobKey(jobId));
        return json.IsNull ? null : Deserialize(json!);
    }

    public async Task<IReadOnlyList<ShareJob>> ForArticleAsync(string articleId)
    {
        var ids = await Db.SetMembersAsync(ArticleKey(articleId));
        if (ids.Length == 0)
        {
            return [];
        }

        var values = await Db.StringGetAsync([.. ids.Select(id => (RedisKey)JobKey(id!))]);
        return [.. values.Where(v => !v.IsNull).Select(v => Deserialize(v!)).OrderBy(j => j.CreatedAt).ThenBy(j => j.Account, StringComparer.Ordinal)];
    }

    /// <summary>Takes up to <paramref name="max"/> due jobs for this node, each under a fresh lease token.</summary>
    public async Task<IReadOnlyList<(string JobId, string Token)>> TakeDueAsync(DateTimeOffset now, TimeSpan lease, int max)
    {
        var token = Guid.NewGuid().ToString("N");
        var ids = (RedisValue[])(await Db.ScriptEvaluateAsync(TakeScript, [DueKey],
            [now.ToUnixTimeMilliseconds(), (long)lease.TotalMilliseconds, token, max, names.ShareLeasePrefix]))!;
        return [.. ids.Select(id => ((string)id!, token))];
    }

    /// <summary>Saves a job this node holds. False: the lease was lost, another node owns the job now.</summary>
    public async Task<bool> SaveAsync(ShareJob job, string token, DateTimeOffset? nextDue, bool release) =>
        (int)await Db.ScriptEvaluateAsync(SaveScript, [JobKey(job.Id), DueKey, LeaseKey(job.Id)],
            [Serialize(job), job.Id, token, nextDue?.ToUnixTimeMilliseconds() ?? -1, release ? "1" : "0"]) == 1;

    private RedisKey DueKey => names.SharesDue;

    private RedisKey JobKey(string id) => names.ShareJob(id);

    private RedisKey LeaseKey(string id) => names.ShareLease(id);

    private RedisKey ArticleKey(string articleId) => names.SharesOfArticle(articleId);
}
