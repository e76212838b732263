using System.Collections.Concurrent;
using LiveNews.Server.Bus;
using LiveNews.Server.Operations;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

namespace LiveNews.Server.Realtime;

/// <summary>
/// Which readers of this node (hub connections, other streams) follow which topic, and the push of relayed
/// events to them. Replaces SignalR groups for topics: a group send completes when the slowest
/// connection's write does, which let one reader that stopped reading hold up every topic. Here a push
/// only queues into each reader's buffer (<see cref="ConnectionOutbox"/> for hub connections), framed once
/// per transport and protocol for all of them.
/// </summary>
internal sealed class Subscribers(IOptions<RealtimeOptions> options, LiveNewsMetrics metrics, ILogger<Subscribers> logger) : IEventSink
{
    /// <summary>Readers a push of events is queued to before the fan-out may yield the thread (<see cref="DeliverAsync"/>).</summary>
    internal const int FanOutBatch = 256;

    /// <summary>Readers a push that can wait is queued to before it yields the thread (<see cref="PushPacedAsync"/>).</summary>
    internal const int PacedBatch = 128;

    // Several events handed over together never hurry (DeliverAsync).
    private static readonly Func<bool> Never = static () => false;

    private readonly ConcurrentDictionary<string, ITopicReader> _readers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TopicMembers> _topics = new(StringComparer.Ordinal);

    // Joins and leaves change the topic map together with a topic's members; pushes only read.
    private readonly Lock _membership = new();

    // Readers (by id: a closed connection is not kept) who joined a topic with viewer counts since the counts
    // last took them (TakeNewViewers).
    private readonly ConcurrentQueue<(string Topic, string ReaderId)> _newViewers = new();

    /// <summary>Called by the lifetime manager when a hub connection opens.</summary>
    public void Connected(HubConnectionContext connection) =>
        Register(new ConnectionOutbox(connection, options.Value.MaxBufferedBytesPerConnection, Overflowed));

    /// <summary>A reader of another transport; it joins topics by its <see cref="ITopicReader.Id"/>.</summary>
    public void Register(ITopicReader reader) => _readers[reader.Id] = reader;

    /// <summary>The reader with that id, while it is connected.</summary>
    public ITopicReader? Reader(string readerId) => _readers.GetValueOrDefault(readerId);

    /// <summary>A reader is gone (a hub connection closed): nothing more is sent to it, it leaves every topic.</summary>
    public void Disconnected(string readerId)
    {
        if (!_readers.TryRemove(readerId, out var outbox))
        {
            return;
        }

        outbox.Close();
        lock (_membership)
        {
            foreach (var topic in outbox.Topics)
            {
                if (_topics.TryGetValue(topic, out var members) && members.Remove(outbox))
                {
                    _topics.TryRemove(topic, out _);
                }
            }

            outbox.Topics.Clear();
        }
    }

    /// <summary>
    /// From now on, events of <paramref name="topic"/> relayed by this node reach the connection, except those up
    /// to <paramref name="answeredThrough"/>: where the relay is behind (<see cref="EventRelay.Behind"/>), the
    /// reader's answer is read after them and holds them, a takedown since included. Pushed again, a story pulled
    /// before the reader subscribed would reach its socket, text and all, though the client drops it as seen.
    /// </summary>
    public void Join(string readerId, Topic topic, TopicPosition? answeredThrough = null)
    {
        lock (_membership)
        {
            // Looked up under the lock: a reader Disconnected already removed is not found; one it removes after
            // this has its topics, this join included, cleared by it.
            if (!_readers.TryGetValue(readerId, out var outbox))
            {
                return;
            }

            _topics.GetOrAdd(topic.Name, _ => new TopicMembers()).Add(outbox, answeredThrough);
            outbox.Topics.Add(topic.Name);
        }

        if (ViewerCounts.Counts(topic))
        {
            _newViewers.Enqueue((topic.Name, readerId));
        }
    }

