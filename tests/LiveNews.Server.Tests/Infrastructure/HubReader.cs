using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace LiveNews.Server.Tests.Infrastructure;

/// <summary>
/// A light reader of one topic speaking the SignalR JSON protocol over a raw WebSocket (hundreds fit in one
/// test process, unlike HubConnections), from its own loopback address, doing what the client libraries do:
/// reconnect when the connection ends, resume from its position, drop what it already has, and report
/// every event to the test once, in order. SSE readers (being built) can follow the same shape.
/// </summary>
internal sealed class HubReader(Uri hub, string topic, IPAddress localAddress) : IAsyncDisposable
{
    private const byte RecordSeparator = 0x1e;
    private static readonly byte[] Handshake = Encoding.UTF8.GetBytes("{\"protocol\":\"json\",\"version\":1}\u001e");
    private static readonly byte[] Ping = Encoding.UTF8.GetBytes("{\"type\":6}\u001e");

    private readonly Lock _gate = new();
    private readonly List<long> _seqs = [];
    private readonly List<string> _problems = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly SocketsHttpHandler _handler = new()
    {
        // Every reader is its own client address, as readers are through a real proxy.
        ConnectCallback = async (context, cancellationToken) =>
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                socket.Bind(new IPEndPoint(localAddress, 0));
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    };

    private Task _run = Task.CompletedTask;
    private TaskCompletionSource _subscribed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private string _epoch = "";
    private long _lastSeq = -1;
    private long _lastEventAt;
    private long _longestGapTicks;
    private bool _measuring;

    /// <summary>Seqs of the events handed to the "callback", in the order they were handed.</summary>
    public IReadOnlyList<long> Seqs
    {
        get
        {
            lock (_gate)
            {
                return [.. _seqs];
            }
        }
    }

    /// <summary>What went wrong: a gap, a fresh start instead of a resume, a failed subscribe.</summary>
    public IReadOnlyList<string> Problems
    {
        get
        {
            lock (_gate)
            {
                return [.. _problems];
            }
        }
    }

    /// <summary>The position the subscription started from (seq of the first snapshot).</summary>
    public long StartSeq { get; private set; } = -1;

    public long LastSeq => Interlocked.Read(ref _lastSeq);

    public int Connections { get; private set; }

    /// <summary>Connections the server ended with a close message that allows reconnecting (a draining node).</summary>
    public int ToldToReconnect { get; private set; }

    /// <summary>Connections that ended otherwise (socket closed, refused), after which it reconnected anyway.</summary>
    public int Dropped { get; private set; }

    /// <summary>Why the last connection ended or failed, for the message of a failing test.</summary>
    public string? LastFailure { get; private set; }

    public string? FirstFailure { get; private set; }

    public bool IsSubscribed => _subscribed.Task.IsCompletedSuccessfully;

    /// <summary>The longest time between two new events since <see cref="StartMeasuring"/>.</summary>
    public TimeSpan LongestGap => TimeSpan.FromTicks(Interlocked.Read(ref _longestGapTicks) * TimeSpan.TicksPerSecond / Stopwatch.Frequency);

    /// <summary>Starts reading; completes once the first subscription is answered.</summary>
    public Task StartAsync()
    {
        _run = Task.Run(RunAsync);
        return _subscribed.Task.WaitAsync(TimeSpan.FromSeconds(60));
    }

