using System.Threading.Channels;
using Microsoft.AspNetCore.SignalR;

namespace LiveNews.Client;

/// <summary>
/// Per-topic sequencing: each topic's position, the events held until they can be delivered in order, and
/// the subscribe calls that (re)start a topic. The server answers a batch all or nothing, so a failed batch
/// is tried again one topic at a time: a refused topic is dropped and reported, a topic the store cannot
/// serve now is retried with backoff, and neither holds up the others.
/// </summary>
/// <remarks>
/// One lock guards every topic's state; nothing awaits, and no caller's code runs, while it is held.
/// </remarks>
internal sealed class TopicSubscriptions(ITopicServer server, TimeProvider time, Func<int, TimeSpan> retryDelay)
{
    private readonly Lock _sync = new();
    private readonly Dictionary<string, TopicState> _topics = new(StringComparer.Ordinal);
    private long _lastRequest;
    private bool _closed;

    /// <summary>A topic was refused, or could not be served now and will be retried.</summary>
    public event Action<TopicError>? Failed;

    /// <summary>
    /// Adds the topic and, when connected, subscribes it. Returns once the server answered (or, for a topic
    /// the store cannot serve now, once its first retry is planned). Not connected: the topic is subscribed
    /// on the next <see cref="ResubscribeAllAsync"/>.
    /// </summary>
    /// <exception cref="HubException">The server refused the topic.</exception>
    /// <exception cref="InvalidOperationException">The topic is subscribed already.</exception>
    public async Task<ChannelReader<TopicUpdate>> AddAsync(string topic, TopicPosition? resumeAfter)
    {
        var state = new TopicState(topic) { Epoch = resumeAfter?.Epoch, Seq = resumeAfter?.Seq ?? 0 };
        lock (_sync)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            if (!_topics.TryAdd(topic, state))
            {
                throw new InvalidOperationException($"Already subscribed to '{topic}': a topic has one reader; unsubscribe first.");
            }
        }

        await SubscribeAsync([state]).ConfigureAwait(false);
        lock (_sync)
        {
            if (state.Refusal is { } refusal)
            {
                throw refusal;
            }
        }