    /// <summary>
    /// The joins of topics with viewer counts since the last call, once per join: a count that did not change is
    /// pushed to those readers alone (<see cref="ViewerCounts"/>).
    /// </summary>
    public IEnumerable<(string Topic, string ReaderId)> TakeNewViewers()
    {
        while (_newViewers.TryDequeue(out var joined))
        {
            yield return joined;
        }
    }

    /// <summary>The reader with that id, while it is connected and follows the topic.</summary>
    public ITopicReader? Follower(string readerId, string topic)
    {
        if (Reader(readerId) is not { } reader)
        {
            return null;
        }

        lock (_membership)
        {
            return reader.Topics.Contains(topic) ? reader : null;
        }
    }

    public void Leave(string readerId, Topic topic)
    {
        if (!_readers.TryGetValue(readerId, out var outbox))
        {
            return;
        }

        lock (_membership)
        {
            outbox.Topics.Remove(topic.Name);
            if (_topics.TryGetValue(topic.Name, out var members) && members.Remove(outbox))
            {
                _topics.TryRemove(topic.Name, out _);
            }
        }
    }

    /// <summary>
    /// Queues the events for every reader of the topic on this node, serialized once per protocol. To more than
    /// <see cref="FanOutBatch"/> readers, the thread is yielded after each batch and the returned task completes
    /// once the last reader has them; the relay awaits it before it hands over the topic's next events. A fan-out
    /// of one event stops yielding once the next event waits (<paramref name="eventsWaiting"/>).
    /// </summary>
    /// <remarks>
    /// A push queued to a hub WebSocket is written at once into Kestrel's output pipe for the socket; the send
    /// to the socket runs later, on the thread pool, queued behind this loop. Without a break, the first
    /// reader's event left only once the last reader's was queued. Yielding puts the loop behind the sends
    /// queued so far (the thread pool's global queue is first in, first out), so sends go out while the
    /// fan-out goes on, as in a server that writes each socket in turn. Measured (pinned, Socket.IO in the same
    /// runs, bench/runs/2026-12-07-fan-out-yields.md): paced p50 closer to Socket.IO's, and bursts faster,
    /// because events that reach the relay during a paced fan-out are handed over together.
    /// The readers are those of the topic when the fan-out began: one that leaves the topic (or whose relay is
    /// released) while it is between batches still gets that push. The clients drop a seq they already have
    /// and events of a topic they left, as they did when the window was shorter.
    /// <para>
    /// The relay waits for the last batch, so a fan-out that yields on while the next event waits delays that
    /// event's whole fan-out: at 5,000 readers × 10 events/s, about what one core sends, p99 was 1.66x
    /// Socket.IO's with yields always, 1.15x with this rule (medians of three alternated rounds). So a fan-out
    /// of one event hurries once the next one waits: it queues to the readers left without a break (their
    /// sends wait behind it, as before the yields) and the next event follows at once. Several events handed
    /// over together (a burst) keep yielding: while they go out, more gather, to go to each reader as one
    /// message. Measured in bench/runs/2026-12-07-fan-out-yields.md. While every hand-over finds exactly one
    /// more event waiting, the relay's loop runs on without awaiting anything incomplete; the sends queued
    /// behind it run on other thread-pool threads, which the OS time-slices with it.
    /// </para>
    /// </remarks>
    public ValueTask DeliverAsync(string topic, IReadOnlyList<RawJson> envelopes, Func<bool> eventsWaiting)
    {
        var readers = Members(topic, out var members);
        if (members is { HasAnswered: true })
        {
            readers = PushAfterAnswers(topic, members, readers, envelopes);
        }

        return envelopes.Count == 1
            ? FanOutAsync(readers, new TopicPush(topic, envelopes[0]), static (reader, push) => reader.Push(push), eventsWaiting)
            : FanOutAsync(readers, new TopicPushes([.. envelopes.Select(envelope => new TopicPush(topic, envelope))]), static (reader, pushes) => reader.Push(pushes), Never);
    }

