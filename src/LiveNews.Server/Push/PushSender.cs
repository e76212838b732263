using System.Buffers.Text;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Lib.Net.Http.WebPush;
using Lib.Net.Http.WebPush.Authentication;
using LiveNews.Server.Bus;
using LiveNews.Server.Operations;
using LiveNews.Server.Realtime;
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
/// while its recipients are still being sent to is not sent to the rest. A headline the push service accepted
/// once its alert was retracted is followed by the retraction to that device: another node may have sent the
/// retraction there first, and the headline, later, would stand in its place.
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

            var payload = PayloadOf(alert);
            var retractable = alert.Headline is not null && Topic.TryParse(alert.Topic, out var topic, out _) ? new Retractable(topic.Value, alert) : null;
            while (!cancellationToken.IsCancellationRequested)
            {
                var gone = retractable is not null && await IsWithdrawnAsync(retractable);
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
                var started = new bool[ids.Length];
                try
                {
                    var found = await subscriptions.GetAsync(ids);
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
                catch (Exception ex) when (ex is OperationCanceledException or RedisException or TimeoutException)
                {
                    // The node is stopping (a deploy), or Redis failed the batch's read: the recipients it had not
                    // started go back, for this node's next poll or another node. One in flight may have got the
                    // alert, and is not sent twice.
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

    private async Task SendAsync(PushServiceClient client, PushAlert alert, Retractable? retractable, string payload, string id, StoredPushSubscription subscription, CancellationToken cancellationToken)
    {
        var target = new PushSubscription { Endpoint = subscription.Endpoint };
        target.SetKey(PushEncryptionKeyName.P256DH, subscription.P256dh);
        target.SetKey(PushEncryptionKeyName.Auth, subscription.Auth);
        var host = new Uri(subscription.Endpoint).Authority;
        try
        {
            // Each try, the first included (its batch was popped a while ago, a retry comes after a wait): a push past
            // its life is not sent, nor an alert retracted meanwhile, or its headline would follow the retraction.
            var outcome = await Pipeline(host).ExecuteAsync(
                async token =>
                {
                    if (LifeLeft(alert) < TimeSpan.FromSeconds(1))
                    {
                        return "expired";
                    }

                    if (retractable is not null && await IsWithdrawnBeforeSendAsync(retractable))
                    {
                        return "withdrawn";
                    }

                    await client.RequestPushMessageDeliveryAsync(target, Message(alert, payload), token);
                    return "sent";
                },
                cancellationToken);
            if (outcome != "sent")
            {
                metrics.Pushed(outcome);
                return;
            }

            Interlocked.Increment(ref _sent);
            metrics.Pushed("sent");
            if (retractable is not null)
            {
                await RetractAfterAsync(client, target, host, alert, retractable, id, cancellationToken);
            }
        }
        catch (PushServiceClientException ex) when (ex.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Gone)
        {
            metrics.Pushed("gone");
            PushLog.Gone(logger, id, (int)ex.StatusCode);
            try
            {
                await subscriptions.RemoveAsync(id);
            }
            catch (Exception remove) when (remove is RedisException or TimeoutException)
            {
                // Kept until it expires, or its next push finds it gone again; the batch goes on.
                PushLog.FailedWithException(logger, id, host, alert.EventId, remove);
            }

            return;
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

    // Retracted between the check and the push service's answer: the retraction's own push may have reached this
    // device first. Sent again after the headline, it stands (same Topic, later seq); a retraction published after
    // the answer is pushed after it by its own job. A failure here is this follow-up's alone: the headline was sent.
    private async Task RetractAfterAsync(PushServiceClient client, PushSubscription target, string host, PushAlert alert, Retractable retractable, string id, CancellationToken cancellationToken)
    {
        try
        {
            if (await IsWithdrawnAsync(retractable) && await retractable.RetractionAsync(bus) is { } retraction)
            {
                await Pipeline(host).ExecuteAsync(token => new ValueTask(client.RequestPushMessageDeliveryAsync(target, Message(alert, retraction), token)), cancellationToken);
                metrics.Pushed("retracted-after");
            }
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            metrics.Pushed("retraction-after-failed");
            PushLog.FailedWithException(logger, id, host, alert.EventId, ex);
        }
    }

    // An alert event with a headline whose alert is no longer in its topic's snapshot (retracted or expired).
    private async Task<bool> IsWithdrawnAsync(Retractable retractable) => !await bus.ItemExistsAsync(retractable.Topic, retractable.Alert.AlertId);

    // Before each try (one HEXISTS: Redis answers far more of them than push services take pushes): a look-up that
    // fails says no, rather than lose the push. The look-up after the send (RetractAfterAsync) then follows a
    // withdrawn alert's headline with its retraction, unless Redis fails it too (outcome retraction-after-failed).
    private async Task<bool> IsWithdrawnBeforeSendAsync(Retractable retractable)
    {
        try
        {
            return await IsWithdrawnAsync(retractable);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            return false;
        }
    }

    // At most ~3.5 KB, under the ~3,990 bytes a 4 KB push message holds: a headline of 200 characters (100 emoji,
    // written as \uXXXX pairs, are the most: 1,200 bytes), a URL of 2,048 once percent-encoded (Validation.EncodedUrl).
    private static string PayloadOf(PushAlert alert) =>
        JsonSerializer.Serialize(new PushPayload(alert.Type, alert.AlertId, alert.Headline, alert.Url, alert.At, alert.Epoch, alert.Seq), LiveNewsJson.Compact);

    private PushMessage Message(PushAlert alert, string payload) => new(payload)
    {
        Topic = TopicOf(alert),
        Urgency = PushMessageUrgency.High,
        TimeToLive = (int)Math.Max(0, LifeLeft(alert).TotalSeconds),
    };

    // A push lives Push:MessageTimeToLive from its alert event, not from its send: one sent late (queued after Redis
    // was away for hours, or retried) is not held by the push service, and shown as breaking news, for the whole
    // life again.
    private TimeSpan LifeLeft(PushAlert alert) => options.Value.MessageTimeToLive - (time.GetUtcNow() - alert.At);

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

    /// <summary>An alert event with a headline, and the payload of the alert's retraction once one node looked it up.</summary>
    private sealed class Retractable(Topic topic, PushAlert alert)
    {
        private Task<string?>? _retraction;

        public Topic Topic { get; } = topic;

        public PushAlert Alert { get; } = alert;


        /// <summary>
        /// The retraction's push, read from the topic's history after the alert event (null when the alert expired
        /// instead, or history no longer reaches back): looked up once for all of the alert's recipients.
        /// </summary>
        public async Task<string?> RetractionAsync(EventBus bus)
        {
            var finding = LazyInitializer.EnsureInitialized(ref _retraction, () => FindAsync(bus))!;
            try
            {
                return await finding;
            }
            catch
            {
                // A failed read is not remembered: the next recipient's follow-up reads again.
                _ = Interlocked.CompareExchange(ref _retraction, null, finding);
                throw;
            }
        }

        private async Task<string?> FindAsync(EventBus bus)
        {
            var read = await bus.ReadAsync(Topic, Alert.Seq, withSnapshot: false);
            if (read.Epoch != Alert.Epoch || !read.HistoryFound)
            {
                return null;
            }

            return read.Events
                .Select(envelope => AlertQueue.Read(new TopicPush(Topic.Name, envelope)))
                .FirstOrDefault(queued => queued is { Type: "breaking.retracted" } && queued.AlertId == Alert.AlertId) is { } retraction
                ? PayloadOf(retraction)
                : null;
        }
    }
}
