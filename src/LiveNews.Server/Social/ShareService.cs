using LiveNews.Server.Bus;
using LiveNews.Server.Editors;
using LiveNews.Server.Newsroom;
using LiveNews.Server.Operations;
using LiveNews.Server.Social.Adapters;
using Microsoft.Extensions.Options;

namespace LiveNews.Server.Social;

/// <summary>What editors see of a job (the keys that make retries safe stay inside).</summary>
public sealed record ShareJobView(
    string Id, string ArticleId, string Account, string Network, string State, int Attempts,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, DateTimeOffset? ScheduledAt, DateTimeOffset? NextAttemptAt, string? Reason, string? RemoteId, string? RemoteUrl)
{
    internal static ShareJobView Of(ShareJob job) => new(job.Id, job.ArticleId, job.Account, job.Network, job.State, job.Attempts,
        job.CreatedAt, job.UpdatedAt, job.ScheduledAt, job.NextAttemptAt, job.Reason, job.RemoteId, job.RemoteUrl);
}

/// <summary>One account's preview: the exact text its network would get, counted by that network's rules.</summary>
public sealed record SharePreview(string Account, string Network, string Text, int Length, int? Limit, bool Ok, IReadOnlyList<string> Problems);

/// <summary>What a share request came to: the jobs, or the accounts where the article may already be posted.</summary>
internal sealed record ShareResult(IReadOnlyList<ShareJob> Jobs, IReadOnlyList<ShareJob> Conflicts);

