using System.Collections.Concurrent;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.Http.Connections.Features;
using LiveNews.Server.Bus;
using Microsoft.AspNetCore.SignalR;

namespace LiveNews.Server.Realtime;

/// <summary>
/// The hub connections open on this node, with what the node keeps for each (<see cref="OpenConnection"/>),
/// so that a draining node can send each one away.
/// </summary>
internal sealed class HubConnections
{
    private readonly ConcurrentDictionary<string, OpenConnection> _open = new(StringComparer.Ordinal);

    // WebSockets whose request has not ended: the hub is done with a connection (and has queued its close
    // message) before the socket has sent it. SignalR aborts the sockets still open once the drain returns,
    // so the drain waits for them too (a close message cut there reaches no one): until the client answered
    // the close frame, or the hub's WebSockets.CloseTimeout. SignalR's long-polling and SSE transports are
    // not tracked: their close message goes out with the client's next poll, if it comes before the node stops.
    private readonly ConcurrentDictionary<string, byte> _sockets = new(StringComparer.Ordinal);
    private TaskCompletionSource? _allClosed;

    public int Count => _open.Count;

    /// <summary>WebSocket requests of the hub not ended yet (a connection the hub is done with may still hold one).</summary>
    public int OpenSockets => _sockets.Count;

    /// <summary>What the node keeps for the connection, from the lifetime manager's connect to its disconnect.</summary>
    public OpenConnection? Find(string connectionId) => _open.GetValueOrDefault(connectionId);

    public void Opened(HubConnectionContext connection)
    {
        _open[connection.ConnectionId] = new OpenConnection(connection);
        if (connection.Features.Get<IHttpTransportFeature>()?.TransportType == HttpTransportType.WebSockets && connection.GetHttpContext() is { } request)
        {
            _sockets[connection.ConnectionId] = 0;
            request.Response.OnCompleted(static state =>
            {
                var (connections, connectionId) = ((HubConnections, string))state;
                connections._sockets.TryRemove(connectionId, out _);
                connections.CompleteWhenAllClosed();
                return Task.CompletedTask;
            }, (this, connection.ConnectionId));
        }
    }

    public void Closed(string connectionId)
    {
        _open.TryRemove(connectionId, out _);
        CompleteWhenAllClosed();
    }

    private void CompleteWhenAllClosed()
    {
        if (_open.IsEmpty && _sockets.IsEmpty)
        {
            Volatile.Read(ref _allClosed)?.TrySetResult();
        }
    }

    /// <summary>
    /// Asks every connection to close with a close message that allows reconnecting, and waits until they
    /// have closed, WebSockets until their socket has sent that message (or <paramref name="cancellationToken"/>);
    /// returns how many there were.
    /// </summary>
    /// <remarks>
    /// A close request (the one SignalR uses when a sign-in expires) makes the hub send
    /// <c>{"type":7,"allowReconnect":true}</c> and end the transport gracefully, after what was queued:
    /// clients with automatic reconnect come back at once (through the balancer, to another node) and
    /// resume from their positions. Aborting the connection instead would cut it before that message.
    /// </remarks>
    public async Task<int> CloseForReconnectAsync(CancellationToken cancellationToken)
    {
        var allClosed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _allClosed, allClosed);
        var connections = _open.Values.Select(open => open.Context).ToArray();
        CompleteWhenAllClosed();

        foreach (var connection in connections)
        {
            if (connection.Features.Get<IConnectionLifetimeNotificationFeature>() is { } lifetime)
            {
                lifetime.RequestClose();
            }
            else
            {
                connection.Abort();
            }
        }

        try
        {
            await allClosed.Task.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Sockets that did not take their close in time are cut by SignalR when the host stops.
        }

        return connections.Length;
    }
}

/// <summary>
/// What the node keeps for one open hub connection, beside SignalR's own context. Not in the context's
/// <c>Items</c>: that is a concurrent dictionary of its own, ~0.5 KB more per reader for two entries
/// (bench/runs/2026-12-07-idle-memory-own-state.md).
/// </summary>
/// <remarks>
/// The connection's hub calls run one at a time, but SignalR calls the hub's <c>OnDisconnectedAsync</c>
/// without waiting for a call in flight: a subscribe waiting for Redis can finish after its connection
/// closed. So the topics close with the connection, under the same lock as a subscribe adds them.
/// </remarks>
internal sealed class OpenConnection(HubConnectionContext context)
{
    // The connection's topics, each with the moment it joined their pushes; null once it closed. Guarded by
    // locking this object, which only the node sees: no lock object per reader.
    private Dictionary<Topic, long>? _topics = [];

    public HubConnectionContext Context => context;

    /// <summary>What is left of its hub calls for now, from its first call on (<see cref="HubInvocationLimit"/>; calls run one at a time).</summary>
    public CallAllowance? Calls { get; set; }

    public int TopicCount
    {
        get
        {
            lock (this)
            {
                return _topics?.Count ?? 0;
            }
        }
    }

    public bool TryGetJoinedAt(Topic topic, out long joinedAt)
    {
        lock (this)
        {
            joinedAt = 0;
            return _topics is not null && _topics.TryGetValue(topic, out joinedAt);
        }
    }

    /// <summary>Adds the topics a subscribe joined; false when the connection closed meanwhile (the caller undoes its joins).</summary>
    public bool TryAdd(IEnumerable<(Topic Topic, long JoinedAt)> joined)
    {
        lock (this)
        {
            if (_topics is null)
            {
                return false;
            }

            foreach (var (topic, joinedAt) in joined)
            {
                _topics[topic] = joinedAt;
            }

            return true;
        }
    }

    public bool Remove(Topic topic)
    {
        lock (this)
        {
            return _topics?.Remove(topic) == true;
        }
    }

    /// <summary>The connection closed: its topics, to leave; none is added from now on.</summary>
    public IReadOnlyCollection<Topic> Close()
    {
        lock (this)
        {
            var topics = _topics?.Keys.ToArray() ?? [];
            _topics = null;
            return topics;
        }
    }
}
