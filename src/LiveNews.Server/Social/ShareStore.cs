using LiveNews.Server.Bus;
using LiveNews.Server.Store;
using StackExchange.Redis;

namespace LiveNews.Server.Social;

/// <summary>
/// Share jobs in Redis: one JSON document per job, a per-article index, and a due queue whose score is
/// the time a job may next be worked. Taking a job moves its score to the end of a lease, so exactly one
/// node works it; a node that dies leaves the job to be taken again when the lease runs out. Every write
/// of a taken job is fenced by the lease token, so a node that lost its lease cannot overwrite the job.
/// </summary>
/// <remarks>
/// Bounds: a job document and its article index expire <see cref="Retention"/> after their last write
/// (longer than any schedule or retry wait, so a job never expires while it is due); a lease expires by
/// itself; the due queue loses a job's entry when the job ends, is cancelled, or is found gone.
/// </remarks>
internal sealed class ShareStore(RedisStore store, RedisNames names)
{
    /// <summary>How long a job is kept after its last change (also how long it blocks sharing the article again).</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromDays(90);

    // KEYS: due queue. ARGV: now ms, lease ms, token, max jobs, lease key prefix.
    // A job whose lease is still held elsewhere is not taken; its score moves to the lease's end.
    private const string TakeScript = """
        local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[4]))
        local taken = {}
        for i = 1, #ids do
          local lease = ARGV[5] .. ids[i]
          local left = redis.call('PTTL', lease)
          if left > 0 then
            redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + left, ids[i])
          else
            redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), ids[i])
            redis.call('SET', lease, ARGV[3], 'PX', ARGV[2])
            taken[#taken + 1] = ids[i]
          end
        end
        return taken
        """;

    // KEYS: job, due queue, lease. ARGV: job JSON, job id, token, next due ms (-1: leave the queue), release ('1'), retention ms.
    private const string SaveScript = """
        if redis.call('GET', KEYS[3]) ~= ARGV[3] then return 0 end
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[6])
        if tonumber(ARGV[4]) < 0 then
          redis.call('ZREM', KEYS[2], ARGV[2])
        else
          redis.call('ZADD', KEYS[2], ARGV[4], ARGV[2])
        end
        if ARGV[5] == '1' then redis.call('DEL', KEYS[3]) end
        return 1
        """;

    // KEYS: lease, due queue. ARGV: token, lease ms, due ms, job id.
    private const string RenewScript = """
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
        redis.call('PEXPIRE', KEYS[1], ARGV[2])
        redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
        return 1
        """;

    // KEYS: job, due queue, article index, lease. ARGV: job JSON, job id, due ms, expected state, retention ms.
    private const string RequeueScript = """
        local current = redis.call('GET', KEYS[1])
        if not current or cjson.decode(current)['state'] ~= ARGV[4] then return 0 end
        if redis.call('EXISTS', KEYS[4]) == 1 then return 0 end
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[5])
        redis.call('SADD', KEYS[3], ARGV[2])
        redis.call('PEXPIRE', KEYS[3], ARGV[5])
        redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
        return 1
        """;

    // KEYS: job, due queue, article index. ARGV: job JSON, job id, due ms, retention ms, job key prefix, account,
    // force ('1'), the dead state's name. Returns the job already stored under this id, or (unless forced) another job of the article
    // for the same account that is not dead: two share requests racing for one account make one job, not two.
    private const string CreateScript = """
        local current = redis.call('GET', KEYS[1])
        if current then return current end
        if ARGV[7] ~= '1' then
          local ids = redis.call('SMEMBERS', KEYS[3])
          for i = 1, #ids do
            local other = redis.call('GET', ARGV[5] .. ids[i])
            if other then
              local job = cjson.decode(other)
              if job['account'] == ARGV[6] and job['state'] ~= ARGV[8] then return other end
            end
          end
        end
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[4])
        redis.call('SADD', KEYS[3], ARGV[2])
        redis.call('PEXPIRE', KEYS[3], ARGV[4])
        redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
        return 1
        """;

    // KEYS: job, due queue, article index, lease. ARGV: job id, state the job must be in. Returns the removed job.
    private const string RemoveScript = """
        if redis.call('EXISTS', KEYS[4]) == 1 then return false end
        local current = redis.call('GET', KEYS[1])
        if not current or cjson.decode(current)['state'] ~= ARGV[2] then return false end
        redis.call('DEL', KEYS[1])
        redis.call('ZREM', KEYS[2], ARGV[1])
        redis.call('SREM', KEYS[3], ARGV[1])
        return current
        """;

    private static readonly long RetentionMs = (long)Retention.TotalMilliseconds;

    // Awaited, not the connection at hand: a share request or the worker's first take may come before the node's
    // first connect has finished.
    private Task<IDatabase> DbAsync() => store.GetDatabaseAsync();

    public static string Serialize(ShareJob job) => LiveNewsJson.Serialize(job);