/// <summary>Creates, lists, retries, cancels and previews share jobs, and reports every state change on the <c>newsroom</c> topic.</summary>
internal sealed class ShareService(
    ShareStore store,
    EventBus bus,
    ArticleReader articles,
    IEnumerable<IShareAdapter> adapters,
    IOptions<SocialOptions> options,
    TimeProvider time,
    LiveNewsMetrics metrics,
    ILogger<ShareService> logger)
{
    private readonly Dictionary<string, IShareAdapter> _adapters = adapters.ToDictionary(a => a.Network, StringComparer.Ordinal);

    public IReadOnlyList<SocialAccountOptions> Accounts => options.Value.Accounts;

    public Task<Article?> PublishedArticleAsync(string articleId) => articles.GetPublishedAsync(articleId);

    /// <summary>
    /// One job per account. An account that already has a waiting job for this article gets that job back, so
    /// sharing twice never posts twice; one where the article is (or may be) posted already is a conflict
    /// unless <paramref name="force"/>. With <paramref name="at"/> in the future, the jobs wait <c>scheduled</c>.
    /// </summary>
    public async Task<ShareResult> ShareAsync(string articleId, IReadOnlyList<SocialAccountOptions> accounts, IReadOnlyDictionary<string, string> texts, DateTimeOffset? at, bool force, EventIds ids)
    {
        var existing = await store.ForArticleAsync(articleId);
        var now = time.GetUtcNow();
        var jobIds = accounts.ToDictionary(a => a.Name, _ => ids.NextResourceId("s"), StringComparer.Ordinal);

        // A replayed request (same Idempotency-Key, so the same job ids) gets its own jobs back, never a conflict.
        var conflicts = force ? [] : existing.Where(j => ShareStates.MayBePosted(j.State) && jobIds.TryGetValue(j.Account, out var id) && id != j.Id).ToList();
        if (conflicts.Count > 0)
        {
            return new ShareResult([], conflicts);
        }

        var scheduled = at is { } when && when > now ? when.ToUniversalTime() : (DateTimeOffset?)null;
        var jobs = new List<ShareJob>();
        foreach (var account in accounts)
        {
            var jobId = jobIds[account.Name];
            var current = existing.FirstOrDefault(j => j.Id == jobId)
                ?? (force ? null : existing.FirstOrDefault(j => j.Account == account.Name && ShareStates.IsWaiting(j.State)));
            if (current is not null)
            {
                jobs.Add(current);
                continue;
            }

            // A request racing this one for the account may have made its job since `existing` was read: that
            // job is the account's, not a second one (the store decides, atomically).
            var job = await store.CreateAsync(new ShareJob
            {
                Id = jobId,
                ArticleId = articleId,
                Account = account.Name,
                Network = account.Network,
                State = scheduled is null ? ShareStates.Queued : ShareStates.Scheduled,
                Text = texts.GetValueOrDefault(account.Name),
                CreatedAt = now,
                UpdatedAt = now,
                ScheduledAt = scheduled,
                IdempotencyKey = $"livenews-{jobId}",
            }, force);
            if (job.Id == jobId)
            {
                await ReportAsync(job);
            }

            jobs.Add(job);
        }

        return new ShareResult(jobs, []);
    }

    public Task<IReadOnlyList<ShareJob>> ForArticleAsync(string articleId) => store.ForArticleAsync(articleId);

    public Task<ShareJob?> GetAsync(string jobId) => store.GetAsync(jobId);

    /// <summary>
    /// Queues a failed, dead or unconfirmed job again. An unconfirmed job only when the editor confirms the post
    /// is not on the network (<paramref name="confirmNotPosted"/>). Null when its state does not allow it.
    /// </summary>
    public async Task<ShareJob?> RetryAsync(ShareJob job, bool confirmNotPosted)
    {
        if (!ShareStates.IsRetryable(job.State) || (job.State == ShareStates.Unconfirmed && !confirmNotPosted))
        {
            return null;
        }

        // An editor's retry gets Social:MaxAttempts of its own: counted on from the ones used up, a job that
        // died after an outage died again at its first 429 or 5xx.
        var queued = job with
        {
            State = ShareStates.Queued,
            Attempts = 0,
            NextAttemptAt = null,
            Reason = null,
            UpdatedAt = time.GetUtcNow(),
            InDoubtSince = confirmNotPosted ? null : job.InDoubtSince,
        };
        if (!await store.RequeueAsync(queued, job.State))
        {
            return null;
        }

        await ReportAsync(queued);
        return queued;
    }

    /// <summary>Cancels a job still <c>scheduled</c>: it is removed. Null when it was not scheduled (any more).</summary>
    public async Task<ShareJob?> CancelAsync(ShareJob job)
    {
        var removed = await store.RemoveAsync(job, ShareStates.Scheduled);
        if (removed is null)
        {
            return null;
        }

        SocialLog.JobChanged(logger, removed.Id, removed.ArticleId, removed.Account, removed.Network, "cancelled", removed.Attempts, null);
        var json = LiveNewsJson.Serialize(ShareJobView.Of(removed));
        var result = await bus.PublishAsync(new PublishRequest(Topic.Newsroom, "share.cancelled", json, SnapshotChange.Remove(removed.Id, json), Guid.NewGuid().ToString("N")));
        if (result.Status != PublishStatus.Published)
        {
            SocialLog.CancelNotPublished(logger, removed.Id, result.Status.ToString());
        }

        return removed;
    }

    /// <summary>The exact text each account's network would get for this article, counted by its rules.</summary>
    public async Task<IReadOnlyList<SharePreview>> PreviewAsync(Article article, IReadOnlyList<SocialAccountOptions> accounts, IReadOnlyDictionary<string, string> texts, CancellationToken cancellationToken)
    {
        var previews = new List<SharePreview>();
        foreach (var account in accounts)
        {
            var now = time.GetUtcNow();
            var job = new ShareJob
            {
                Id = "preview",
                ArticleId = article.Id,
                Account = account.Name,
                Network = account.Network,
                State = ShareStates.Queued,
                Text = texts.GetValueOrDefault(account.Name),
                CreatedAt = now,
                UpdatedAt = now,
                IdempotencyKey = "preview",
            };
            var request = new ShareRequest(job, article, account, ShareLinks.Tagged(article.Url, options.Value.UtmParameters, account.Network));
            var composed = await _adapters[account.Network].ComposeAsync(request, cancellationToken);
            var problems = composed.Problems.ToList();
            if (composed.Limit is { } limit && composed.Length > limit)
            {
                problems.Add($"{composed.Length} is over {account.Network}'s limit of {limit}.");
            }

            previews.Add(new SharePreview(account.Name, account.Network, composed.Text, composed.Length, composed.Limit, problems.Count == 0, problems));
        }

        return previews;
    }

    /// <summary>Pushes the job's state on <c>newsroom</c> and logs it (never with a credential).</summary>
    public async Task ReportAsync(ShareJob job)
    {
        SocialLog.JobChanged(logger, job.Id, job.ArticleId, job.Account, job.Network, job.State, job.Attempts, job.Reason);
        metrics.ShareChanged(job.Account, job.State);
        var json = LiveNewsJson.Serialize(ShareJobView.Of(job));
        await bus.PublishAsync(new PublishRequest(Topic.Newsroom, $"share.{job.State}", json,
            SnapshotChange.Put(job.Id, json, job.CreatedAt.ToUnixTimeMilliseconds()), Guid.NewGuid().ToString("N")));
    }
}
