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
    /// From now on, events of <paramref name="topic"/> relayed by this node reach the reader. With
    /// <paramref name="holdUntilAnswered"/>, the reader is answered from a read made after this join: what the
    /// relay hands over meanwhile is held until <see cref="Answered"/> says what that answer holds, and only the
    /// events after it reach the reader. An event handed over after the read may be older than the read (the
    /// relay was behind, or had not heard of it yet) and hold text deleted since (a takedown): pushed, it would
    /// reach the reader's socket, though the client drops it as seen.
    /// </summary>
    public void Join(string readerId, Topic topic, bool holdUntilAnswered = false)
    {
        lock (_membership)
        {
            // Looked up under the lock: a reader Disconnected already removed is not found; one it removes after
            // this has its topics, this join included, cleared by it.
            if (!_readers.TryGetValue(readerId, out var outbox))
            {
                return;
            }

            _topics.GetOrAdd(topic.Name, _ => new TopicMembers()).Add(outbox, holdUntilAnswered);
            outbox.Topics.Add(topic.Name);
        }

        if (ViewerCounts.Counts(topic))
        {
            _newViewers.Enqueue((topic.Name, readerId));
        }
    }

    /// <summary>
    /// The reader that joined <paramref name="topic"/> holding its hand-overs (<see cref="Join"/>) was answered
    /// through <paramref name="answer"/>: it is pushed what was held for it after that, and only the events after
    /// it until the relay's hand-overs pass it (<paramref name="handedOver"/>: where they reached, as
    /// <see cref="EventRelay.HandedOver"/> tells).
    /// </summary>
    public void Answered(string readerId, Topic topic, TopicPosition answer, TopicPosition? handedOver)
    {
        if (_readers.TryGetValue(readerId, out var reader) && _topics.TryGetValue(topic.Name, out var members))
        {
            while (members.TakeHeldOrRelease(reader, answer, handedOver) is { } held)
            {
                PushAfter(topic.Name, reader, answer, held);
            }
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
    /// of one event stops yielding once the next event waits (<paramref name="eventsWaiting"/>). Readers waiting
    /// for their answer have the events held; readers answered beyond <paramref name="through"/> get only those
    /// after their answer (<see cref="Join"/>).
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
    public ValueTask DeliverAsync(string topic, IReadOnlyList<RawJson> envelopes, TopicPosition through, Func<bool> eventsWaiting)
    {
        if (!_topics.TryGetValue(topic, out var members))
        {
            return default;
        }

        var readers = members.HandOver(envelopes, through, out var answered);
        if (answered is not null)
        {
            foreach (var (reader, answer) in answered)
            {
                PushAfter(topic, reader, answer, envelopes);
            }
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

    private ITopicReader[] Members(string topic) => _topics.TryGetValue(topic, out var members) ? members.Snapshot() : [];

    // A reader answered through a position gets, one push each (never a hand-over's shared message), the events
    // its answer does not hold: those after it, and those of another epoch, pushed as they were before readers
    // were held (its client starts over from a snapshot on an epoch newer than its answer's, and asks once on an
    // older one, then drops it).
    private void PushAfter(string topic, ITopicReader reader, TopicPosition answer, IReadOnlyList<RawJson> envelopes)
    {
        foreach (var envelope in envelopes)
        {
            if (!EnvelopeHeader.TryRead(envelope.Utf8, out var header) || header.Epoch != answer.Epoch || header.Seq > answer.Seq)
            {
                PushTo(reader, new TopicPush(topic, envelope), static (reader, push) => reader.Push(push));
            }
        }
    }

    /// <summary>Readers of the topic kept apart from its hand-overs until they pass their answer (for tests).</summary>
    internal int Answering(string topic) => _topics.TryGetValue(topic, out var members) ? members.Answering : 0;

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

        // Every reader (viewer counts go to all), and those the hand-overs share a push with: the readers not kept
        // apart in _answering. Rebuilt only after a change.
        private ITopicReader[]? _snapshot = [];
        private ITopicReader[]? _shared;

        // Readers that joined to be answered from a read (Join): until it is, their hand-overs are held; then, while
        // the hand-overs have not passed what it holds, they get only the events after it. Null but while readers
        // subscribe, or while the relay is behind what their answers hold.
        private Dictionary<ITopicReader, Answer>? _answering;

        // Where the hand-overs to these readers so far reached: an answer it passes holds nothing the relay will
        // hand over. Before the first, what the relay says when the reader is answered (EventRelay.HandedOver).
        private TopicPosition _handedOver;

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

        public int Answering
        {
            get
            {
                lock (_members)
                {
                    return _answering?.Count ?? 0;
                }
            }
        }

        public void Add(ITopicReader reader, bool holdUntilAnswered)
        {
            lock (_members)
            {
                if (!_members.Add(reader))
                {
                    return;
                }

                if (holdUntilAnswered)
                {
                    (_answering ??= [])[reader] = new Answer();
                }

                _snapshot = null;
                _shared = null;
            }
        }

        /// <summary>Removes the connection; true when the topic has no connection left.</summary>
        public bool Remove(ITopicReader reader)
        {
            lock (_members)
            {
                if (_members.Remove(reader))
                {
                    Release(reader);
                    _snapshot = null;
                    _shared = null;
                }

                return _members.Count == 0;
            }
        }

        /// <summary>
        /// The readers events handed over through <paramref name="through"/> go to as usual. The readers waiting
        /// for their answer have them held; the ones answered before <paramref name="through"/> come with their
        /// answer in <paramref name="answered"/>, and are forgotten once the hand-over reaches it.
        /// </summary>
        public ITopicReader[] HandOver(IReadOnlyList<RawJson> envelopes, TopicPosition through, out List<(ITopicReader Reader, TopicPosition Answer)>? answered)
        {
            answered = null;
            lock (_members)
            {
                _handedOver = through;
                var all = _snapshot ??= [.. _members];
                if (_answering is not { Count: > 0 })
                {
                    return all;
                }

                List<ITopicReader>? passed = null;
                foreach (var (reader, answer) in _answering)
                {
                    if (answer.Through is not { } position || answer.Pushing)
                    {
                        (answer.Held ??= []).AddRange(envelopes);
                        continue;
                    }

                    (answered ??= []).Add((reader, position));

                    // Passed, or of another epoch (PushAfter).
                    if (position.Epoch != through.Epoch || position.Seq <= through.Seq)
                    {
                        (passed ??= []).Add(reader);
                    }
                }

                var readers = _shared ??= [.. all.Where(reader => !_answering.ContainsKey(reader))];
                if (passed is not null)
                {
                    foreach (var reader in passed)
                    {
                        Release(reader);
                    }
                }

                return readers;
            }
        }

        /// <summary>
        /// The events held for the reader since it joined, to be pushed after <paramref name="answer"/>, or null
        /// once none are left: from then on, hand-overs skip what the answer holds, and none that has passed it
        /// keeps the reader apart. Called until it returns null; hand-overs meanwhile are held too, so the reader
        /// gets every event in order.
        /// </summary>
        public List<RawJson>? TakeHeldOrRelease(ITopicReader reader, TopicPosition answer, TopicPosition? handedOver)
        {
            lock (_members)
            {
                if (_answering?.GetValueOrDefault(reader) is not { } waiting)
                {
                    return null;
                }

                waiting.Through ??= answer;
                if (waiting.Held is { } held)
                {
                    waiting.Held = null;
                    waiting.Pushing = true;
                    return held;
                }

                waiting.Pushing = false;
                if (Holds(_handedOver, answer) || (handedOver is { } relayed && Holds(relayed, answer)))
                {
                    Release(reader);
                }

                return null;
            }
        }

        // The reader shares the hand-overs' pushes again. Under the lock.
        private void Release(ITopicReader reader)
        {
            if (_answering?.Remove(reader) != true)
            {
                return;
            }

            _shared = null;
            if (_answering.Count == 0)
            {
                _answering = null;
            }
        }

        private static bool Holds(TopicPosition reached, TopicPosition answer) => reached.Epoch == answer.Epoch && reached.Seq >= answer.Seq;

        public ITopicReader[] Snapshot()
        {
            lock (_members)
            {
                return _snapshot ??= [.. _members];
            }
        }

        private sealed class Answer
        {
            /// <summary>What the reader's answer holds; null while it is read.</summary>
            public TopicPosition? Through { get; set; }

            /// <summary>Hand-overs held for the reader, in order, until its answer is known and they are pushed.</summary>
            public List<RawJson>? Held { get; set; }

            /// <summary>True while what was held is pushed outside the lock: hand-overs meanwhile are held after it.</summary>
            public bool Pushing { get; set; }
        }
    }
}