    /// <summary>
    /// Queues pushes that can wait (<c>viewers</c>), each for every reader of its topic on this node, yielding
    /// the thread every <see cref="PacedBatch"/> readers over all of them (many small topics are paced too).
    /// </summary>
    /// <remarks>
    /// A push queued to a hub connection is written at once, in this loop, into the connection's output pipe
    /// (for a WebSocket Kestrel's, through <see cref="HubSocket"/>; otherwise SignalR's), in a block of the
    /// memory pool that stays rented until the pipe's reader, a send loop that runs later on the thread pool,
    /// has sent it. Queued to 10,000 readers without a break, all of them hold blocks at the same time, and the
    /// pool keeps them: with viewer counts pushed every 2 s, an idle reader cost ~11 KB more
    /// (bench/runs/2026-12-06-fan-out-batches.md). Yielding mostly puts the loop behind the transports
    /// queued so far (the thread pool's global queue is first in, first out), so most of them send and give
    /// their blocks back before the next batch; the bench showed ~5 of those 11 KB saved (measured while pushes
    /// still went through SignalR's pipe, before <see cref="HubSocket"/>).
    /// </remarks>
    public Task PushPacedAsync(IEnumerable<TopicPush> pushes) =>
        PushPacedAsync(pushes.SelectMany(push => Members(push.Topic).Select(reader => (reader, push))));

    /// <summary>Queues each push to its one reader, yielding the thread every <see cref="PacedBatch"/> of them.</summary>
    public async Task PushPacedAsync(IEnumerable<(ITopicReader Reader, TopicPush Push)> pushes)
    {
        var sinceYield = 0;
        foreach (var (reader, push) in pushes)
        {
            if (sinceYield == PacedBatch)
            {
                await Task.Yield();
                sinceYield = 0;
            }

            PushTo(reader, push, static (reader, push) => reader.Push(push));
            sinceYield++;
        }
    }

    private ValueTask FanOutAsync<TPush>(ITopicReader[] readers, TPush push, Action<ITopicReader, TPush> queue, Func<bool> hurry)
    {
        if (readers.Length > FanOutBatch)
        {
            return FanOutInBatchesAsync(readers, push, queue, hurry);
        }

        foreach (var reader in readers)
        {
            PushTo(reader, push, queue);
        }

        return default;
    }

    // Batches of even size, none larger than FanOutBatch: 257 readers go as 129 and 128, not 256 and 1. No
    // yield while hurry says so.
    private async ValueTask FanOutInBatchesAsync<TPush>(ITopicReader[] readers, TPush push, Action<ITopicReader, TPush> queue, Func<bool> hurry)
    {
        var batches = (readers.Length + FanOutBatch - 1) / FanOutBatch;
        var batch = (readers.Length + batches - 1) / batches;
        for (var i = 0; i < readers.Length; i++)
        {
            if (i > 0 && i % batch == 0 && !hurry())
            {
                await Task.Yield();
            }

            PushTo(readers[i], push, queue);
        }
    }

    // A push only queues, so a failure is a bug; it must not keep the push from the readers after this one, nor
    // stop the relay or the viewer counts that pushed it.
    private void PushTo<TPush>(ITopicReader reader, TPush push, Action<ITopicReader, TPush> queue)
    {
        try
        {
            queue(reader, push);
        }
        catch (Exception ex)
        {
            RealtimeLog.PushFailed(logger, reader.Id, ex);
        }
    }

    private ITopicReader[] Members(string topic) => Members(topic, out _);

    private ITopicReader[] Members(string topic, out TopicMembers? members) => _topics.TryGetValue(topic, out members) ? members.Snapshot() : [];

