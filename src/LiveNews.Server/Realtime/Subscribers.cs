using System.Collections.Concurrent;
using LiveNews.Server.Bus;
using LiveNews.Server.Operations;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.Options;

namespace LiveNews.Server.Realtime;

/// <summary>
/// Which connections of this node follow which topic, and the push of relayed events to them. Replaces
/// SignalR groups for topics: a group send completes when the slowest connection's write does, which let
/// one reader that stopped reading hold up every topic. Here a push only queues into each connection's
/// <see cref="ConnectionOutbox"/>, serialized once per protocol for all of them.
/// </summary>
internal sealed class Subscribers(IOptions<RealtimeOptions> options, LiveNewsMetrics metrics, ILogger<Subscribers> logger) : IEventSink
{
    private const string EventMethod = "event";

    // What the protocol adds around an envelope, counted towards a connection's buffer.
    private const int FramingBytes = 48;

    private readonly ConcurrentDictionary<string, ConnectionOutbox> _connections = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TopicMembers> _topics = new(StringComparer.Ordinal);

    // Joins and leaves change the topic map together with a topic's members; pushes only read.
    private readonly Lock _membership = new();

    /// <summary>Called by the lifetime manager when a connection opens.</summary>
    public void Connected(HubConnectionContext connection) =>
        _connections[connection.ConnectionId] = new ConnectionOutbox(connection, options.Value.MaxBufferedBytesPerConnection, Overflowed);

    /// <summary>Called by the lifetime manager when a connection closes: nothing more is sent to it.</summary>
    public void Disconnected(string connectionId)
    {
        if (!_connections.TryRemove(connectionId, out var outbox))
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

    /// <summary>From now on, events of <paramref name="topic"/> relayed by this node reach the connection.</summary>
    public void Join(string connectionId, Topic topic)
    {
        if (_connections.TryGetValue(connectionId, out var outbox))
        {
            lock (_membership)
            {
                _topics.GetOrAdd(topic.Name, _ => new TopicMembers()).Add(outbox);
                outbox.Topics.Add(topic.Name);
            }
        }
    }

    public void Leave(string connectionId, Topic topic)
    {
        if (!_connections.TryGetValue(connectionId, out var outbox))
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

    /// <summary>Queues the event for every connection of the topic on this node, serialized once per protocol.</summary>
    public void Deliver(string topic, RawJson envelope)
    {
        if (!_topics.TryGetValue(topic, out var members))
        {
            return;
        }

        var outboxes = members.Snapshot();
        if (outboxes.Length == 0)
        {
            return;
        }

        var message = new SerializedHubMessage(new InvocationMessage(EventMethod, [envelope]));
        var size = envelope.Utf8.Length + FramingBytes;
        foreach (var outbox in outboxes)
        {
            outbox.Enqueue(message, size);
        }
    }

    private void Overflowed(ConnectionOutbox outbox, long bytes)
    {
        metrics.SlowReaderDisconnected();
        RealtimeLog.SlowReader(logger, outbox.ConnectionId, bytes);
    }

    /// <summary>The connections of one topic; the array pushes iterate is rebuilt only after a change.</summary>
    private sealed class TopicMembers
    {
        private readonly HashSet<ConnectionOutbox> _members = [];
        private ConnectionOutbox[]? _snapshot = [];

        public void Add(ConnectionOutbox outbox)
        {
            lock (_members)
            {
                if (_members.Add(outbox))
                {
                    _snapshot = null;
                }
            }
        }

        /// <summary>Removes the connection; true when the topic has no connection left.</summary>
        public bool Remove(ConnectionOutbox outbox)
        {
            lock (_members)
            {
                if (_members.Remove(outbox))
                {
                    _snapshot = null;
                }

                return _members.Count == 0;
            }
        }

        public ConnectionOutbox[] Snapshot()
        {
            lock (_members)
            {
                return _snapshot ??= [.. _members];
            }
        }
    }
}
