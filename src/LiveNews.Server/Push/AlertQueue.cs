using System.Text.Json;
using System.Threading.Channels;
using LiveNews.Server.Bus;
using LiveNews.Server.Realtime;
using LiveNews.Server.Store;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LiveNews.Server.Push;

/// <summary>
/// One alert event to push to every subscription of its topic (kept in the durable queue as JSON), with its
/// position in the topic (<c>Epoch</c> null, <c>Seq</c> 0: queued before positions were kept).
/// </summary>
internal sealed record PushAlert(string EventId, string Topic, string Type, string AlertId, string? Headline, string? Url, DateTimeOffset At, string? Epoch = null, long Seq = 0);

/// <summary>
/// Turns breaking alerts into push jobs. Every node reads <c>breaking</c> like a reader does (through the
/// relay, in order) and offers each published, updated or retracted alert to the durable queue; one script
/// lets only the first node queue it, copying the topic's subscriptions as the job's recipients, so that
/// each recipient is later popped by exactly one node.
/// </summary>
internal sealed class AlertQueue(
    RedisStore store,
    RedisNames names,
    Subscribers subscribers,
    EventRelay relay,
    IOptions<PushOptions> options,
    TimeProvider time,
    ILogger<AlertQueue> logger) : BackgroundService, ITopicReader
{
    private static readonly TimeSpan QueuedFor = TimeSpan.FromDays(1);

    // KEYS: 1 queued marker, 2 the queue, 3 the topic's subscriptions, 4 the event's recipients.
    // ARGV: 1 job JSON, 2 now (unix ms), 3 TTL ms. Returns the recipients queued, -1 when queued before.
    private const string Enqueue = """
        if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[3]) then return -1 end
        redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[2])
        local n = redis.call('ZCARD', KEYS[3])
        if n == 0 then return 0 end
        redis.call('ZUNIONSTORE', KEYS[4], 1, KEYS[3])
        redis.call('PEXPIRE', KEYS[4], ARGV[3])
        redis.call('RPUSH', KEYS[2], ARGV[1])
        redis.call('PEXPIRE', KEYS[2], ARGV[3])
        return n
        """;

    private readonly Channel<TopicPush> _events = Channel.CreateUnbounded<TopicPush>(new UnboundedChannelOptions { SingleReader = true });

    public string Id { get; } = "push:" + Guid.NewGuid().ToString("N");

    public HashSet<string> Topics { get; } = new(StringComparer.Ordinal);

    public void Push(TopicPush push)
    {
        if (push.IsEvent)
        {
            _events.Writer.TryWrite(push);
        }
    }

    public void Close() => _events.Writer.TryComplete();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Enabled)
        {
            PushLog.Off(logger);
            return;
        }

        PushLog.On(logger);
        subscribers.Register(this);
        subscribers.Join(Id, Topic.Breaking);
        var served = false;
        try
        {
            await ServeAsync(stoppingToken);
            served = true;
            await foreach (var push in _events.Reader.ReadAllAsync(stoppingToken))
            {
                if (Read(push) is { } alert)
                {
                    await QueueUntilDoneAsync(alert, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            subscribers.Disconnected(Id);
            if (served)
            {
                relay.Release(Topic.Breaking);
            }
        }
    }

    /// <summary>
    /// Queues the alert event unless a node did already. With Redis away (restarting, failing over) every node
    /// fails alike, and the relay does not hand the event over again: each keeps offering it, 1, 2, 4 … 30 s
    /// apart, until Redis answers (the script queues it once), while a push of it could still be delivered
    /// (<c>Push:MessageTimeToLive</c>). Later alerts wait their turn, in order.
    /// </summary>
    internal async Task QueueUntilDoneAsync(PushAlert alert, CancellationToken stoppingToken)
    {
        for (var attempt = 0; await QueueAsync(alert) is null; attempt++)
        {
            if (time.GetUtcNow() - alert.At > options.Value.MessageTimeToLive)
            {
                PushLog.NotQueued(logger, alert.EventId, options.Value.MessageTimeToLive);
                return;
            }

            await Task.Delay(StoreBackoff.After(attempt), time, stoppingToken);
        }
    }

    /// <summary>The number of recipients queued, -1 when a node queued the event before, null when Redis did not answer.</summary>
    private async Task<long?> QueueAsync(PushAlert alert)
    {
        try
        {
            var queued = (long)await (await store.GetDatabaseAsync()).ScriptEvaluateAsync(
                Enqueue,
                [names.PushQueued(alert.EventId), names.PushAlerts, names.PushTopic(alert.Topic), names.PushRecipients(alert.EventId)],
                [LiveNewsJson.Serialize(alert), time.GetUtcNow().ToUnixTimeMilliseconds(), (long)QueuedFor.TotalMilliseconds]);
            if (queued >= 0)
            {
                PushLog.Queued(logger, alert.EventId, alert.Type, queued, alert.Topic);
            }

            return queued;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            PushLog.LoopFailed(logger, ex);
            return null;
        }
    }

    // Readers of breaking are served by the relay; until Redis answers, keep asking.
    private async Task ServeAsync(CancellationToken stoppingToken)
    {
        while (true)
        {
            try
            {
                await relay.ServeAsync(Topic.Breaking);
                return;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                PushLog.LoopFailed(logger, ex);
                await Task.Delay(TimeSpan.FromSeconds(1), time, stoppingToken);
            }
        }
    }

    /// <summary>The alert event a push carries; null for any other event, and for one it cannot read (it is not pushed).</summary>
    internal static PushAlert? Read(TopicPush push)
    {
        using var document = Parse(push.Envelope.Utf8);
        if (document is null)
        {
            return null;
        }

        var envelope = document.RootElement;
        var type = Text(envelope, "type");
        if (type is not ("breaking.published" or "breaking.updated" or "breaking.retracted")
            || !envelope.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Object
            || (data.TryGetProperty("removed", out var removed) && removed.ValueKind == JsonValueKind.True)
            || Text(data, "id") is not { } alertId || Text(envelope, "id") is not { } eventId
            || !envelope.TryGetProperty("at", out var at) || !at.TryGetDateTimeOffset(out var published)
            || !envelope.TryGetProperty("seq", out var seqValue) || !seqValue.TryGetInt64(out var seq))
        {
            return null;
        }

        var retracted = type == "breaking.retracted";
        return new PushAlert(eventId, push.Topic, type, alertId, retracted ? null : Text(data, "headline"), retracted ? null : Text(data, "url"), published,
            Text(envelope, "epoch"), seq);
    }

    private static JsonDocument? Parse(byte[] utf8)
    {
        try
        {
            return JsonDocument.Parse(utf8);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
