using LiveNews.Server.Editors;
using System.Text.Json;
using LiveNews.Server.Bus;
using LiveNews.Server.Newsroom;
using LiveNews.Server.Operations;
using Microsoft.Extensions.Options;

namespace LiveNews.Server.Social;

/// <summary>What editors see of a job (the keys that make retries safe stay inside).</summary>
public sealed record ShareJobView(
    string Id, string ArticleId, string Account, string Network, string State, int Attempts,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, DateTimeOffset? NextAttemptAt, string? Reason, string? RemoteId, string? RemoteUrl)
{
    internal static ShareJobView Of(ShareJob job) => new(job.Id, job.ArticleId, job.Account, job.Network, job.State, job.Attempts,
        job.CreatedAt, job.UpdatedAt, job.NextAttemptAt, job.Reason, job.RemoteId, job.RemoteUrl);
}

/// <summary>Creates, lists and retries share jobs, and reports every state change on the <c>newsroom</c> topic.</summary>
internal sealed class ShareService(ShareStore store, EventBus bus, IOptions<SocialOptions> options, TimeProvider time, LiveNewsMetrics metrics, ILogger<ShareService> logger)
{
    public IReadOnlyList<SocialAccountOptions> Accounts => options.Value.Accounts;

    public async Task<Article?> PublishedArticleAsync(string articleId)
    {
        var json = await bus.GetStateAsync(Topic.Article(articleId));
        return json is null ? null : LiveNewsJson.Deserialize<Article>(json);
    }

    /// <summary>
    /// One job per account. An account that already has a live job for this article gets that job back:
    /// sharing twice never posts twice.
    /// </summary>
    public async Task<IReadOnlyList<ShareJob>> ShareAsync(string articleId, IReadOnlyList<SocialAccountOptions> accounts, IReadOnlyDictionary<string, string> texts, EventIds ids)
    {
        var existing = await store.ForArticleAsync(articleId);
        var now = time.GetUtcNow();
        var jobs = new List<ShareJob>();
        foreach (var account in accounts)
        {
            var jobId = ids.NextResourceId("s");
            var current = existing.FirstOrDefault(j => j.Account == account.Name && (ShareStates.IsActive(j.State) || j.Id == jobId));
            if (current is not null)
            {
                jobs.Add(current);
                continue;
            }

            var job = await store.CreateAsync(new ShareJob
            {
                Id = jobId,
                ArticleId = articleId,
                Account = account.Name,
                Network = account.Network,
                State = ShareStates.Queued,
                Text = texts.GetValueOrDefault(account.Name),
                CreatedAt = now,
                UpdatedAt = now,
                IdempotencyKey = $"livenews-{jobId}",
            });
            await ReportAsync(job);
            jobs.Add(job);
        }

        return jobs;
    }

    public Task<IReadOnlyList<ShareJob>> ForArticleAsync(string articleId) => store.ForArticleAsync(articleId);

    public Task<ShareJob?> GetAsync(string jobId) => store.GetAsync(jobId);

    /// <summary>Queues a failed, dead or unconfirmed job again. Null when its state does not allow it.</summary>
    public async Task<ShareJob?> RetryAsync(ShareJob job)
    {
        if (!ShareStates.IsRetryable(job.State))
        {
            return null;
        }

        var queued = job with { State = ShareStates.Queued, NextAttemptAt = null, Reason = null, UpdatedAt = time.GetUtcNow() };
        if (!await store.RequeueAsync(queued, job.State))
        {
            return null;
        }

        await ReportAsync(queued);
        return queued;
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
