using LiveNews.Server.Social.Adapters;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.RateLimiting;
using Polly.Timeout;

namespace LiveNews.Server.Social;

/// <summary>
/// Works due share jobs on every node; the store's lease makes each job one node's at a time. A job that
/// cannot finish now (rate limit, open breaker, outage) is handed back with its due time instead of
/// waiting in-process, so a restart or a second node picks it up.
/// </summary>
internal sealed class ShareWorker(
    ShareStore store,
    ShareService shares,
    SharePipelines pipelines,
    IEnumerable<IShareAdapter> adapters,
    IOptions<SocialOptions> options,
    TimeProvider time,
    ILogger<ShareWorker> logger) : BackgroundService
{
    private const int JobsPerPoll = 8;
    private readonly Dictionary<string, IShareAdapter> _adapters = adapters.ToDictionary(a => a.Network, StringComparer.Ordinal);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Value.Accounts.Count == 0)
        {
            return;
        }

        SocialLog.AccountsConfigured(logger, string.Join(", ", options.Value.Accounts.Select(a => $"{a.Name} ({a.Network})")));
        using var timer = new PeriodicTimer(options.Value.PollInterval, time);
        try
        {
            do
            {
                try
                {
                    await WorkDueJobsAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    SocialLog.WorkerFailed(logger, ex);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    internal async Task WorkDueJobsAsync(CancellationToken cancellationToken)
    {
        var taken = await store.TakeDueAsync(time.GetUtcNow(), options.Value.LeaseDuration, JobsPerPoll);
        await Task.WhenAll(taken.Select(t => WorkAsync(t.JobId, t.Token, cancellationToken)));
    }

    private async Task WorkAsync(string jobId, string token, CancellationToken cancellationToken)
    {
        var job = await store.GetAsync(jobId);
        if (job is null)
        {
            return;
        }

        if (!ShareStates.IsActive(job.State) || job.State == ShareStates.Posted)
        {
            await store.SaveAsync(job, token, nextDue: null, release: true);
            return;
        }

        var account = options.Value.Accounts.FirstOrDefault(a => a.Name == job.Account);
        var article = await shares.PublishedArticleAsync(job.ArticleId);
        if (account is null || article is null || !_adapters.TryGetValue(job.Network, out var adapter))
        {
            await FinishAsync(job with { State = ShareStates.Dead, Reason = account is null ? "the account is no longer configured" : "the article is no longer published" }, token);
            return;
        }

        var posting = job with { State = ShareStates.Posting, Attempts = job.Attempts + 1, UpdatedAt = time.GetUtcNow(), NextAttemptAt = null };
        if (!await store.SaveAsync(posting, token, time.GetUtcNow() + options.Value.LeaseDuration, release: false))
        {
            SocialLog.LeaseLost(logger, job.Id);
            return;
        }

        await shares.ReportAsync(posting);
        var request = new ShareRequest(posting, article, account, ShareLinks.Tagged(article.Url, options.Value.UtmParameters, account.Network));
        var outcome = await PostAsync(adapter, request, cancellationToken);
        await FinishAsync(Apply(posting, outcome, adapter, account), token);
    }

    private async Task<PostOutcome> PostAsync(IShareAdapter adapter, ShareRequest request, CancellationToken cancellationToken)
    {
        var checkpoint = request.Job.Checkpoint;
        try
        {
            return await pipelines.For(request.Account.Name).ExecuteAsync(
                async token =>
                {
                    var outcome = await adapter.PostAsync(request with { Job = request.Job with { Checkpoint = checkpoint } }, token);
                    checkpoint = outcome.Checkpoint ?? checkpoint;
                    return outcome;
                },
                cancellationToken);
        }
        catch (BrokenCircuitException ex)
        {
            return PostOutcome.Transient("the account's circuit breaker is open", ex.RetryAfter) with { Checkpoint = checkpoint };
        }
        catch (RateLimiterRejectedException ex)
        {
            return PostOutcome.RateLimited("this service's own rate limit for the account", ex.RetryAfter ?? TimeSpan.FromSeconds(10)) with { Checkpoint = checkpoint };
        }
        catch (TimeoutRejectedException ex)
        {
            return PostOutcome.Unknown($"no answer within {ex.Timeout.TotalSeconds:0.#} s") with { Checkpoint = checkpoint };
        }
    }

    private ShareJob Apply(ShareJob job, PostOutcome outcome, IShareAdapter adapter, SocialAccountOptions account)
    {
        var now = time.GetUtcNow();
        job = job with { UpdatedAt = now, Checkpoint = outcome.Checkpoint ?? job.Checkpoint };
        switch (outcome.Kind)
        {
            case OutcomeKind.Posted:
            case OutcomeKind.AlreadyPosted:
                return job with { State = ShareStates.Posted, RemoteId = outcome.RemoteId ?? job.RemoteId, RemoteUrl = outcome.RemoteUrl ?? job.RemoteUrl, Reason = outcome.Kind == OutcomeKind.AlreadyPosted ? outcome.Reason : null };
            case OutcomeKind.Auth:
            case OutcomeKind.Rejected:
                return job with { State = ShareStates.Dead, Reason = outcome.Reason };
            case OutcomeKind.Unknown when !adapter.RetryAfterUnknownIsSafe:
                return job with { State = ShareStates.Unconfirmed, Reason = $"{outcome.Reason}; the post may exist: check {account.Network} and retry only if it does not" };
            default:
                if (job.Attempts >= options.Value.MaxAttempts)
                {
                    return job with { State = ShareStates.Dead, Reason = $"gave up after {job.Attempts} attempts: {outcome.Reason}" };
                }

                var backoff = TimeSpan.FromTicks(Math.Min(TimeSpan.FromHours(1).Ticks, account.Resilience.BaseDelay.Ticks * (1L << Math.Min(job.Attempts, 20))));
                var wait = outcome.RetryAfter is { } retryAfter && retryAfter > backoff ? retryAfter : backoff;
                return job with { State = ShareStates.Failed, Reason = outcome.Reason, NextAttemptAt = now + wait };
        }
    }

    private async Task FinishAsync(ShareJob job, string token)
    {
        var nextDue = job.State == ShareStates.Failed ? job.NextAttemptAt : null;
        if (!await store.SaveAsync(job, token, nextDue, release: true))
        {
            SocialLog.LeaseLost(logger, job.Id);
            return;
        }

        await shares.ReportAsync(job);
    }
}