    // Readers who joined while the relay was behind get only the events after what their answer held (one push
    // each: rare, and never a hand-over's shared message); the readers left get every event, as usual.
    private ITopicReader[] PushAfterAnswers(string topic, TopicMembers members, ITopicReader[] readers, IReadOnlyList<RawJson> envelopes)
    {
        if (!EnvelopeHeader.TryRead(envelopes[0].Utf8, out var first) || !EnvelopeHeader.TryRead(envelopes[^1].Utf8, out var last))
        {
            return readers;
        }

        var answered = members.TakeAnswered(first.Epoch, first.Seq, last.Seq);
        if (answered.Count == 0)
        {
            return readers;
        }

        foreach (var (reader, through) in answered)
        {
            foreach (var envelope in envelopes)
            {
                if (EnvelopeHeader.TryRead(envelope.Utf8, out var header) && header.Seq > through)
                {
                    PushTo(reader, new TopicPush(topic, envelope), static (reader, push) => reader.Push(push));
                }
            }
        }

        return [.. readers.Where(reader => !answered.ContainsKey(reader))];
    }

    /// <summary>Readers of each topic on this node right now.</summary>
    public IReadOnlyDictionary<string, int> Counts()
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (topic, members) in _topics)
        {
            counts[topic] = members.Count;
        }

        return counts;
    }

    /// <summary>Tells that a reader was cut off for not reading its pushes (any transport).</summary>
    public void Overflowed(ITopicReader reader, long bytes)
    {
        metrics.SlowReaderDisconnected();
        RealtimeLog.SlowReader(logger, reader.Id, bytes);
    }

    /// <summary>The connections of one topic; the array pushes iterate is rebuilt only after a change.</summary>
    private sealed class TopicMembers
    {
        private readonly HashSet<ITopicReader> _members = [];
        private ITopicReader[]? _snapshot = [];

        public int Count
        {
            get
            {
                lock (_members)
                {
                    return _members.Count;
                }
            }
        }

        // Readers that joined while the relay was behind, and the position their answer holds (Join); kept until
        // the relay's hand-overs pass it.
        private Dictionary<ITopicReader, TopicPosition>? _answered;
        private volatile bool _hasAnswered;

        public bool HasAnswered => _hasAnswered;

        public void Add(ITopicReader outbox, TopicPosition? answeredThrough)
        {
            lock (_members)
            {
                if (_members.Add(outbox))
                {
                    _snapshot = null;
                }

                if (answeredThrough is { } answered)
                {
                    (_answered ??= [])[outbox] = answered;
                    _hasAnswered = true;
                }
            }
        }

        /// <summary>Removes the connection; true when the topic has no connection left.</summary>
        public bool Remove(ITopicReader outbox)
        {
            lock (_members)
            {
                if (_members.Remove(outbox))
                {
                    _snapshot = null;
                }

                if (_answered?.Remove(outbox) == true)
                {
                    _hasAnswered = _answered.Count > 0;
                }

                return _members.Count == 0;
            }
        }

        /// <summary>
        /// The readers whose answer holds some of the events <paramref name="firstSeq"/>-<paramref name="lastSeq"/>
        /// of <paramref name="epoch"/>, with the seq it holds them through; forgets those these events reach or pass,
        /// and those of another epoch (their clients start over from a snapshot anyway).
        /// </summary>
        public Dictionary<ITopicReader, long> TakeAnswered(string epoch, long firstSeq, long lastSeq)
        {
            var holding = new Dictionary<ITopicReader, long>();
            lock (_members)
            {
                foreach (var (reader, answered) in _answered!)
                {
                    if (answered.Epoch == epoch && answered.Seq >= firstSeq)
                    {
                        holding[reader] = answered.Seq;
                    }

                    if (answered.Epoch != epoch || answered.Seq <= lastSeq)
                    {
                        _answered.Remove(reader);
                    }
                }

                _hasAnswered = _answered.Count > 0;
            }

            return holding;
        }

        public ITopicReader[] Snapshot()
        {
            lock (_members)
            {
                return _snapshot ??= [.. _members];
            }
        }
    }
}
