using System.Threading.Channels;
using LiveNews.Server.Operations;
using LiveNews.Server.Store;
using StackExchange.Redis;

namespace LiveNews.Server.Bus;

/// <summary>
/// Relays every topic this node serves from Redis pub/sub to its clients, in seq order, once. Pub/sub is
/// fire-and-forget, so the relay remembers the last seq it passed on per topic: a jump, or a Redis
/// connection coming back, makes it fill the gap from history before relaying anything newer.
/// Each served topic has its own loop that owns its cursor: a slow history read of one topic delays only
/// that topic, and handing an event to the sink never waits for a socket. Events that reach a topic's loop
/// while it hands over the ones before are handed over together (a burst), so readers get them in one send.
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
    private readonly EventBus _bus = bus;
    private readonly IEventSink _sink = sink;
    private readonly TimeProvider _time = time;
    private readonly LiveNewsMetrics _metrics = metrics;
    private readonly ILogger<EventRelay> _logger = logger;

    private static readonly TimeSpan SecondCatchUpDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxSubscribeBackoff = TimeSpan.FromSeconds(5);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, TopicRelay> _served = new(StringComparer.Ordinal);
    private volatile bool _subscribed;

    /// <summary>True once the pattern subscription is in place and its connection is up.</summary>
    public bool IsRelaying => _subscribed && store.IsConnected;

    /// <summary>
    /// Starts relaying <paramref name="topic"/>, or counts one more reader of it. Succeeds once the topic's
    /// head is known; the caller then holds one reference (call <see cref="Release"/> once). When it fails
    /// (the store is away), the caller holds none and nothing changed.
    /// </summary>
    public async Task ServeAsync(Topic topic)
    {
        TopicRelay relay;
        lock (_gate)
        {
            if (!_served.TryGetValue(topic.Name, out relay!))
            {
                relay = new TopicRelay(this, topic);
                _served.Add(topic.Name, relay);
                relay.Start();
            }

            relay.References++;
        }

        try
        {
            await relay.Ready;
        }
        catch
        {
            Release(relay);
            throw;
        }
    }

    public void Release(Topic topic)
    {
        lock (_gate)
        {
            if (_served.TryGetValue(topic.Name, out var relay))
            {
                ReleaseLocked(relay);
            }
        }
    }

    /// <summary>Readers of this node counted per served topic (for tests and diagnostics).</summary>
    internal int ReferencesOf(Topic topic)
    {
        lock (_gate)
        {
            return _served.TryGetValue(topic.Name, out var relay) ? relay.References : 0;
        }
    }

    /// <summary>
    /// True when this node serves <paramref name="topic"/> and something was ever published on it (its
    /// epoch is known): viewers are counted only for topics that exist, so made-up names leave no trace.
    /// </summary>
    public bool IsPublished(string topic)
    {
        lock (_gate)
        {
            return _served.TryGetValue(topic, out var relay) && relay.Epoch.Length > 0;
        }
    }

    /// <summary>
    /// How far the topic's relay has handed its events over to the sink: it began after that position, or its
    /// hand-over through it has returned. No event up to it reaches the sink from this node again (a stopped
    /// relay hands nothing over). Null while the topic is not served, or its head is not read yet.
    /// </summary>
    public TopicPosition? HandedOver(Topic topic)
    {
        lock (_gate)
        {
            return _served.TryGetValue(topic.Name, out var relay) && relay.HandedOver is { } handedOver
                ? new TopicPosition(handedOver.Epoch, handedOver.Seq)
                : null;
        }
    }

    /// <summary>Events of the topic that reached this node and wait for its relay loop (for tests).</summary>
    internal int Waiting(string topic)
    {
        lock (_gate)
        {
            return _served.TryGetValue(topic, out var relay) ? relay.Waiting : 0;
        }
    }

    /// <summary>Reads every served topic's head and relays what this node missed.</summary>
    public void CatchUp()
    {
        TopicRelay[] relays;
        lock (_gate)
        {
            relays = [.. _served.Values];
        }

        BusLog.CatchingUp(_logger, relays.Length);
        foreach (var relay in relays)
        {
            relay.Post(default);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var queue = await SubscribeUntilDoneAsync(stoppingToken);
        if (queue is null)
        {
            return;
        }

        store.Connection.ConnectionRestored += OnConnectionRestored;
        try
        {
            await foreach (var message in queue.WithCancellation(stoppingToken))
            {
                Dispatch(message);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (ChannelClosedException)
        {
        }
        finally
        {
            store.Connection.ConnectionRestored -= OnConnectionRestored;
            _subscribed = false;
            await queue.UnsubscribeAsync();
        }
    }

    // A node started while Redis is away still starts: it reports not ready and subscribes once Redis is there.
    private async Task<ChannelMessageQueue?> SubscribeUntilDoneAsync(CancellationToken stoppingToken)
    {
        var backoff = TimeSpan.FromMilliseconds(100);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var connection = await store.ConnectAsync(stoppingToken);
                var queue = await connection.GetSubscriber().SubscribeAsync(names.AllEvents);
                _subscribed = true;
                BusLog.Subscribed(_logger, names.AllEvents.ToString());

                // Events published while this node was not subscribed reach its topics from history.
                CatchUp();
                return queue;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                BusLog.SubscribeFailed(_logger, backoff, ex);
            }

            try
            {
                await Task.Delay(backoff, _time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return null;
            }

            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxSubscribeBackoff.Ticks));
        }

        return null;
    }

    private void Dispatch(ChannelMessage message)
    {
        var envelope = (byte[])message.Message!;
        if (!EnvelopeHeader.TryRead(envelope, out var header))
        {
            BusLog.NotAnEnvelope(_logger, message.Channel.ToString());
            return;
        }

        // Every node hears every topic: what it heard goes with its next publish of the topic (EventBus.Saw).
        _bus.Saw(header.Topic, header.Epoch, header.Seq);
        TopicRelay? relay;
        lock (_gate)
        {
            _served.TryGetValue(header.Topic, out relay);
        }

        // No client of this node listens when there is no relay; the snapshot covers whoever subscribes next.
        relay?.Post(new Pending(header, envelope));
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType != ConnectionType.Subscription)
        {
            return;
        }

        // Once now, and once after the pattern subscription is surely back, for an event published in between.
        CatchUp();
        _ = Task.Delay(SecondCatchUpDelay, _time).ContinueWith(_ => CatchUp(), TaskScheduler.Default);
    }

    private void Release(TopicRelay relay)
    {
        lock (_gate)
        {
            ReleaseLocked(relay);
        }
    }

    private void ReleaseLocked(TopicRelay relay)
    {
        if (--relay.References > 0)
        {
            return;
        }

        if (_served.TryGetValue(relay.Topic.Name, out var current) && current == relay)
        {
            _served.Remove(relay.Topic.Name);
        }

        relay.Stop();
    }

    private void Forget(TopicRelay relay)
    {
        lock (_gate)
        {
            if (_served.TryGetValue(relay.Topic.Name, out var current) && current == relay)
            {
                _served.Remove(relay.Topic.Name);
            }
        }
    }

    public override void Dispose()
    {
        lock (_gate)
        {
            foreach (var relay in _served.Values)
            {
                relay.Stop();
            }

            _served.Clear();
        }

        base.Dispose();
    }

    /// <summary>An event to relay, or (no envelope) a request to catch up from history.</summary>
    private readonly record struct Pending(EnvelopeHeader Header, byte[]? Envelope);

    // A reference, so a subscribe reads it whole while the relay's loop replaces it.
    private sealed record Position(string Epoch, long Seq);

    /// <summary>One served topic: its cursor, and the loop that alone moves it.</summary>
    private sealed class TopicRelay(EventRelay owner, Topic topic)
    {
        // At most this many events, and no more than this many bytes (unless one event is larger), are handed
        // to the sink at once.
        private const int MaxHandOver = 64;
        private const int MaxHandOverBytes = 64 * 1024;

        // Only this topic's loop reads it; not declared single-reader, so it can say how much waits (Waiting).
        private readonly Channel<Pending> _inbox = Channel.CreateUnbounded<Pending>();
        private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly List<RawJson> _relayed = [];
        private volatile string _epoch = "";
        private long _lastSeq;

        // Where the hand-overs done so far reached.
        private volatile Position? _handedOver;
        private volatile bool _stopped;

        // The ids of the last events relayed, by seq: pub/sub brings again what a gap fill relayed, and a
        // catch-up checks that Redis still holds the event at the cursor. Another id at a seq relayed means
        // Redis came back with less than it had and handed the seq out again.
        private readonly RecentIds _recent = new();
        private int _relayedBytes;
        private Func<bool>? _eventsWaiting;
        private int _failedCatchUps;

        public Topic Topic { get; } = topic;

        /// <summary>The history being relayed; empty until something is published on the topic.</summary>
        public string Epoch => _epoch;

        /// <summary>Readers counted by the owner, under its lock.</summary>
        public int References { get; set; }

        /// <summary>Completes once the topic's head is known; faults when it could not be read.</summary>
        public Task Ready => _ready.Task;

        public void Start() => _ = RunAsync();

        public int Waiting => _inbox.Reader.Count;

        public Position? HandedOver => _handedOver;

        public void Post(Pending pending)
        {
            _inbox.Writer.TryWrite(pending);
        }

        // A released relay's loop may still be reading or handing over while a new one serves the topic; what it
        // would hand over then is older than the new relay's start, and may hold text deleted since.
        public void Stop()
        {
            _stopped = true;
            _inbox.Writer.TryComplete();
        }

        private async Task RunAsync()
        {
            try
            {
                var head = await owner._bus.ReadAsync(Topic, afterSeq: null, withSnapshot: false);
                (_epoch, _lastSeq) = (head.Epoch, head.Seq);
                _handedOver = new Position(head.Epoch, head.Seq);
            }
            catch (Exception ex)
            {
                // Let the next reader start afresh; the ones waiting now fail and hold no reference.
                owner.Forget(this);
                Stop();
                _ready.SetException(ex);
                return;
            }

            _ready.SetResult();
            await RememberAtCursorAsync();
            while (await _inbox.Reader.WaitToReadAsync())
            {
                // What arrived while the previous events were handed over goes to the sink together.
                while (_inbox.Reader.TryRead(out var pending))
                {
                    try
                    {
                        if (pending.Envelope is null)
                        {
                            await FillAsync(checkRelayed: true);
                            _failedCatchUps = 0;
                        }
                        else
                        {
                            await RelayAsync(pending.Header, pending.Envelope);
                        }
                    }
                    catch (Exception ex)
                    {
                        // The cursor stays where it was: the next event or the catch-up tried again fills from
                        // history, and finds a seq Redis handed out again among the ones relayed.
                        BusLog.RelayFailed(owner._logger, Topic.Name, ex);
                        RetryCatchUp();
                    }
                }

                await HandOverAsync();
            }
        }

        // A catch-up that failed (Redis slow or away just after a reconnect) is tried again 1, 2, 4 … 30 s later
        // until one gets through; without it, what this node missed reached its readers only with the topic's
        // next event. A stopped relay takes no more posts, which ends the retries.
        private void RetryCatchUp()
        {
            _ = Task.Delay(StoreBackoff.After(_failedCatchUps++), owner._time).ContinueWith(_ => Post(default), TaskScheduler.Default);
        }

        private async Task RelayAsync(EnvelopeHeader header, byte[] envelope)
        {
            if (header.Epoch != _epoch && _lastSeq == 0 && header.Seq == 1)
            {
                // The topic's first event: its history starts here, with the epoch it got with it.
                _epoch = header.Epoch;
            }

            if (header.Epoch != _epoch)
            {
                // Redis lost the topic's history: pass the new epoch on so clients start over.
                BusLog.EpochChanged(owner._logger, Topic.Name, _epoch, header.Epoch);
                await FillAsync();
                return;
            }

            if (header.Seq <= _lastSeq)
            {
                // Relayed already (filling a gap, or the same message twice), unless Redis came back with less
                // than it had and handed the seq out again: readers hold the first event of that seq and would
                // drop this one as seen, so the topic moves to a new epoch with its history (a fresh snapshot
                // for readers). Beyond the ids remembered, only a head behind the cursor tells.
                if (_recent.TryGet(header.Seq, out var relayed))
                {
                    if (relayed == header.IdHash)
                    {
                        return;
                    }

                    await RenewEpochAsync(long.MaxValue, header.Seq);
                    await FillAsync();
                }
                else if (await RenewEpochAsync(_lastSeq, header.Seq))
                {
                    await FillAsync();
                }

                return;
            }

            if (header.Seq > _lastSeq + 1)
            {
                await FillAsync();
                return;
            }

            await AddToHandOverAsync(header, new RawJson(envelope));
        }

        // A catch-up (after a reconnect) reads from the oldest seq remembered, not from the cursor: a node that
        // knew nothing of the topic may have published while this one was not subscribed, at seqs Redis handed
        // out again, up to the cursor or past it. The head then says nothing is wrong; the events at the seqs
        // relayed last do, being other ones. The same read fills what comes after the cursor.
        private async Task<TopicRead> ReadCheckingRelayedAsync()
        {
            var from = Math.Max(0, _lastSeq - Math.Min(RecentIds.Slots, owner._bus.HistoryLength));
            var read = await owner._bus.ReadAsync(Topic, from, withSnapshot: false);
            if (read.Epoch != _epoch)
            {
                return read; // The fill starts over in the new epoch.
            }

            if (!read.HistoryFound)
            {
                // History does not reach back that far: the fill reads from the cursor, as usual.
                return from == _lastSeq ? read : await owner._bus.ReadAsync(Topic, _lastSeq, withSnapshot: false);
            }

            foreach (var envelope in read.Events)
            {
                if (EnvelopeHeader.TryRead(envelope.Utf8, out var header) && header.Seq <= _lastSeq
                    && _recent.TryGet(header.Seq, out var relayed) && relayed != header.IdHash)
                {
                    await RenewEpochAsync(long.MaxValue, header.Seq);
                    return await owner._bus.ReadAsync(Topic, _lastSeq, withSnapshot: false);
                }
            }

            return read;
        }

        // The cursor moved without relaying (the relay started, or skipped a gap beyond history): the event at
        // it is remembered, so the same seq handed out again is told apart from it.
        private async Task RememberAtCursorAsync()
        {
            try
            {
                var read = _lastSeq > 0 ? await owner._bus.ReadAsync(Topic, _lastSeq - 1, withSnapshot: false) : null;
                if (read is { HistoryFound: true, Events.Count: > 0 } && read.Epoch == _epoch
                    && EnvelopeHeader.TryRead(read.Events[0].Utf8, out var header) && header.Seq == _lastSeq)
                {
                    _recent.Add(header.Seq, header.IdHash);
                }
            }
            catch (Exception ex)
            {
                BusLog.RelayFailed(owner._logger, Topic.Name, ex);
            }
        }

        // Moves the topic to a new epoch if Redis holds it behind seenSeq (long.MaxValue: in any case), and says so;
        // foundSeq is the seq that told (for the log).
        private async Task<bool> RenewEpochAsync(long seenSeq, long foundSeq)
        {
            if (!await owner._bus.RenewEpochAsync(Topic, _epoch, seenSeq))
            {
                return false;
            }

            BusLog.RedisWentBack(owner._logger, Topic.Name, _epoch, _lastSeq, foundSeq);
            return true;
        }

        /// <summary>Relays, in order, every event after the cursor that history holds.</summary>
        private async Task FillAsync(bool checkRelayed = false)
        {
            await HandOverAsync();
            var read = checkRelayed ? await ReadCheckingRelayedAsync() : await owner._bus.ReadAsync(Topic, _lastSeq, withSnapshot: false);
            if (read.Epoch == _epoch && read.Seq < _lastSeq)
            {
                // Redis came back with less than this node relayed (seen after a reconnect): its next seqs would
                // be ones readers hold already.
                await RenewEpochAsync(_lastSeq, read.Seq);
                read = await owner._bus.ReadAsync(Topic, _lastSeq, withSnapshot: false);
            }

            if (read.Epoch != _epoch)
            {
                if (_epoch.Length > 0)
                {
                    await StartOverAsync(read.Epoch, read.Seq);
                    return;
                }

                // The topic's first epoch: its whole history is new to readers, relayed as usual below.
                read = await owner._bus.ReadAsync(Topic, 0, withSnapshot: false);
                (_epoch, _lastSeq) = (read.Epoch, 0);
                _recent.Clear();
            }

            if (!read.HistoryFound)
            {
                BusLog.GapBeyondHistory(owner._logger, Topic.Name, _lastSeq, read.Seq);
                await StartOverAsync(read.Epoch, read.Seq);
                return;
            }

            var afterSeq = _lastSeq;
            var filled = await HandOverAfterCursorAsync(read.Events);
            if (filled > 0)
            {
                BusLog.GapFilled(owner._logger, Topic.Name, filled, afterSeq);
                owner._metrics.GapFilled(filled);
            }
        }

        // Readers hold positions this node cannot fill from (older than history holds, or of an epoch that
        // ended): the topic's newest event is all they get, and enough for every one of them to start over from
        // a snapshot. Without it they kept what they had until the topic's next publish (hours, on breaking); with
        // the whole new epoch's history, each was pushed up to Bus:HistoryLength events only to drop them. The
        // cursor moves only once the read is done: a read that fails leaves it for the retried catch-up.
        private async Task StartOverAsync(string epoch, long headSeq)
        {
            var newest = headSeq > 0 ? await owner._bus.ReadAsync(Topic, headSeq - 1, withSnapshot: false) : null;
            if (epoch != _epoch)
            {
                _recent.Clear();
            }

            _epoch = epoch;
            if (newest is { HistoryFound: true } && newest.Epoch == epoch)
            {
                _lastSeq = headSeq - 1;
                await HandOverAfterCursorAsync(newest.Events);
                return;
            }

            _lastSeq = headSeq;
            _handedOver = new Position(epoch, headSeq);
            await RememberAtCursorAsync();
        }

        // Relays the events after the cursor (a read may start before it), and says how many.
        private async Task<int> HandOverAfterCursorAsync(IReadOnlyList<RawJson> events)
        {
            var handedOver = 0;
            foreach (var envelope in events)
            {
                if (EnvelopeHeader.TryRead(envelope.Utf8, out var header) && header.Seq > _lastSeq)
                {
                    await AddToHandOverAsync(header, envelope);
                    handedOver++;
                }
            }

            await HandOverAsync();
            return handedOver;
        }

        // Relayed: the cursor moves now, the event reaches the sink with the others relayed in this round.
        private async ValueTask AddToHandOverAsync(EnvelopeHeader header, RawJson envelope)
        {
            if (_relayed.Count == MaxHandOver || _relayedBytes + envelope.Utf8.Length > MaxHandOverBytes)
            {
                await HandOverAsync();
            }

            _lastSeq = header.Seq;
            _recent.Add(header.Seq, header.IdHash);
            owner._metrics.Relayed(header.At, owner._time.GetUtcNow());
            _relayed.Add(envelope);
            _relayedBytes += envelope.Utf8.Length;
        }

        private async ValueTask HandOverAsync()
        {
            if (_relayed.Count == 0)
            {
                return;
            }

            RawJson[] envelopes = [.. _relayed];
            _relayed.Clear();
            _relayedBytes = 0;
            if (_stopped)
            {
                return;
            }

            try
            {
                // The cursor is the last event added: the hand-over reaches it.
                await owner._sink.DeliverAsync(Topic.Name, envelopes, new TopicPosition(_epoch, _lastSeq), _eventsWaiting ??= () => Waiting > 0);
                _handedOver = new Position(_epoch, _lastSeq);
            }
            catch (Exception ex)
            {
                BusLog.DeliveryFailed(owner._logger, Topic.Name, ex);
            }
        }
    }

    /// <summary>The id hashes of the last <see cref="Slots"/> seqs relayed; the slots are allocated with the first.</summary>
    private sealed class RecentIds
    {
        public const int Slots = 32;
        private (long Seq, int IdHash)[]? _slots;

        public void Add(long seq, int idHash) => (_slots ??= new (long, int)[Slots])[seq % Slots] = (seq, idHash);

        public bool TryGet(long seq, out int idHash)
        {
            idHash = 0;
            if (seq <= 0 || _slots?[seq % Slots] is not (var at, var hash) || at != seq)
            {
                return false;
            }

            idHash = hash;
            return true;
        }

        public void Clear()
        {
            if (_slots is not null)
            {
                Array.Clear(_slots);
            }
        }
    }
}
