using System.Text.Json;
using LiveNews.Server.Deploy;
using LiveNews.Server.Newsroom;
using LiveNews.Server.Social.Adapters;
using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;
using Polly.RateLimiting;
using Polly.Timeout;

namespace LiveNews.Server.Social;

/// <summary>
/// Works due share jobs on every node; the store's lease makes each job one node's at a time, and the lease
/// is renewed while a post is in flight. A job that cannot finish now (rate limit, open breaker, outage) is
/// handed back with its due time instead of waiting in-process, so a restart or a second node picks it up.
/// Nothing is re-sent blind: a job found mid-post (its node died) or whose last attempt got no answer is
/// first confirmed with the network, and becomes <c>unconfirmed</c> where the network cannot tell.
/// </summary>
internal sealed class ShareWorker(
    ShareStore store,
    ShareService shares,
    ArticleReader articles,
    SharePipelines pipelines,
    AccountHealth health,
    IEnumerable<IShareAdapter> adapters,
    IOptions<SocialOptions> options,
    TimeProvider time,
    Drain drain,
    ILogger<ShareWorker> logger) : BackgroundService
{
    private const int MaxJobsInFlight = 16;
    private readonly List<Task> _running = [];
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
        finally
        {
            // Let the jobs in flight see the cancellation and unwind (they stay leased, to be confirmed by the next node).
            await Task.WhenAll(_running);
        }
    }

    /// <summary>
    /// Takes as many due jobs as this node has room for and starts them without waiting: a slow network never
    /// holds back the jobs of another.
    /// </summary>
    internal async Task WorkDueJobsAsync(CancellationToken stoppingToken)
    {
        _running.RemoveAll(t => t.IsCompleted);
        var room = MaxJobsInFlight - _running.Count;
        if (room <= 0)
        {
            return;
        }

        // A draining node takes no new job; the posts it has in flight finish before it stops (Realtime:DrainTimeout).
        using var taking = drain.TryBegin();
        if (taking is null)
        {
            return;
        }

        var taken = await store.TakeDueAsync(time.GetUtcNow(), options.Value.LeaseDuration, room);
        _running.AddRange(taken.Select(t => GuardedAsync(t.JobId, t.Token, drain.Begin(), stoppingToken)));
    }

    private async Task GuardedAsync(string jobId, string token, Drain.Work inFlight, CancellationToken stoppingToken)
    {
        using var _ = inFlight;
        try
        {
            await WorkAsync(jobId, token, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            SocialLog.WorkerFailed(logger, ex);
        }
    }

    private async Task WorkAsync(string jobId, string token, CancellationToken stoppingToken)
    {
        var job = await store.GetAsync(jobId);
        if (job is null)
        {
            await store.ForgetAsync(jobId);
            return;
        }

        if (!ShareStates.IsWorkable(job.State))
        {
            await store.SaveAsync(job, token, nextDue: null, release: true);
            return;
        }

        var index = options.Value.Accounts.FindIndex(a => a.Name == job.Account);
        var account = index < 0 ? null : options.Value.Accounts[index];
        var article = await articles.GetPublishedAsync(job.ArticleId);
        if (account is null || article is null || !_adapters.TryGetValue(job.Network, out var adapter))
        {
            var reason = account is null ? "the account is no longer configured" : "the article is no longer published";
            await FinishAsync(job with { State = job.State == ShareStates.Posting ? ShareStates.Unconfirmed : ShareStates.Dead, Reason = reason, UpdatedAt = time.GetUtcNow() }, token);
            return;
        }

        await using var lease = new ShareLease(store, job.Id, token, options.Value.LeaseDuration, time, stoppingToken);
        var request = new ShareRequest(job, article, account, ShareLinks.Tagged(article.Url, options.Value.UtmParameters, account.Network))
        {
            Setting = $"Social:Accounts:{index}",
        };

        // Found mid-post: its node died (or was stopped) after sending, so the post may exist.
        var inDoubtSince = job.State == ShareStates.Posting ? job.InDoubtSince ?? job.UpdatedAt : job.InDoubtSince;
        if (inDoubtSince is { } since)
        {
            job = job with { InDoubtSince = since };
            if (SettledAt(adapter, account, since) is { } settled && settled > time.GetUtcNow())
            {
                // Its node died mid-post moments ago: the request may still run at the network, so wait as a lost answer does.
                await FinishAsync(job with { State = ShareStates.Failed, Reason = "an earlier attempt's outcome is unknown: sending again once it has surely ended", UpdatedAt = time.GetUtcNow(), NextAttemptAt = settled }, token);
                return;
            }

            var confirmed = await ConfirmAsync(adapter, request with { Job = job }, since, lease.Token, stoppingToken);
            if (confirmed.Kind == Confirmation.NotNow)
            {
                // An outage of the look-up is no answer: look again after a backoff, as a failed attempt waits. The
                // look-up counts as an attempt, so a network that stays unreadable ends with an editor (unconfirmed).
                var looked = job with { Attempts = job.Attempts + 1 };
                await FinishAsync(Apply(looked, PostOutcome.Transient($"an earlier attempt may have posted and {confirmed.Reason}: looking again later", confirmed.RetryAfter), adapter, account), token);
                return;
            }

            if (confirmed.Kind != Confirmation.SafeToSend)
            {
                var now = time.GetUtcNow();
                await FinishAsync(confirmed.Kind == Confirmation.Posted
                    ? job with { State = ShareStates.Posted, RemoteId = confirmed.RemoteId ?? job.RemoteId, RemoteUrl = confirmed.RemoteUrl ?? job.RemoteUrl, Reason = confirmed.Reason, UpdatedAt = now, NextAttemptAt = null }
                    : job with { State = ShareStates.Unconfirmed, Reason = $"an earlier attempt may have posted and {confirmed.Reason}: check {account.Network}, then retry with confirmNotPosted", UpdatedAt = now, NextAttemptAt = null }, token);
                return;
            }
        }

        var posting = job with { State = ShareStates.Posting, Attempts = job.Attempts + 1, UpdatedAt = time.GetUtcNow(), NextAttemptAt = null, Reason = null };
        var (outcome, sent) = await PostAsync(adapter, request with { Job = posting }, token, lease, stoppingToken);
        if (lease.Lost)
        {
            SocialLog.LeaseLost(logger, job.Id);
            return;
        }

        // Refused before anything was sent (this service's own rate limit, an open breaker): waiting is not an
        // attempt, or a burst of shares or a long outage would use up Social:MaxAttempts without a request.
        var finished = Apply(sent ? posting : posting with { Attempts = job.Attempts }, outcome, adapter, account);
        // Refused so again: newsroom was told of this wait already, only its due time moves (every ~10 s on
        // this service's own rate limit, for every share waiting on it).
        var stillWaiting = !sent && finished.State == job.State && finished.Reason == job.Reason;
        await FinishAsync(finished, token, authFailure: outcome.Kind == OutcomeKind.Auth, report: !stillWaiting);
    }

    private static async Task<ConfirmResult> ConfirmAsync(IShareAdapter adapter, ShareRequest request, DateTimeOffset since, CancellationToken run, CancellationToken stoppingToken)
    {
        try
        {
            return await adapter.ConfirmAsync(request, since, run);
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            return ConfirmResult.LookUpFailed($"{adapter.Network} did not answer the look-up in time");
        }
        catch (HttpRequestException ex)
        {
            return ConfirmResult.LookUpFailed($"the look-up on {adapter.Network} failed ({ex.HttpRequestError})");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // An answer the adapter could not read (a proxy's HTML page with 200): no answer either. Escaping, it
            // would leave the job mid-post, taken again at every lease's end without ever counting an attempt.
            return ConfirmResult.LookUpFailed($"the look-up on {adapter.Network} gave an answer that could not be read ({ex.GetType().Name})");
        }
    }

    /// <summary>The outcome of this run, and whether any request of it reached the adapter.</summary>
    private async Task<(PostOutcome Outcome, bool Sent)> PostAsync(IShareAdapter adapter, ShareRequest request, string token, ShareLease lease, CancellationToken stoppingToken)
    {
        var job = request.Job;
        PostOutcome? last = null;
        var inFlight = false;
        var announced = false;
        request = request with
        {
            SaveCheckpointAsync = async (checkpoint, cancellationToken) =>
            {
                job = job with { Checkpoint = checkpoint };
                await SaveOrLoseLeaseAsync();
            },
        };

        try
        {
            return (await pipelines.For(request.Account.Name).ExecuteAsync(
                async cancellationToken =>
                {
                    if (!announced)
                    {
                        // Saved (for a node that dies mid-post) and reported only as the first request goes out:
                        // a run refused before it (this service's own rate limit, an open breaker) is no post, and
                        // is reported as its wait alone (it used to say "posting" too, every ~10 s while it waited).
                        announced = true;
                        await SaveOrLoseLeaseAsync();
                        await shares.ReportAsync(job);
                    }

                    // A slow save or report may have used this try's time: then nothing goes out (and the
                    // timeout counts as a run that sent nothing).
                    cancellationToken.ThrowIfCancellationRequested();
                    inFlight = true;
                    var outcome = await PostOnceAsync(adapter, request with { Job = job }, cancellationToken);
                    inFlight = false;
                    job = job with { Checkpoint = outcome.Checkpoint ?? job.Checkpoint };
                    last = outcome;
                    return outcome;
                },
                lease.Token), true);
        }
        catch (BrokenCircuitException ex)
        {
            return (PostOutcome.Transient("the account's circuit breaker is open", ex.RetryAfter) with { Checkpoint = job.Checkpoint }, Sent());
        }
        catch (RateLimiterRejectedException ex)
        {
            return (PostOutcome.RateLimited("this service's own rate limit for the account", ex.RetryAfter ?? TimeSpan.FromSeconds(10)) with { Checkpoint = job.Checkpoint }, Sent());
        }
        catch (TimeoutRejectedException ex)
        {
            var outcome = Sent()
                ? PostOutcome.Unknown($"no answer within {ex.Timeout.TotalSeconds:0.###} s")
                : PostOutcome.Transient($"the attempt's {ex.Timeout.TotalSeconds:0.###} s ran out before anything was sent");
            return (outcome with { Checkpoint = job.Checkpoint }, Sent());
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested && !inFlight)
        {
            // The node stops between tries (a deploy while a retry waits out a 429): nothing is in flight, so the
            // last answer stands and the job goes back to the durable queue. Left mid-post, another node would
            // find it in doubt, and on a network that cannot look a post up make it unconfirmed.
            var outcome = last ?? PostOutcome.Transient("the node stopped before anything was sent");
            return (outcome with { Checkpoint = job.Checkpoint }, last is not null);
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            // The run's budget was spent or the lease lost: a request still in flight may have posted; between
            // attempts, the last answer stands and the job waits in the durable queue.
            var outcome = inFlight || last is null
                ? PostOutcome.Unknown($"no answer before the run's time budget ({ShareLease.Budget(options.Value.LeaseDuration).TotalSeconds:0.###} s) ran out")
                : last;
            return (outcome with { Checkpoint = job.Checkpoint }, true);
        }

        // A pipeline that refused after an earlier try of this run had sent one: that try counts.
        bool Sent() => inFlight || last is not null;

        async Task SaveOrLoseLeaseAsync()
        {
            if (!await store.SaveAsync(job, token, time.GetUtcNow() + options.Value.LeaseDuration, release: false))
            {
                lease.MarkLost();
                throw new OperationCanceledException("The job's lease was lost.");
            }
        }
    }

    // An answer the adapter could not read (JSON that is not the network's) after its request went out is no
    // answer: the post may exist. Escaping, it would leave the job mid-post without counting toward MaxAttempts.
    private static async Task<PostOutcome> PostOnceAsync(IShareAdapter adapter, ShareRequest request, CancellationToken cancellationToken)
    {
        try
        {
            return await adapter.PostAsync(request, cancellationToken);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return PostOutcome.Unknown($"{adapter.Network} gave an answer that could not be read ({ex.GetType().Name})");
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
                return job with { State = ShareStates.Posted, RemoteId = outcome.RemoteId ?? job.RemoteId, RemoteUrl = outcome.RemoteUrl ?? job.RemoteUrl, Reason = outcome.Kind == OutcomeKind.AlreadyPosted ? outcome.Reason : null, InDoubtSince = null };
            case OutcomeKind.Auth:
            case OutcomeKind.Rejected:
                return job with { State = ShareStates.Dead, Reason = outcome.Reason };
            case OutcomeKind.Unknown when adapter.AfterUnknown == AfterUnknown.Unconfirmed:
                return job with { State = ShareStates.Unconfirmed, Reason = $"{outcome.Reason}; the post may exist: check {account.Network}, then retry with confirmNotPosted" };
            default:
                // An unknown outcome where the network can tell: confirm before the next send.
                if (outcome.Kind == OutcomeKind.Unknown)
                {
                    job = job with { InDoubtSince = job.InDoubtSince ?? job.UpdatedAt };
                }

                if (job.Attempts >= options.Value.MaxAttempts)
                {
                    return job.InDoubtSince is null
                        ? job with { State = ShareStates.Dead, Reason = $"gave up after {job.Attempts} attempts: {outcome.Reason}" }
                        : job with { State = ShareStates.Unconfirmed, Reason = $"gave up after {job.Attempts} attempts, and one may have posted: {outcome.Reason}" };
                }

                var backoff = TimeSpan.FromTicks(Math.Min(TimeSpan.FromHours(1).Ticks, account.Resilience.BaseDelay.Ticks * (1L << Math.Min(job.Attempts, 20))));
                var wait = outcome.RetryAfter is { } retryAfter && retryAfter > backoff ? retryAfter : backoff;
                var next = now + wait;
                return job with
                {
                    State = ShareStates.Failed,
                    Reason = outcome.Reason,
                    NextAttemptAt = job.InDoubtSince is { } since && SettledAt(adapter, account, since) is { } settled && settled > next ? settled : next,
                };
        }
    }

    // When a resend after an attempt in doubt since then is safe, for a network that dedupes only once the first
    // request has ended there (Mastodon); null for the others (at once, or never: unconfirmed).
    private static DateTimeOffset? SettledAt(IShareAdapter adapter, SocialAccountOptions account, DateTimeOffset since) =>
        adapter.AfterUnknown == AfterUnknown.ResendOnceSettled ? since + account.Resilience.SettleAfterUnknown : null;

    private async Task FinishAsync(ShareJob job, string token, bool authFailure = false, bool report = true)
    {
        var nextDue = job.State == ShareStates.Failed ? job.NextAttemptAt : null;
        if (!await store.SaveAsync(job, token, nextDue, release: true))
        {
            SocialLog.LeaseLost(logger, job.Id);
            return;
        }

        if (report)
        {
            await shares.ReportAsync(job);
            await health.RecordAsync(job, authFailure);
        }
    }
}
