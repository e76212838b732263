using System.Net.WebSockets;
using LiveNews.Server.Operations;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.SignalR;

namespace LiveNews.Server.Realtime;

/// <summary>
/// The WebSocket of a hub connection, with a way for topic pushes to reach it without SignalR's connection
/// pipe. SignalR writes each message into a pipe that a send loop of its own, run as another thread-pool work
/// item, reads and hands to the socket; in a profile of 5,000 paced readers, that pipe and that loop took 47%
/// of the server's samples, the WebSocket send within them 23% (bench/runs/2026-12-06-direct-socket-sends.md).
/// A push sent here goes to the socket at once, as its own WebSocket message: one or more complete SignalR
/// records, which is what SignalR sends and what its clients read.
/// </summary>
/// <remarks>
/// SignalR's own messages (completions, pings, close) still go through its pipe and its loop and reach
/// <see cref="SendAsync(ReadOnlyMemory{byte}, WebSocketMessageType, bool, CancellationToken)"/> here: one
/// message at a time goes to the socket, a message SignalR sends in fragments (a record longer than one
/// pipe block) included. The server does not allow SignalR's stateful reconnect (MapRealtime), whose
/// acknowledgements count the messages of its pipe; pushes sent here would be outside that count, so
/// turning it on means sending pushes through SignalR again.
/// </remarks>
internal sealed class HubSocket(WebSocket socket, HttpContext request) : WebSocket
{
    /// <summary>
    /// How long a push may wait for the socket before the connection is cut: SignalR's own bound for a send
    /// (<c>HttpConnectionDispatcherOptions.TransportSendTimeout</c>), which its pipe no longer applies to pushes.
    /// </summary>
    internal static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(10);

    private readonly SemaphoreSlim _sending = new(1, 1);

    // True while SignalR's loop is between the fragments of one message and holds _sending.
    private bool _midMessage;

    // When the push being sent started to wait for the socket (Environment.TickCount64); 0 when none waits.
    private long _waitingSince;

    /// <summary>
    /// The hub connection's socket, when it is a WebSocket that <see cref="UseHubSockets"/> saw accepted;
    /// from then on, a push that waits for it longer than <see cref="SendTimeout"/> cuts the connection
    /// (a reader that stopped reading, whose pushes never fill its outbox).
    /// </summary>
    public static HubSocket? Attach(HubConnectionContext connection)
    {
        if (connection.GetHttpContext()?.Features.Get<IHttpWebSocketFeature>() is not Feature { Socket: { } accepted })
        {
            return null;
        }

        connection.Features.Get<IConnectionHeartbeatFeature>()?.OnHeartbeat(static state => ((HubSocket)state).CutIfStuck(), accepted);
        return accepted;
    }

    /// <summary>Lets the hub's WebSocket connections be found by <see cref="Attach"/>.</summary>
    public static IApplicationBuilder UseHubSockets(IApplicationBuilder app) =>
        app.UseWhen(
            http => http.Request.Path.StartsWithSegments(RateLimiting.HubPath),
            hub => hub
                .UseWebSockets()
                .Use((http, next) =>
                {
                    // SignalR's endpoint adds the WebSockets middleware too, which keeps a handshake it finds.
                    if (http.Features.Get<IHttpWebSocketFeature>() is { IsWebSocketRequest: true } handshake)
                    {
                        http.Features.Set<IHttpWebSocketFeature>(new Feature(handshake, http));
                    }

                    return next(http);
                }));

    /// <summary>Sends one whole message (one or more complete SignalR records) after any message being sent.</summary>
    public async ValueTask SendMessageAsync(ReadOnlyMemory<byte> message, WebSocketMessageType type)
    {
        await _sending.WaitAsync();
        try
        {
            var send = socket.SendAsync(message, type, endOfMessage: true, CancellationToken.None);
            if (send.IsCompleted)
            {
                send.GetAwaiter().GetResult();
                return;
            }

            Volatile.Write(ref _waitingSince, Environment.TickCount64);
            try
            {
                await send;
            }
            finally
            {
                Volatile.Write(ref _waitingSince, 0);
            }
        }
        finally
        {
            _sending.Release();
        }
    }

    /// <summary>
    /// Ends the connection at once, socket and request: what SignalR's abort alone does not do while a push
    /// waits for a reader that does not read.
    /// </summary>
    public void Cut() => request.Abort();

    private void CutIfStuck()
    {
        var since = Volatile.Read(ref _waitingSince);
        if (since != 0 && Environment.TickCount64 - since > SendTimeout.TotalMilliseconds)
        {
            Cut();
        }
    }

    // SignalR's send loop: one caller, which finishes a fragmented message before it starts another.
    public override async ValueTask SendAsync(ReadOnlyMemory<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken)
    {
        if (!_midMessage)
        {
            await _sending.WaitAsync(cancellationToken);
        }

        try
        {
            await socket.SendAsync(buffer, messageType, endOfMessage, cancellationToken);
            _midMessage = !endOfMessage;
        }
        catch
        {
            _midMessage = false;
            throw;
        }
        finally
        {
            if (!_midMessage)
            {
                _sending.Release();
            }
        }
    }

    public override Task SendAsync(ArraySegment<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken) =>
        SendAsync(buffer.AsMemory(), messageType, endOfMessage, cancellationToken).AsTask();

    public override ValueTask SendAsync(ReadOnlyMemory<byte> buffer, WebSocketMessageType messageType, WebSocketMessageFlags messageFlags, CancellationToken cancellationToken) =>
        SendAsync(buffer, messageType, messageFlags.HasFlag(WebSocketMessageFlags.EndOfMessage), cancellationToken);

    public override WebSocketCloseStatus? CloseStatus => socket.CloseStatus;

    public override string? CloseStatusDescription => socket.CloseStatusDescription;

    public override WebSocketState State => socket.State;

    public override string? SubProtocol => socket.SubProtocol;

    public override void Abort() => socket.Abort();

    public override Task CloseAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken) =>
        socket.CloseAsync(closeStatus, statusDescription, cancellationToken);

    public override Task CloseOutputAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken) =>
        socket.CloseOutputAsync(closeStatus, statusDescription, cancellationToken);

    public override void Dispose() => socket.Dispose();

    public override Task<WebSocketReceiveResult> ReceiveAsync(ArraySegment<byte> buffer, CancellationToken cancellationToken) =>
        socket.ReceiveAsync(buffer, cancellationToken);

    public override ValueTask<ValueWebSocketReceiveResult> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken) =>
        socket.ReceiveAsync(buffer, cancellationToken);

    /// <summary>The request's WebSocket handshake, keeping the socket it accepts.</summary>
    private sealed class Feature(IHttpWebSocketFeature handshake, HttpContext request) : IHttpWebSocketFeature
    {
        public HubSocket? Socket { get; private set; }

        public bool IsWebSocketRequest => handshake.IsWebSocketRequest;

        public async Task<WebSocket> AcceptAsync(WebSocketAcceptContext context) =>
            Socket = new HubSocket(await handshake.AcceptAsync(context), request);
    }
}