    public static ShareJob Deserialize(string json) => LiveNewsJson.Deserialize<ShareJob>(json)!;

    /// <summary>
    /// Stores a new job, due at its schedule or now, and returns the job as stored: an existing one with this id
    /// wins, and so does (unless <paramref name="force"/>) a job of the article for the same account that is not dead.
    /// </summary>
    public async Task<ShareJob> CreateAsync(ShareJob job, bool force)
    {
        var due = job.ScheduledAt ?? job.CreatedAt;
        var result = await (await DbAsync()).ScriptEvaluateAsync(CreateScript, [JobKey(job.Id), DueKey, ArticleKey(job.ArticleId)],
            [Serialize(job), job.Id, due.ToUnixTimeMilliseconds(), RetentionMs, names.ShareJobPrefix, job.Account, force ? "1" : "0", ShareStates.Dead]);
        return result.Resp2Type == ResultType.BulkString ? Deserialize((string)result!) : job;
    }

    /// <summary>Puts a job back in the queue when it is (still) in <paramref name="expectedState"/> and nobody works it.</summary>
    public async Task<bool> RequeueAsync(ShareJob job, string expectedState) =>
        (int)await (await DbAsync()).ScriptEvaluateAsync(RequeueScript, [JobKey(job.Id), DueKey, ArticleKey(job.ArticleId), LeaseKey(job.Id)],
            [Serialize(job), job.Id, job.UpdatedAt.ToUnixTimeMilliseconds(), expectedState, RetentionMs]) == 1;

    /// <summary>Removes a job that is (still) in <paramref name="expectedState"/> and not being worked. Null when it was not.</summary>
    public async Task<ShareJob?> RemoveAsync(ShareJob job, string expectedState)
    {
        var result = await (await DbAsync()).ScriptEvaluateAsync(RemoveScript, [JobKey(job.Id), DueKey, ArticleKey(job.ArticleId), LeaseKey(job.Id)], [job.Id, expectedState]);
        return result.IsNull ? null : Deserialize((string)result!);
    }

    public async Task<ShareJob?> GetAsync(string jobId)
    {
        var json = await (await DbAsync()).StringGetAsync(JobKey(jobId));
        return json.IsNull ? null : Deserialize(json!);
    }

    public async Task<IReadOnlyList<ShareJob>> ForArticleAsync(string articleId)
    {
        var ids = await (await DbAsync()).SetMembersAsync(ArticleKey(articleId));
        if (ids.Length == 0)
        {
            return [];
        }

        var values = await (await DbAsync()).StringGetAsync([.. ids.Select(id => (RedisKey)JobKey(id!))]);
        return [.. values.Where(v => !v.IsNull).Select(v => Deserialize(v!)).OrderBy(j => j.CreatedAt).ThenBy(j => j.Account, StringComparer.Ordinal)];
    }

    /// <summary>Takes up to <paramref name="max"/> due jobs for this node, each under a fresh lease token.</summary>
    public async Task<IReadOnlyList<(string JobId, string Token)>> TakeDueAsync(DateTimeOffset now, TimeSpan lease, int max)
    {
        var token = Guid.NewGuid().ToString("N");
        var ids = (RedisValue[])(await (await DbAsync()).ScriptEvaluateAsync(TakeScript, [DueKey],
            [now.ToUnixTimeMilliseconds(), (long)lease.TotalMilliseconds, token, max, names.ShareLeasePrefix]))!;
        return [.. ids.Select(id => ((string)id!, token))];
    }

    /// <summary>Extends a lease this node holds (and the job's place in the queue). False: the lease was lost.</summary>
    public async Task<bool> RenewAsync(string jobId, string token, DateTimeOffset now, TimeSpan lease) =>
        (int)await (await DbAsync()).ScriptEvaluateAsync(RenewScript, [LeaseKey(jobId), DueKey],
            [token, (long)lease.TotalMilliseconds, (now + lease).ToUnixTimeMilliseconds(), jobId]) == 1;

    /// <summary>Saves a job this node holds. False: the lease was lost, another node owns the job now.</summary>
    public async Task<bool> SaveAsync(ShareJob job, string token, DateTimeOffset? nextDue, bool release) =>
        (int)await (await DbAsync()).ScriptEvaluateAsync(SaveScript, [JobKey(job.Id), DueKey, LeaseKey(job.Id)],
            [Serialize(job), job.Id, token, nextDue?.ToUnixTimeMilliseconds() ?? -1, release ? "1" : "0", RetentionMs]) == 1;

    /// <summary>Drops the queue entry of a job whose document is gone (expired or removed).</summary>
    public async Task ForgetAsync(string jobId) => await (await DbAsync()).SortedSetRemoveAsync(DueKey, jobId);

    private RedisKey DueKey => names.SharesDue;

    private RedisKey JobKey(string id) => names.ShareJob(id);

    private RedisKey LeaseKey(string id) => names.ShareLease(id);

    private RedisKey ArticleKey(string articleId) => names.SharesOfArticle(articleId);
}
