using System.Threading.Channels;
using LiveNews.Server.Operations;
using LiveNews.Server.Store;
using StackExchange.Redis;

namespace LiveNews.Server.Bus;

/// <summary>
/// Relays every topic this node serves from Redis pub/sub to its clients, in seq order, once. Pub/sub is
/// fire-and-forget, so the relay remembers the last seq it passed on per topic: a jump, or a Redis
/// connection coming back, makes it fill the gap from history before relaying anything newer.
/// All state is owned by one loop, which is what keeps per-topic order without locks.
/// </summary>
internal sealed class EventRelay(
    RedisStore store,
    RedisNames names,
    EventBus bus,
    IEventSink sink,
    TimeProvider time,
    LiveNewsMetrics metrics,
    ILogger<EventRelay> logger) : BackgroundService
{
    private static readonly TimeSpan SecondCatchUpDelay = TimeSpan.FromSeconds(1);

    private readonly Channel<Command> _commands = Channel.CreateUnbounded<Command>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Dictionary<string, Cursor> _served = new(StringComparer.Ordinal);
    private volatile bool _subscribed;

    /// <summary>True once the pattern subscription is in place and its connection is up.</summary>
    public bool IsRelaying => _subscribed && store.Connection.IsConnected;

    /// <summary>Starts relaying <paramref name="topic"/> (counted: call <see cref="Release"/> once per call).</summary>
    public Task ServeAsync(Topic topic)
    {
        var serve = new Serve(topic, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        _commands.Writer.TryWrite(serve);
        return serve.Done.Task;
    }

    public void Release(Topic topic) => _commands.Writer.TryWrite(new ReleaseTopic(topic));

    /// <summary>Reads every served topic's head and relays what this node missed.</summary>
    public void CatchUp() => _commands.Writer.TryWrite(new CatchUpAll());

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var subscriber = store.Connection.GetSubscriber();
        var queue = await subscriber.SubscribeAsync(names.AllEvents);
        _subscribed = true;
        BusLog.Subscribed(logger, names.AllEvents.ToString());
        store.Connection.ConnectionRestored += OnConnectionRestored;
        using var pump = Task.Run(() => PumpAsync(queue, stoppingToken), CancellationToken.None);
        try
        {
            await foreach (var command in _commands.Reader.ReadAllAsync(stoppingToken))
            {
                await RunAsync(command);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            store.Connection.ConnectionRestored -= OnConnectionRestored;
            await queue.UnsubscribeAsync();
        }
    }

    private async Task PumpAsync(ChannelMessageQueue queue, CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var message in queue.WithCancellation(stoppingToken))
            {
                _commands.Writer.TryWrite(new Delivery((string?)message.Channel ?? "", (byte[])message.Message!));
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (ChannelClosedException)
        {
        }
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType != ConnectionType.Subscription)
        {
            return;
        }

        // Once now, and once after the pattern subscription is surely back, for an event published in between.
        CatchUp();
        _ = Task.Delay(SecondCatchUpDelay, time).ContinueWith(_ => CatchUp(), TaskScheduler.Default);
    }

    private async Task RunAsync(Command command)
    {
        switch (command)
        {
            case Delivery delivery:
                await RelayAsync(delivery);
                break;
            case Serve serve:
                await StartServingAsync(serve);
                break;
            case ReleaseTopic release:
                if (_served.TryGetValue(release.Topic.Name, out var cursor) && --cursor.References == 0)
                {
                    _served.Remove(release.Topic.Name);
                }

                break;
            case CatchUpAll:
                BusLog.CatchingUp(logger, _served.Count);
                foreach (var served in _served.Values.ToArray())
                {
                    await FillAsync(served);
                }

                break;
        }
    }

    private async Task StartServingAsync(Serve serve)
    {
        if (_served.TryGetValue(serve.Topic.Name, out var cursor))
        {
            cursor.References++;
            serve.Done.SetResult();
            return;
        }

        try
        {
            var head = await bus.ReadAsync(serve.Topic, afterSeq: null, withSnapshot: false);
            _served[serve.Topic.Name] = new Cursor(serve.Topic, head.Epoch, head.Seq);
            serve.Done.SetResult();
        }
        catch (Exception ex)
        {
            serve.Done.SetException(ex);
        }
    }

    private async Task RelayAsync(Delivery delivery)
    {
        if (!EnvelopeHeader.TryRead(delivery.Envelope, out var header))
        {
            BusLog.NotAnEnvelope(logger, delivery.Channel);
            return;
        }

        if (!_served.TryGetValue(header.Topic, out var cursor))
        {
            return; // No client of this node listens; the snapshot covers whoever subscribes next.
        }

        if (header.Epoch != cursor.Epoch && cursor.LastSeq == 0 && header.Seq == 1)
        {
            // The topic's first event: its history starts here, with the epoch it got with it.
            cursor.Epoch = header.Epoch;
        }

        if (header.Epoch != cursor.Epoch)
        {
            // Redis lost the topic's history: pass the new epoch on so clients start over.
            BusLog.EpochChanged(logger, header.Topic, cursor.Epoch, header.Epoch);
            await FillAsync(cursor);
            return;
        }

        if (header.Seq <= cursor.LastSeq)
        {
            return; // Already relayed while filling a gap.
        }

        if (header.Seq > cursor.LastSeq + 1)
        {
            await FillAsync(cursor);
            return;
        }

        await DeliverAsync(cursor, header, new RawJson(delivery.Envelope));
    }

    /// <summary>Relays, in order, every event after the cursor that history holds.</summary>
    private async Task FillAsync(Cursor cursor)
    {
        try
        {
            var read = await bus.ReadAsync(cursor.Topic, cursor.LastSeq, withSnapshot: false);
            if (read.Epoch != cursor.Epoch)
            {
                cursor.Epoch = read.Epoch;
                cursor.LastSeq = 0;
                read = await bus.ReadAsync(cursor.Topic, 0, withSnapshot: false);
            }

            if (!read.HistoryFound)
            {
                BusLog.GapBeyondHistory(logger, cursor.Topic.Name, cursor.LastSeq, read.Seq);
                cursor.LastSeq = read.Seq;
                return;
            }

            var afterSeq = cursor.LastSeq;
            foreach (var envelope in read.Events)
            {
                if (EnvelopeHeader.TryRead(envelope.Utf8, out var header) && header.Seq > cursor.LastSeq)
                {
                    await DeliverAsync(cursor, header, envelope);
                }
            }

            if (read.Events.Count > 0)
            {
                BusLog.GapFilled(logger, cursor.Topic.Name, read.Events.Count, afterSeq);
                metrics.GapFilled(read.Events.Count);
            }
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            BusLog.RelayFailed(logger, cursor.Topic.Name, ex);
        }
    }

    private async Task DeliverAsync(Cursor cursor, EnvelopeHeader header, RawJson envelope)
    {
        cursor.LastSeq = header.Seq;
        metrics.Relayed(header.At, time.GetUtcNow());
        try
        {
            // Measured: awaiting each group send is as fast as overlapping them (bench/RESULTS.md), and simpler.
            await sink.DeliverAsync(cursor.Topic.Name, envelope);
        }
        catch (Exception ex)
        {
            BusLog.DeliveryFailed(logger, cursor.Topic.Name, ex);
        }
    }

    public override void Dispose()
    {
        _commands.Writer.TryComplete();
        base.Dispose();
    }

    private sealed class Cursor(Topic topic, string epoch, long lastSeq)
    {
        public Topic Topic { get; } = topic;

        public string Epoch { get; set; } = epoch;

        public long LastSeq { get; set; } = lastSeq;

        public int References { get; set; } = 1;
    }

    private abstract record Command;

    private sealed record Delivery(string Channel, byte[] Envelope) : Command;

    private sealed record Serve(Topic Topic, TaskCompletionSource Done) : Command;

    private sealed record ReleaseTopic(Topic Topic) : Command;

    private sealed record CatchUpAll : Command;
}