        return state.Updates.Reader;
    }

    public async Task RemoveAsync(string topic)
    {
        lock (_sync)
        {
            if (!_topics.Remove(topic, out var state))
            {
                return;
            }

            state.CancelRetry();
            state.Updates.Writer.TryComplete();
        }

        try
        {
            await server.UnsubscribeAsync([topic]).ConfigureAwait(false);
        }
        catch (Exception) when (!server.IsConnected)
        {
            // A dropped connection forgets its topics on the server: nothing left to undo.
        }
    }

    /// <summary>After a (re)connect: every topic from its last position. Calls in flight died with the old connection.</summary>
    public Task ResubscribeAllAsync()
    {
        TopicState[] all;
        lock (_sync)
        {
            foreach (var state in _topics.Values)
            {
                state.InFlight = 0;
            }

            all = [.. _topics.Values];
        }

        return SubscribeAsync(all);
    }

    public void OnEvent(TopicEvent e)
    {
        TopicState? resync = null;
        lock (_sync)
        {
            if (_topics.TryGetValue(e.Topic, out var state) && Handle(state, e))
            {
                resync = state;
            }
        }

        if (resync is not null)
        {
            _ = SubscribeAsync([resync]);
        }
    }

    /// <summary>
    /// Whether the topic is subscribed now: a viewer count for a topic removed meanwhile (it was in flight) is
    /// not the caller's any more.
    /// </summary>
    public bool Follows(string topic)
    {
        lock (_sync)
        {
            return _topics.ContainsKey(topic);
        }
    }

    /// <summary>Ends every topic's updates and stops retries.</summary>
    public void Close()
    {
        lock (_sync)
        {
            _closed = true;
            foreach (var state in _topics.Values)
            {
                state.CancelRetry();
                state.Updates.Writer.TryComplete();
            }

            _topics.Clear();
        }
    }

    /// <summary>Subscribes the given topics in one call. Never throws: every outcome ends in a topic's state.</summary>
    private async Task SubscribeAsync(IReadOnlyList<TopicState> states)
    {
        List<TopicState> batch;
        SubscribeRequest[] requests;
        long request;
        lock (_sync)
        {
            batch = [.. states.Where(s => IsCurrent(s) && s.InFlight == 0)];
            if (batch.Count == 0 || !server.IsConnected)
            {
                return; // (Re)connecting: subscribed once connected.
            }

            request = ++_lastRequest;
            foreach (var state in batch)
            {
                state.CancelRetry();
                state.InFlight = request;
                state.Synced = false;
                state.Asked = state.Buffered.Count;
            }

            requests = [.. batch.Select(s => s.Request())];
        }

        SubscribeResult[] results;
        try
        {
            results = await server.SubscribeAsync(requests).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            await FailedAsync(batch, request, ex).ConfigureAwait(false);
            return;
        }

        List<TopicState> resyncs = [];
        lock (_sync)
        {
            for (var i = 0; i < batch.Count; i++)
            {
                if (batch[i].InFlight == request)
                {
                    batch[i].InFlight = 0;
                    Apply(batch[i], results[i], resyncs);
                }
            }
        }

        foreach (var state in resyncs)
        {
            _ = SubscribeAsync([state]);
        }
    }

    private async Task FailedAsync(List<TopicState> batch, long request, Exception error)
    {
        List<TopicState> mine;
        lock (_sync)
        {
            mine = [.. batch.Where(s => s.InFlight == request)];
            foreach (var state in mine)
            {
                state.InFlight = 0;
            }
        }

        if (mine.Count == 0 || !server.IsConnected)
        {
            return; // The reconnect resubscribes from the same positions.
        }

        if (mine.Count > 1)
        {
            await Task.WhenAll(mine.Select(s => SubscribeAsync([s]))).ConfigureAwait(false);
            return;
        }

        var (refused, message) = SubscribeFailure.Classify(error);
        var topic = mine[0];
        TopicError report;
        lock (_sync)
        {
            if (!IsCurrent(topic))
            {
                return;
            }

            if (refused)
            {
                _topics.Remove(topic.Topic);
                topic.Refusal = error as HubException ?? new HubException(message, error);
                topic.Updates.Writer.TryComplete(topic.Refusal);
                report = new TopicError(topic.Topic, TopicErrorReason.Refused, message, null);
            }
            else
            {
                var wait = retryDelay(topic.Retries++);
                topic.RetryTimer = time.CreateTimer(_ => _ = SubscribeAsync([topic]), null, wait, Timeout.InfiniteTimeSpan);
                report = new TopicError(topic.Topic, TopicErrorReason.Unavailable, message, wait);
            }
        }

        try
        {
            Failed?.Invoke(report);
        }
        catch (Exception)
        {
            // A listener's bug must not stop the retries.
        }
    }

    private void Apply(TopicState state, SubscribeResult result, List<TopicState> resyncs)
    {
        if (!IsCurrent(state))
        {
            return;
        }

        state.Retries = 0;
        var resumes = result.Recovered && (result.Epoch == state.Epoch || (state.Epoch is not null && state.Seq == 0));
        if (resumes)
        {
            foreach (var envelope in result.Events)
            {
                Deliver(state, TopicEvent.Parse(envelope));
            }
        }
        else
        {
            var startedOver = state.Epoch is not null;
            state.Epoch = result.Epoch;
            state.Seq = result.Seq;
            state.Updates.Writer.TryWrite(new TopicSnapshot(result.Topic, result.Epoch, result.Seq, result.Snapshot ?? default, startedOver));
        }

        state.Synced = true;

        // Events that arrived while the subscription was in flight, now in order after the answer. One received
        // before the call was made, in an epoch the answer is not in, is of an epoch the topic had left by then
        // (a node behind still relayed it): handled again, it would ask again, answer after answer.
        var buffered = state.Buffered.Where((e, i) => i >= state.Asked || e.Epoch == result.Epoch).OrderBy(e => e.Seq).ToArray();
        state.Buffered.Clear();
        state.Asked = 0;
        foreach (var e in buffered)
        {
            if (Handle(state, e) && !resyncs.Contains(state))
            {
                resyncs.Add(state);
            }
        }
    }

    /// <summary>Delivers, drops or holds the event; true when the topic must ask the server for what it missed.</summary>
    private static bool Handle(TopicState state, TopicEvent e)
    {
        if (!state.Synced)
        {
            state.Buffered.Add(e);
            return false;
        }

        if (e.Epoch == state.Epoch && e.Seq <= state.Seq)
        {
            return false; // Seen already (part of the snapshot or of a replay).
        }

        if (state.Follows(e))
        {
            Deliver(state, e);
            return false;
        }

        // A gap, or a new epoch: ask the server for what is missing (or a fresh snapshot), keep this one.
        state.Buffered.Add(e);
        return true;
    }

    private static void Deliver(TopicState state, TopicEvent e)
    {
        if (!state.Follows(e))
        {
            return;
        }

        state.Epoch = e.Epoch;
        state.Seq = e.Seq;
        state.Updates.Writer.TryWrite(e);
    }

    private bool IsCurrent(TopicState state) => _topics.TryGetValue(state.Topic, out var current) && current == state;

    private sealed class TopicState(string topic)
    {
        public string Topic { get; } = topic;

        /// <summary>Null until the server gave a position; "" for a topic nothing was published on yet.</summary>
        public string? Epoch { get; set; }

        public long Seq { get; set; }

        /// <summary>False from a subscribe call until its answer is applied: events are held meanwhile.</summary>
        public bool Synced { get; set; }

        /// <summary>The subscribe call in flight for this topic, 0 when none.</summary>
        public long InFlight { get; set; }

        public int Retries { get; set; }

        public ITimer? RetryTimer { get; set; }

        public HubException? Refusal { get; set; }

        public List<TopicEvent> Buffered { get; } = [];

        /// <summary>How many of <see cref="Buffered"/> were received before the subscribe call in flight was made.</summary>
        public int Asked { get; set; }

        public Channel<TopicUpdate> Updates { get; } = Channel.CreateUnbounded<TopicUpdate>(new UnboundedChannelOptions { SingleWriter = true });

        public SubscribeRequest Request() => Epoch is null ? new SubscribeRequest(Topic) : new SubscribeRequest(Topic, Epoch, Seq);

        /// <summary>
        /// Whether the event is the next one. A topic nothing was published on has no epoch yet ("", seq 0):
        /// its first event brings the epoch, with seq 1.
        /// </summary>
        public bool Follows(TopicEvent e) => e.Seq == Seq + 1 && (e.Epoch == Epoch || (Seq == 0 && Epoch is not null));

        public void CancelRetry()
        {
            RetryTimer?.Dispose();
            RetryTimer = null;
        }
    }
}
