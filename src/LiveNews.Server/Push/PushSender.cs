using System.Buffers.Text;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Lib.Net.Http.WebPush;
using Lib.Net.Http.WebPush.Authentication;
using LiveNews.Server.Bus;
using LiveNews.Server.Operations;
using LiveNews.Server.Store;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Registry;
using Polly.Retry;
using StackExchange.Redis;

namespace LiveNews.Server.Push;

/// <summary>
/// What the service worker receives (decrypted): enough to show the alert and open it, and the event's position
/// in its topic, so that a push overtaken by a later one of the same alert does not bring back its older text.
/// </summary>
internal sealed record PushPayload(string Type, string Id, string? Headline, string? Url, DateTimeOffset At, string? Epoch, long Seq);

/// <summary>
/// Sends queued alerts. Every node polls the queue and pops recipients of an alert in batches: a popped
/// recipient belongs to that node alone, so several nodes never send one alert twice to one subscription
/// (a node that dies mid-batch loses that batch's pushes rather than risk repeating them). Each push goes
/// through a Polly pipeline of its push service's host (retries honour 429 <c>Retry-After</c>), encrypted
/// (RFC 8291 aes128gcm) and signed (RFC 8292 VAPID) by Lib.Net.Http.WebPush, with <c>TTL</c>,
/// <c>Urgency: high</c> and a <c>Topic</c> derived from the alert id, so an update or a retraction replaces
/// the alert a device has not shown yet. A 404 or 410 removes the subscription. An alert retracted (or expired)
/// while its recipients are still being sent to is not sent to the rest: its headline stops within a batch.
/// </summary>
internal sealed class PushSender(
    RedisStore store,
    RedisNames names,
    EventBus bus,
    PushSubscriptions subscriptions,
    IHttpClientFactory httpClients,
    IOptions<PushOptions> options,
    TimeProvider time,
    LiveNewsMetrics metrics,
    ILogger<PushSender> logger) : BackgroundService
{
    public const string HttpClientName = "push";

    private readonly ResiliencePipelineRegistry<string> _pipelines = new();
    private long _sent;

    /// <summary>Pushes this node's push services accepted (for tests and the bench).</summary>
    public long Sent => Interlocked.Read(ref _sent);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.Enabled)
        {
            return;
        }

        using var vapid = new VapidAuthentication(settings.PublicKey, settings.PrivateKey) { Subject = settings.Subject };
        var client = new PushServiceClient(httpClients.CreateClient(HttpClientName))
        {
            AutoRetryAfter = false, // Polly retries, per push service
            DefaultAuthentication = vapid,
            DefaultAuthenticationScheme = VapidAuthenticationScheme.Vapid,
        };
        using var timer = new PeriodicTimer(settings.PollInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await DrainAsync(client, stoppingToken);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    // Redis away, or a job this version cannot read: the loop goes on at the next poll.
                    PushLog.LoopFailed(logger, ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override void Dispose()
    {
        _pipelines.Dispose();
        base.Dispose();
    }

    /// <summary>The <c>Topic</c> header of an alert: 32 base64url characters, the same for every event of the alert.</summary>
    internal static string TopicOf(PushAlert alert) =>
        Base64Url.EncodeToString(SHA256.HashData(Encoding.UTF8.GetBytes($"{alert.Topic}/{alert.AlertId}")).AsSpan(0, 24));

    private async Task DrainAsync(PushServiceClient client, CancellationToken cancellationToken)
    {
        var database = await store.GetDatabaseAsync();
        var batch = options.Value.Concurrency * 4;
        foreach (var job in await database.ListRangeAsync(names.PushAlerts))
        {
            if (LiveNewsJson.Deserialize<PushAlert>(job!) is not { } alert)
            {
                continue;
            }

            var payload = LiveNewsJson.Serialize(new PushPayload(alert.Type, alert.AlertId, alert.Headline, alert.Url, alert.At, alert.Epoch, alert.Seq));
            Topic? retractable = alert.Headline is not null && Topic.TryParse(alert.Topic, out var topic, out _) ? topic : null;
            while (!cancellationToken.IsCancellationRequested)
            {
                var gone = await IsWithdrawnAsync(alert, retractable);
                var popped = gone ? [] : await database.SortedSetPopAsync(names.PushRecipients(alert.EventId), batch);
                if (popped.Length == 0)
                {
                    if (gone)
                    {
                        await database.KeyDeleteAsync(names.PushRecipients(alert.EventId));
                        PushLog.Withdrawn(logger, alert.AlertId, alert.EventId);
                    }

                    await database.ListRemoveAsync(names.PushAlerts, job);
                    break;
                }

                var ids = popped.Select(entry => entry.Element.ToString()).ToArray();
                var found = await subscriptions.GetAsync(ids);
                var started = new bool[ids.Length];
                try
                {
                    await Parallel.ForEachAsync(
                        Enumerable.Range(0, ids.Length),
                        new ParallelOptions { MaxDegreeOfParallelism = options.Value.Concurrency, CancellationToken = cancellationToken },
                        async (i, token) =>
                        {
                            Volatile.Write(ref started[i], true);
                            if (found[i] is { } subscription && subscription.Topics.Contains(alert.Topic))
                            {
                                await SendAsync(client, alert, retractable, payload, ids[i], subscription, token);
                            }
                        });
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    // The node is stopping (a deploy): the recipients it had not started go back for another node.
                    // One in flight may have got the alert, and is not sent twice.
                    SortedSetEntry[] notStarted = [.. popped.Where((_, i) => !Volatile.Read(ref started[i]))];
                    if (notStarted.Length > 0)
                    {
                        await database.SortedSetAddAsync(names.PushRecipients(alert.EventId), notStarted);
                    }

                    throw;
                }
            }
        }
    }

    private async Task SendAsync(PushServiceClient client, PushAlert alert, Topic? retractable, string payload, string id, StoredPushSubscription subscription, CancellationToken cancellationToken)
    {
        var target = new PushSubscription { Endpoint = subscription.Endpoint };
        target.SetKey(PushEncryptionKeyName.P256DH, subscription.P256dh);
        target.SetKey(PushEncryptionKeyName.Auth, subscription.Auth);
        var host = new Uri(subscription.Endpoint).Authority;
        try
        {
            var attempts = 0;
            var sent = await Pipeline(host).ExecuteAsync(
                async token =>
                {
                    // A retry comes after a wait (a 429's Retry-After, up to Push:MaxRetryAfter): an alert retracted
                    // meanwhile is not sent, or its headline would follow the retraction onto the device.
                    if (attempts++ > 0 && await IsWithdrawnAsync(alert, retractable))
                    {
                        return false;
                    }

                    await client.RequestPushMessageDeliveryAsync(target, Message(alert, payload), token);
                    return true;
                },
                cancellationToken);
            if (!sent)
            {
                metrics.Pushed("withdrawn");
                return;
            }

            Interlocked.Increment(ref _sent);
            metrics.Pushed("sent");
        }
        catch (PushServiceClientException ex) when (ex.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Gone)
        {
            metrics.Pushed("gone");
            await subscriptions.RemoveAsync(id);
            PushLog.Gone(logger, id, (int)ex.StatusCode);
        }
        catch (HttpRequestException ex) when (ex.InnerException is NotOnTheInternetException refused)
        {
            // Kept: a name may resolve inside only for now (split-horizon DNS); it expires unless refreshed.
            metrics.Pushed("failed");
            PushLog.NotOnTheInternet(logger, id, refused.Message);
        }
        catch (PushServiceClientException ex)
        {
            metrics.Pushed("failed");
            PushLog.Failed(logger, id, host, (int)ex.StatusCode, alert.EventId);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Any other failure of one push (network, timeout, a key the library refuses) is that push's alone.
            metrics.Pushed("failed");
            PushLog.FailedWithException(logger, id, host, alert.EventId, ex);
        }
    }

    // An alert event with a headline whose alert is no longer in its topic's snapshot (retracted or expired).
    private async Task<bool> IsWithdrawnAsync(PushAlert alert, Topic? retractable) =>
        retractable is { } topic && !await bus.ItemExistsAsync(topic, alert.AlertId);

    private PushMessage Message(PushAlert alert, string payload) => new(payload)
    {
        Topic = TopicOf(alert),
        Urgency = PushMessageUrgency.High,
        TimeToLive = (int)options.Value.MessageTimeToLive.TotalSeconds,
    };

    private ResiliencePipeline Pipeline(string host) => _pipelines.GetOrAddPipeline(host, builder =>
    {
        var settings = options.Value;
        builder.TimeProvider = time;
        if (settings.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = settings.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(500),
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception switch
                {
                    PushServiceClientException push => IsTransient(push.StatusCode) && !(RetryAfter(push) > settings.MaxRetryAfter),
                    HttpRequestException { InnerException: NotOnTheInternetException } => false,
                    HttpRequestException or Polly.Timeout.TimeoutRejectedException => true,
                    _ => false,
                }),
                DelayGenerator = args => ValueTask.FromResult(args.Outcome.Exception is PushServiceClientException push ? RetryAfter(push) : null),
            });
        }

        builder.AddTimeout(settings.AttemptTimeout);
    });

    private static bool IsTransient(HttpStatusCode status) => status is HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout || (int)status >= 500;

    private TimeSpan? RetryAfter(PushServiceClientException push) => push.Headers?.RetryAfter switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => date - time.GetUtcNow() is var wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero,
        _ => null,
    };
}
