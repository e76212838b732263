using System.Net.WebSockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.SignalR;

namespace LiveNews.Server.Realtime;

/// <summary>
/// What one connection still has to be sent, in order. Pushes are queued here instead of awaited by the
/// relay, so no topic and no other reader waits for this connection's socket; a reader that stops reading
/// is disconnected once <c>Realtime:MaxBufferedBytesPerConnection</c> are waiting, and resumes from its
/// position when it reconnects. On a WebSocket, pushes go straight to the socket (<see cref="HubSocket"/>).
/// </summary>
internal sealed class ConnectionOutbox(HubConnectionContext connection, long maxBufferedBytes, Action<ITopicReader, long> overflowed) : ITopicReader
{
    private readonly Queue<Queued> _queue = new();
    private readonly HubSocket? _socket = HubSocket.Attach(connection);
    // The message type SignalR's WebSocket transport sends this connection's records as.
    private readonly WebSocketMessageType _messageType =
        connection.Features.Get<ITransferFormatFeature>()?.ActiveFormat == TransferFormat.Binary ? WebSocketMessageType.Binary : WebSocketMessageType.Text;
    private long _bytes;
    private bool _draining;
    private bool _closed;

    public string Id => connection.ConnectionId;

    public HashSet<string> Topics { get; } = new(StringComparer.Ordinal);

    /// <summary>True when pushes go straight to the connection's WebSocket rather than through SignalR's pipe.</summary>
    public bool SendsToSocket => _socket is not null;

    public void Push(TopicPush push) => Enqueue(push.HubMessage, null, push.Size);

    public void Push(TopicPushes pushes)
    {
        // SignalR's pipe: its send loop puts what it finds there into one message anyway. Pushes that would
        // take much of the bound together go one by one, as they did before, so a reader that keeps up is never
        // cut for one big hand-over.
        if (_socket is null || pushes.Size > maxBufferedBytes / 2)
        {
            foreach (var push in pushes.Pushes)
            {
                Push(push);
            }
        }
        else
        {
            Enqueue(null, pushes, pushes.Size);
        }
    }

    // Queues a message; the connection is aborted instead when it would hold more than the bound.
    private void Enqueue(SerializedHubMessage? message, TopicPushes? together, int size)
    {
        long waiting;
        bool overflow = false, startDrain = false;
        lock (_queue)
        {
            if (_closed)
            {
                return;
            }

            waiting = _bytes + size;
            if (waiting > maxBufferedBytes)
            {
                overflow = true;
                _closed = true;
                _queue.Clear();
                _bytes = 0;
            }
            else
            {
                _queue.Enqueue(new Queued(message, together, size));
                _bytes = waiting;
                startDrain = !_draining;
                _draining = true;
            }
        }

        if (overflow)
        {
            overflowed(this, waiting);
            Abort();
        }
        else if (startDrain)
        {
            _ = DrainAsync();
        }
    }

    /// <summary>Stops sending: the connection is gone.</summary>
    public void Close()
    {
        lock (_queue)
        {
            _closed = true;
            _queue.Clear();
            _bytes = 0;
        }
    }

    // SignalR's abort ends the connection once its pipe is done with; a push waiting for the socket of a
    // reader that does not read would keep it open, so the socket is cut too.
    private void Abort()
    {
        connection.Abort();
        _socket?.Cut();
    }

    // One writer at a time per connection, started when the queue goes from empty to not: an idle
    // connection holds no task. A write completes synchronously unless the socket is backed up.
    private async Task DrainAsync()
    {
        while (true)
        {
            Queued next;
            lock (_queue)
            {
                if (_closed || !_queue.TryDequeue(out next))
                {
                    _draining = false;
                    return;
                }
            }

            try
            {
                if (_socket is null)
                {
                    await connection.WriteAsync(next.Message!);
                }
                else
                {
                    var message = next.Together?.Message(connection.Protocol) ?? next.Message!.GetSerializedMessage(connection.Protocol);
                    await _socket.SendMessageAsync(message, _messageType);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or InvalidOperationException or IOException or WebSocketException or ObjectDisposedException)
            {
                Close();
                return;
            }
            catch
            {
                // Anything else leaves the reader behind what it was sent: it reconnects and resumes.
                Close();
                Abort();
                return;
            }

            lock (_queue)
            {
                _bytes -= next.Size;
            }
        }
    }

    /// <summary>A push, or (on a WebSocket) pushes relayed together, sent as one message; its bytes against the bound.</summary>
    private readonly record struct Queued(SerializedHubMessage? Message, TopicPushes? Together, int Size);
}
