using System.Net.Http;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using StackExchange.Redis;

namespace LiveNews.Server.Feeds;

/// <summary>
/// Makes the queued WebSub pings (<c>hub.mode=publish</c>, <c>hub.url</c> = the feed), on whichever node
/// takes them first. Each ping goes through a Polly pipeline (timeout per attempt, retries with backoff);
/// a ping that still fails waits in the queue (<c>WebSub:RetryAfter</c>), so a hub that is down misses nothing.
/// A hub that refuses the ping itself (a 3xx or 4xx other than 408 and 429: a wrong hub URL, a feed it does not take)
/// would refuse it again: that ping is logged and dropped, not retried forever. A hub that asks to wait (429, or
/// 503 with <c>Retry-After</c>) gets nothing more from any node until then: the ping and the rest of its batch wait
/// in the queue, and no node takes pings meanwhile. No ping runs past the lease it was taken with, after which
/// another node may take and make it: one still unanswered then is given up and tried again after
/// <c>WebSub:RetryAfter</c>.
/// </summary>
internal sealed class WebSubWorker(
    WebSubQueue queue,
    IHttpClientFactory httpClients,
    IOptions<WebSubOptions> options,
    IOptions<FeedOptions> feeds,
    TimeProvider time,
    ILogger<WebSubWorker> logger) : BackgroundService
{
    public const string HttpClientName = "websub";
    private const int Batch = 16;

    // Until when the hub asked this node to wait (429, or 503 with Retry-After); read and set by the one loop.
    private DateTimeOffset _hubWaitsUntil = DateTimeOffset.MinValue;

    // What a ping leaves of its lease unused: the ending call's time, and clocks of nodes a little apart.
    private static readonly TimeSpan LeaseMargin = TimeSpan.FromSeconds(2);

    // The longest wait a hub's Retry-After is taken at.
    private static readonly TimeSpan LongestHubWait = TimeSpan.FromHours(1);

    private readonly ResiliencePipeline _pipeline = new ResiliencePipelineBuilder { TimeProvider = time }
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<HttpRequestException>().Handle<TimeoutException>().Handle<Polly.Timeout.TimeoutRejectedException>(),
            MaxRetryAttempts = 3,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = TimeSpan.FromMilliseconds(200),
        })
        .AddTimeout(TimeSpan.FromSeconds(10))
        .Build();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Enabled)
        {
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var (taken, leaseEnd) = await queue.TakeAsync(Batch);
                await PingAllAsync(taken, leaseEnd, stoppingToken);

                if (taken.Count == Batch)
                {
                    continue;
                }
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                FeedsLog.ClaimFailed(logger, ex);
            }

            try
            {
                await Task.Delay(options.Value.PollInterval, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    // Pings the feeds taken, in order, while their lease holds, and ends each lease: done, or due again when the
    // ping should be retried. What the lease leaves unpinged is due again at once; while the hub asked to wait,
    // every ping taken is due again when the hub said.
    private async Task PingAllAsync(IReadOnlyList<string> feeds, long leaseEnd, CancellationToken stoppingToken)
    {
        var leaseLeft = DateTimeOffset.FromUnixTimeMilliseconds(leaseEnd) - time.GetUtcNow() - LeaseMargin;
        using var leaseHeld = new CancellationTokenSource(leaseLeft > TimeSpan.Zero ? leaseLeft : TimeSpan.Zero, time);
        using var pinging = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, leaseHeld.Token);
        foreach (var feed in feeds)
        {
            var ping = _hubWaitsUntil > time.GetUtcNow() ? PingOutcome.Wait(_hubWaitsUntil)
                : pinging.IsCancellationRequested ? PingOutcome.Again(time.GetUtcNow())
                : await PingAsync(feed, pinging.Token, stoppingToken);
            if (ping is { HubAskedToWait: true, RetryAt: { } until } && until > _hubWaitsUntil)
            {
                _hubWaitsUntil = until;
                await TellOtherNodesAsync(until);
            }

            // Ended with no token: a node that is stopping puts its pings back for the others.
            await queue.EndAsync(feed, leaseEnd, ping.RetryAt);
        }
    }

    // The other nodes learn of the hub's wait from Redis; if that fails they may ask once more, and get told too.
    // A node part-way through a batch when another recorded the wait makes at most its ping in flight.
    private async Task TellOtherNodesAsync(DateTimeOffset until)
    {
        try
        {
            await queue.HubWaitsAsync(until);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            FeedsLog.ClaimFailed(logger, ex);
        }
    }

    private async Task<PingOutcome> PingAsync(string feedPath, CancellationToken pinging, CancellationToken stoppingToken)
    {
        var feedUrl = feeds.Value.Base + feedPath;
        try
        {
            var client = httpClients.CreateClient(HttpClientName);
            var status = await _pipeline.ExecuteAsync(async token =>
            {
                using var body = new FormUrlEncodedContent([new("hub.mode", "publish"), new("hub.url", feedUrl)]);
                using var response = await client.PostAsync(options.Value.Hub, body, token);
                var code = (int)response.StatusCode;
                if (code == 429 || (code == 503 && response.Headers.RetryAfter is not null))
                {
                    throw new HubAskedToWaitException(code, WaitAsked(response.Headers.RetryAfter));
                }

                if (code is >= 500 or 408)
                {
                    throw new HttpRequestException($"The hub answered {code}.", null, response.StatusCode);
                }

                return code;
            }, pinging);
            if (status >= 300)
            {
                FeedsLog.PingRefused(logger, feedUrl, status);
            }
            else
            {
                FeedsLog.Pinged(logger, feedUrl);
            }

            return PingOutcome.Done;
        }
        catch (HubAskedToWaitException ex)
        {
            FeedsLog.PingFailed(logger, feedUrl, ex.Wait, null);
            return PingOutcome.Wait(time.GetUtcNow() + ex.Wait);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The node stops: whether the hub got it is unknown; another node makes it again, at once.
            return PingOutcome.Again(time.GetUtcNow());
        }
        catch (OperationCanceledException ex) when (pinging.IsCancellationRequested)
        {
            // Its lease ran out with the hub still silent: given up before another node may take it.
            FeedsLog.PingFailed(logger, feedUrl, options.Value.RetryAfter, ex);
            return PingOutcome.Again(time.GetUtcNow() + options.Value.RetryAfter);
        }
        catch (Exception ex) when (ex is HttpRequestException or TimeoutException or Polly.Timeout.TimeoutRejectedException)
        {
            FeedsLog.PingFailed(logger, feedUrl, options.Value.RetryAfter, ex);
            return PingOutcome.Again(time.GetUtcNow() + options.Value.RetryAfter);
        }
    }

    // The hub's Retry-After (seconds or a date), within a second and an hour; WebSub:RetryAfter when it gave none.
    private TimeSpan WaitAsked(System.Net.Http.Headers.RetryConditionHeaderValue? retryAfter)
    {
        var wait = retryAfter switch
        {
            { Delta: { } delta } => delta,
            { Date: { } date } => date - time.GetUtcNow(),
            _ => options.Value.RetryAfter,
        };
        return wait < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : wait > LongestHubWait ? LongestHubWait : wait;
    }

    /// <summary>How a ping ended: done with (made, or refused for good), or due again at <see cref="RetryAt"/>.</summary>
    private readonly record struct PingOutcome(DateTimeOffset? RetryAt, bool HubAskedToWait)
    {
        public static PingOutcome Done => default;

        public static PingOutcome Again(DateTimeOffset at) => new(at, false);

        public static PingOutcome Wait(DateTimeOffset until) => new(until, true);
    }

    /// <summary>The hub answered 429, or 503 with Retry-After: not retried by the pipeline.</summary>
    private sealed class HubAskedToWaitException(int status, TimeSpan wait) : Exception($"The hub answered {status} and asked to wait {wait}.")
    {
        public TimeSpan Wait { get; } = wait;
    }
}