    public void StartMeasuring()
    {
        Interlocked.Exchange(ref _lastEventAt, Stopwatch.GetTimestamp());
        Interlocked.Exchange(ref _longestGapTicks, 0);
        _measuring = true;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _run;
        _handler.Dispose();
        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var toldToReconnect = false;
            try
            {
                toldToReconnect = await ConnectAndReadAsync();
            }
            catch (Exception ex) when (ex is WebSocketException or IOException or HttpRequestException or OperationCanceledException or SocketException)
            {
                FirstFailure ??= ex.ToString();
                LastFailure = ex.Message;
            }

            if (_stop.IsCancellationRequested)
            {
                return;
            }

            if (toldToReconnect)
            {
                ToldToReconnect++;
            }
            else
            {
                Dropped++;
                // Not told to come back at once (refused, or the node vanished): a short pause, like the clients' backoff.
                await Task.Delay(100, CancellationToken.None);
            }
        }
    }

    /// <summary>One connection: handshake, subscribe (resuming when it has a position), read until it ends.</summary>
    private async Task<bool> ConnectAndReadAsync()
    {
        using var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        using var invoker = new HttpMessageInvoker(_handler, disposeHandler: false);
        await socket.ConnectAsync(hub, invoker, _stop.Token);
        Connections++;
        var position = LastSeq < 0 ? "" : $",\"epoch\":\"{_epoch}\",\"seq\":{LastSeq}";
        await socket.SendAsync(Handshake, WebSocketMessageType.Text, true, _stop.Token);
        await socket.SendAsync(Encoding.UTF8.GetBytes($"{{\"type\":1,\"invocationId\":\"1\",\"target\":\"Subscribe\",\"arguments\":[[{{\"topic\":\"{topic}\"{position}}}]]}}\u001e"), WebSocketMessageType.Text, true, _stop.Token);

        // Pushes may come before the Subscribe answer (the connection joins the topic before reading it): held until then.
        var early = new List<JsonElement>();
        var answered = false;
        var buffer = new byte[64 * 1024];
        var filled = 0;
        while (true)
        {
            if (filled == buffer.Length)
            {
                Array.Resize(ref buffer, buffer.Length * 2);
            }

            var result = await socket.ReceiveAsync(buffer.AsMemory(filled), _stop.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return false;
            }

            filled += result.Count;
            var consumed = 0;
            int end;
            while ((end = Array.IndexOf(buffer, RecordSeparator, consumed, filled - consumed)) >= 0)
            {
                using var frame = JsonDocument.Parse(buffer.AsMemory(consumed, end - consumed));
                consumed = end + 1;
                var message = frame.RootElement;
                if (!message.TryGetProperty("type", out var type))
                {
                    continue; // the handshake answer
                }

                switch (type.GetInt32())
                {
                    case 1 when message.GetProperty("target").GetString() == "event":
                        var envelope = message.GetProperty("arguments")[0].Clone();
                        if (answered)
                        {
                            Accept(envelope);
                        }
                        else
                        {
                            early.Add(envelope);
                        }

                        break;
                    case 3:
                        answered = true;
                        Answered(message);
                        foreach (var envelope2 in early)
                        {
                            Accept(envelope2);
                        }

                        early.Clear();
                        break;
                    case 6:
                        // The server pings every 15 s; answering keeps this side of the connection alive too.
                        await socket.SendAsync(Ping, WebSocketMessageType.Text, true, _stop.Token);
                        break;
                    case 7:
                        return message.TryGetProperty("allowReconnect", out var allow) && allow.GetBoolean();
                }
            }

            Array.Copy(buffer, consumed, buffer, 0, filled - consumed);
            filled -= consumed;
        }
    }

    private void Answered(JsonElement completion)
    {
        if (completion.TryGetProperty("error", out var error))
        {
            Problem($"subscribe failed: {error.GetString()}");
            _subscribed.TrySetException(new InvalidOperationException(error.GetString()));
            return;
        }

        var answer = completion.GetProperty("result")[0];
        if (LastSeq < 0)
        {
            _epoch = answer.GetProperty("epoch").GetString() ?? "";
            StartSeq = answer.GetProperty("seq").GetInt64();
            Interlocked.Exchange(ref _lastSeq, StartSeq);
        }
        else if (!answer.GetProperty("recovered").GetBoolean())
        {
            Problem($"resume from {_epoch}/{LastSeq} was not recovered: a fresh snapshot at seq {answer.GetProperty("seq").GetInt64()}");
        }
        else
        {
            foreach (var envelope in answer.GetProperty("events").EnumerateArray())
            {
                Accept(envelope);
            }
        }

        _subscribed.TrySetResult();
    }

    /// <summary>What a client library does with an event: drop one it has, refuse to skip any.</summary>
    private void Accept(JsonElement envelope)
    {
        var seq = envelope.GetProperty("seq").GetInt64();
        if (seq <= LastSeq)
        {
            return;
        }

        if (seq != LastSeq + 1)
        {
            Problem($"gap: seq {seq} after {LastSeq}");
        }

        var now = Stopwatch.GetTimestamp();
        if (_measuring)
        {
            var gap = now - Interlocked.Exchange(ref _lastEventAt, now);
            if (gap > Interlocked.Read(ref _longestGapTicks))
            {
                Interlocked.Exchange(ref _longestGapTicks, gap);
            }
        }

        lock (_gate)
        {
            _seqs.Add(seq);
        }

        Interlocked.Exchange(ref _lastSeq, seq);
    }

    private void Problem(string problem)
    {
        lock (_gate)
        {
            _problems.Add(problem);
        }
    }
}
