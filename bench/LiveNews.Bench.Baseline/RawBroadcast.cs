using System.Buffers;
using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;

namespace LiveNews.Bench.Baseline;

/// <summary>
/// The bench's floor for fan-out on Kestrel: each WebSocket has a channel and a writer loop, and a publish
/// frames the event once and queues the same bytes to every socket. Frames are shaped like SignalR's JSON
/// protocol (handshake answer, a completion for the subscribe invocation, events as
/// <c>{"type":1,"target":"event","arguments":[envelope]}</c> ending in 0x1e), so the load client reads them
/// unchanged.
/// </summary>
internal sealed class RawBroadcast
{
    private static readonly byte[] HandshakeAnswer = "{}\u001e"u8.ToArray();
    private static readonly byte[] SubscribeAnswer = "{\"type\":3,\"invocationId\":\"1\",\"result\":null}\u001e"u8.ToArray();

    private readonly ConcurrentDictionary<long, Channel<byte[]>> _sockets = new();
    private readonly Lock _publishing = new();
    private long _nextSocket;
    private long _seq;

    /// <summary>Serves one socket: answers the handshake and the subscribe frame, then writes what is queued.</summary>
    public async Task ServeAsync(WebSocket socket, CancellationToken aborted)
    {
        var id = Interlocked.Increment(ref _nextSocket);
        var queue = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
        var writer = WriteAsync(socket, queue.Reader, aborted);
        try
        {
            await ReadAsync(socket, id, queue, aborted);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
            // The client went away (the bench aborts its sockets): the socket leaves the broadcast below.
        }
        finally
        {
            _sockets.TryRemove(id, out _);
            queue.Writer.TryComplete();
            await writer;
        }
    }

    /// <summary>Frames the event once, under a lock so every socket gets events in seq order.</summary>
    public long Publish(JsonElement data)
    {
        lock (_publishing)
        {
            var seq = ++_seq;
            var frame = JsonSerializer.SerializeToUtf8Bytes(new
            {
                type = 1,
                target = "event",
                arguments = new object[]
                {
                    new { topic = "breaking", seq, epoch = "raw", id = Guid.NewGuid().ToString("N"), type = "breaking.published", at = DateTimeOffset.UtcNow, data },
                },
            });
            var framed = new byte[frame.Length + 1];
            frame.CopyTo(framed, 0);
            framed[^1] = 0x1e;
            foreach (var queue in _sockets.Values)
            {
                queue.Writer.TryWrite(framed);
            }

            return seq;
        }
    }

    /// <summary>Reads records until the socket closes: the first is the handshake, any later one subscribes.</summary>
    private async Task ReadAsync(WebSocket socket, long id, Channel<byte[]> queue, CancellationToken aborted)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(4096);
        var records = 0;
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer, aborted);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }

                foreach (var b in buffer.AsSpan(0, result.Count))
                {
                    if (b != 0x1e)
                    {
                        continue;
                    }

                    // Answers go through the queue too, so the writer loop is the socket's only writer.
                    queue.Writer.TryWrite(records++ == 0 ? HandshakeAnswer : SubscribeAnswer);
                    if (records > 1)
                    {
                        _sockets.TryAdd(id, queue);
                    }
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async Task WriteAsync(WebSocket socket, ChannelReader<byte[]> queue, CancellationToken aborted)
    {
        try
        {
            await foreach (var frame in queue.ReadAllAsync(aborted))
            {
                await socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, aborted);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
            // The reader went away; the read side ends the socket.
        }
    }
}

internal static class RawBroadcastEndpoints
{
    public static void MapRawBroadcast(this WebApplication app)
    {
        app.Map("/ws", async (HttpContext context, RawBroadcast broadcast) =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                return;
            }

            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            await broadcast.ServeAsync(socket, context.RequestAborted);
        });
        app.MapPost("/publish-raw", async (HttpRequest request, RawBroadcast broadcast) =>
        {
            using var body = await JsonDocument.ParseAsync(request.Body);
            return Results.Ok(new { seq = broadcast.Publish(body.RootElement) });
        });
    }
}
