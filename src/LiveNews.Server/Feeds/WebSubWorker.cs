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
/// would refuse it again: that ping is logged and dropped, not retried forever.
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
                foreach (var feed in taken)
                {
                    var retryAt = await PingAsync(feed, stoppingToken) ? (DateTimeOffset?)null : time.GetUtcNow() + options.Value.RetryAfter;
                    await queue.EndAsync(feed, leaseEnd, retryAt);
                }

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

    /// <summary>True when the ping is done with: made, or refused for good.</summary>
    private async Task<bool> PingAsync(string feedPath, CancellationToken stoppingToken)
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
                if (code is >= 500 or 408 or 429)
                {
                    throw new HttpRequestException($"The hub answered {code}.", null, response.StatusCode);
                }

                return code;
            }, stoppingToken);
            if (status >= 300)
            {
                FeedsLog.PingRefused(logger, feedUrl, status);
            }
            else
            {
                FeedsLog.Pinged(logger, feedUrl);
            }

            return true;
        }
        catch (Exception ex) when (ex is HttpRequestException or TimeoutException or Polly.Timeout.TimeoutRejectedException)
        {
            FeedsLog.PingFailed(logger, feedUrl, options.Value.RetryAfter, ex);
            return false;
        }
    }
}
