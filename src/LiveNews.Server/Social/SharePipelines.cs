using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using LiveNews.Server.Operations;
using LiveNews.Server.Social.Adapters;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.RateLimiting;
using Polly.Registry;
using Polly.Retry;
using Polly.Timeout;

namespace LiveNews.Server.Social;

/// <summary>
/// One Polly pipeline per account, so one network's outage never opens another's breaker:
/// retry (exponential backoff with jitter, honouring Retry-After and reset headers) around a circuit
/// breaker, a rate limiter that keeps the service below the network's quota, and a per-attempt timeout.
/// A wait longer than the account's in-process budget is not slept: the job goes back to the durable queue.
/// </summary>
internal sealed class SharePipelines : IDisposable
{
    private readonly ResiliencePipelineRegistry<string> _registry = new();
    private readonly List<RateLimiter> _limiters = [];
    private readonly ConcurrentDictionary<string, bool> _open = new(StringComparer.Ordinal);

    public SharePipelines(IOptions<SocialOptions> options, IEnumerable<IShareAdapter> adapters, TimeProvider time, LiveNewsMetrics metrics, ILogger<SharePipelines> logger)
    {
        var byNetwork = adapters.ToDictionary(a => a.Network, StringComparer.Ordinal);
        foreach (var account in options.Value.Accounts)
        {
            // In process only where a resend is safe at once; later ones wait in the durable queue (ShareWorker).
            var safeAfterUnknown = byNetwork.TryGetValue(account.Network, out var adapter) && adapter.AfterUnknown == AfterUnknown.ResendAtOnce;
            var limiter = new SlidingWindowRateLimiter(new SlidingWindowRateLimiterOptions
            {
                PermitLimit = account.Resilience.PostsPerMinute,
                Window = TimeSpan.FromMinutes(1),
                SegmentsPerWindow = 6,
                QueueLimit = 0,
            });
            _limiters.Add(limiter);
            metrics.BreakerChanged(account.Name, open: false);
            _registry.TryAddBuilder<PostOutcome>(account.Name, (builder, _) =>
                Configure(builder, account.Resilience, safeAfterUnknown, limiter, time, open =>
                {
                    _open[account.Name] = open;
                    metrics.BreakerChanged(account.Name, open);
                }, (delay, reason) => SocialLog.TryingAgain(logger, account.Name, (long)delay.TotalMilliseconds, reason)));
        }
    }

    public ResiliencePipeline<PostOutcome> For(string account) => _registry.GetPipeline<PostOutcome>(account);

    /// <summary>Whether this node's breaker for the account is open now.</summary>
    public bool IsBreakerOpen(string account) => _open.GetValueOrDefault(account);

    public void Dispose()
    {
        _registry.Dispose();
        foreach (var limiter in _limiters)
        {
            limiter.Dispose();
        }
    }

    internal static void Configure(ResiliencePipelineBuilder<PostOutcome> builder, ShareResilienceOptions options, bool safeAfterUnknown, RateLimiter limiter, TimeProvider time, Action<bool>? breakerChanged = null, Action<TimeSpan, string>? retrying = null)
    {
        builder.TimeProvider = time;
        if (options.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<PostOutcome>
            {
                MaxRetryAttempts = options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.BaseDelay,
                ShouldHandle = args => ValueTask.FromResult(IsRetryable(args.Outcome, safeAfterUnknown, options.MaxInProcessWait)),
                DelayGenerator = args => ValueTask.FromResult(args.Outcome.Result?.RetryAfter),
                OnRetry = args =>
                {
                    retrying?.Invoke(args.RetryDelay, args.Outcome.Result?.Reason ?? args.Outcome.Exception?.Message ?? "");
                    return ValueTask.CompletedTask;
                },
            });
        }

        builder
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<PostOutcome>
            {
                FailureRatio = options.BreakerFailureRatio,
                MinimumThroughput = options.BreakerMinimumThroughput,
                SamplingDuration = options.BreakerSamplingDuration,
                BreakDuration = options.BreakerBreakDuration,
                ShouldHandle = args => ValueTask.FromResult(
                    args.Outcome.Exception is TimeoutRejectedException
                    || args.Outcome.Result?.Kind is OutcomeKind.Transient or OutcomeKind.Unknown),
                OnOpened = _ =>
                {
                    breakerChanged?.Invoke(true);
                    return ValueTask.CompletedTask;
                },
                OnClosed = _ =>
                {
                    breakerChanged?.Invoke(false);
                    return ValueTask.CompletedTask;
                },
            })
            .AddRateLimiter(new RateLimiterStrategyOptions { RateLimiter = args => limiter.AcquireAsync(1, args.Context.CancellationToken) })
            .AddTimeout(options.AttemptTimeout);
    }

    private static bool IsRetryable(Outcome<PostOutcome> outcome, bool safeAfterUnknown, TimeSpan maxWait)
    {
        if (outcome.Exception is TimeoutRejectedException)
        {
            return safeAfterUnknown;
        }

        var result = outcome.Result;
        if (result is null)
        {
            return false;
        }

        var retryable = result.ShouldRetry || (result.Kind == OutcomeKind.Unknown && safeAfterUnknown);
        return retryable && (result.RetryAfter is not { } wait || wait <= maxWait);
    }
}
