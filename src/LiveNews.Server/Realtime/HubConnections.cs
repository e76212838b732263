using System.Collections.Concurrent;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.SignalR;

namespace LiveNews.Server.Realtime;

/// <summary>The hub connections open on this node, so that a draining node can send each one away.</summary>
internal sealed class HubConnections
{
    private readonly ConcurrentDictionary<string, HubConnectionContext> _open = new(StringComparer.Ordinal);
    private TaskCompletionSource? _allClosed;

    public int Count => _open.Count;

    public void Opened(HubConnectionContext connection) => _open[connection.ConnectionId] = connection;

    public void Closed(string connectionId)
    {
        if (_open.TryRemove(connectionId, out _) && _open.IsEmpty)
        {
            Volatile.Read(ref _allClosed)?.TrySetResult();
        }
    }

    /// <summary>
    /// Asks every connection to close with a close message that allows reconnecting, and waits until they
    /// have closed (or <paramref name="cancellationToken"/>); returns how many there were.
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
        var connections = _open.Values.ToArray();
        if (_open.IsEmpty)
        {
            allClosed.TrySetResult();
        }

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
