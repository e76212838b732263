using System.Buffers;
using System.Buffers.Text;
using System.Diagnostics;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace LiveNews.Bench;

/// <summary>What subscribers speak over their WebSocket.</summary>
internal enum Wire
{
    /// <summary>SignalR's JSON protocol: a handshake, then records ending in 0x1e, several per message or split across messages.</summary>
    SignalR,

    /// <summary>Engine.IO v4 / Socket.IO v5: one packet per WebSocket message (<c>0</c> open, <c>40</c> connect, <c>42[...]</c> event, <c>2</c>/<c>3</c> ping/pong).</summary>
    SocketIo,
}

/// <summary>
/// Many subscribers over raw WebSockets, speaking SignalR's JSON protocol or Socket.IO's by hand: one socket
/// and one receive loop each, no client library, and frames read by searching for the few fields the
/// benchmark needs, the same way for every system.
/// </summary>
internal sealed class SubscriberPool : IAsyncDisposable
{
    private const byte RecordSeparator = 0x1e;
    private static readonly byte[] Handshake = Encoding.UTF8.GetBytes("{\"protocol\":\"json\",\"version\":1}\u001e");
    private static readonly byte[] SocketIoConnect = "40"u8.ToArray();
    private static readonly byte[] SocketIoPong = "3"u8.ToArray();

    private readonly List<Subscriber> _subscribers = [];
    private long[] _latencies = new long[1024];
    private long _latencyCount;

    public IReadOnlyList<Subscriber> Subscribers => _subscribers;

    /// <summary>Whether events must arrive in seq order, once (LiveNews) or merely arrive (the baseline).</summary>
    public bool Ordered { get; init; } = true;

    public Wire Wire { get; init; } = Wire.SignalR;

    /// <summary>The size of the last event frame received (without SignalR's record separator), to compare what each system sends.</summary>
    public int EventFrameBytes { get; internal set; }

    /// <summary>
    /// Subscribers that stop reading once subscribed, on sockets with a small receive buffer: the slow
    /// readers a server must bound without holding back the others.
    /// </summary>
    public bool Stalled { get; init; }

    public long Received => _subscribers.Sum(s => Interlocked.Read(ref s.Received));

    public long Gaps => _subscribers.Sum(s => s.Gaps);

    public long Duplicates => _subscribers.Sum(s => s.Duplicates);

    public long LastReceiveTimestamp => _subscribers.Count == 0 ? 0 : _subscribers.Max(s => Interlocked.Read(ref s.LastReceiveTimestamp));

    /// <summary>Opens <paramref name="count"/> connections, <paramref name="parallel"/> at a time, each subscribed with <paramref name="subscribeFrame"/>.</summary>
    public async Task ConnectAsync(Uri hub, int count, Func<int, string> subscribeFrame, int parallel = 64)
    {
        var ws = new UriBuilder(hub) { Scheme = hub.Scheme == "https" ? "wss" : "ws" }.Uri;
        using var gate = new SemaphoreSlim(parallel);
        var tasks = new List<Task>();
        for (var i = 0; i < count; i++)
        {
            await gate.WaitAsync();
            var subscriber = new Subscriber(this);
            _subscribers.Add(subscriber);
            var frame = subscribeFrame(i);
            tasks.Add(Task.Run(async () =>
            {
                try
                {
                    await subscriber.ConnectAsync(ws, frame);
                }
                finally
                {
                    gate.Release();
                }
            }));
        }

        await Task.WhenAll(tasks);
    }

    /// <summary>Prepares the latency sample store for an expected number of deliveries.</summary>
    public void ResetCounters(long expectedDeliveries)
    {
        _latencies = new long[Math.Max(1024, expectedDeliveries + 1024)];
        Interlocked.Exchange(ref _latencyCount, 0);
        foreach (var s in _subscribers)
        {
            s.ResetCounts();
        }
    }

    public (double P50, double P99, double Max) LatencyMs()
    {
        var count = (int)Math.Min(Interlocked.Read(ref _latencyCount), _latencies.Length);
        if (count == 0)
        {
            return (0, 0, 0);
        }

        var samples = _latencies.AsSpan(0, count).ToArray();
        Array.Sort(samples);
        double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
        return (Ms(samples[(int)(count * 0.50)]), Ms(samples[Math.Min(count - 1, (int)(count * 0.99))]), Ms(samples[^1]));
    }

    /// <summary>
    /// For stalled subscribers, after a run: how many the server has closed or cut off. Reads each socket for up
    /// to <paramref name="wait"/>; a socket still open and quiet by then was kept.
    /// </summary>
    public async Task<int> CountClosedByServerAsync(TimeSpan wait)
    {
        var closed = await Task.WhenAll(_subscribers.Select(s => s.ClosedByServerAsync(wait)));
        return closed.Count(c => c);
    }

    public async Task WaitForAsync(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (!condition() && Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(10);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var s in _subscribers)
        {
            s.Abort();
        }

        await Task.WhenAll(_subscribers.Select(s => s.Completion));
    }

    internal void RecordLatency(long ticks)
    {
        var index = Interlocked.Increment(ref _latencyCount) - 1;
        if (index < _latencies.Length)
        {
            _latencies[index] = ticks;
        }
    }

    internal sealed class Subscriber(SubscriberPool pool)
    {
        public long Received;
        public long LastReceiveTimestamp;
        public long Gaps;
        public long Duplicates;
        private readonly TaskCompletionSource _subscribed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private ClientWebSocket _socket = new();
        private Task _loop = Task.CompletedTask;

        public string Epoch { get; private set; } = "";

        public long LastSeq { get; private set; }

        /// <summary>For a resume: the events the Subscribe answer carried (recovered: true).</summary>
        public int ResumedEvents { get; private set; }

        public bool? Recovered { get; private set; }

        public Task Completion => _loop;

        public Task ConnectAsync(Uri ws, string subscribeFrame) => OpenAsync(ws, subscribeFrame, _subscribed);

        /// <summary>Reconnects and subscribes again with this subscriber's last position.</summary>
        public Task ResumeAsync(Uri ws, string topic)
        {
            Recovered = null;
            _subscribedAgain = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return OpenAsync(ws, $"{{\"type\":1,\"invocationId\":\"1\",\"target\":\"Subscribe\",\"arguments\":[[{{\"topic\":\"{topic}\",\"epoch\":\"{Epoch}\",\"seq\":{LastSeq}}}]]}}", _subscribedAgain);
        }

        private TaskCompletionSource? _subscribedAgain;

        /// <summary>Connects, handshakes, sends the subscribe frame and waits for its answer.</summary>
        private async Task OpenAsync(Uri ws, string frame, TaskCompletionSource answered)
        {
            _socket = new ClientWebSocket();
            _socket.Options.KeepAliveInterval = TimeSpan.Zero;
            if (pool.Stalled)
            {
                // Kept for the socket's life: the handler owns the connection the socket was upgraded from.
                _invoker = new HttpMessageInvoker(SmallReceiveBuffer());
                await _socket.ConnectAsync(ws, _invoker, CancellationToken.None);
            }
            else
            {
                await _socket.ConnectAsync(ws, CancellationToken.None);
            }

            if (pool.Wire == Wire.SocketIo)
            {
                // Socket.IO drops packets sent before the namespace connect completes: subscribe on its answer.
                _socketIoSubscribe = Encoding.UTF8.GetBytes(frame);
                await _socket.SendAsync(SocketIoConnect, WebSocketMessageType.Text, true, CancellationToken.None);
            }
            else
            {
                await _socket.SendAsync(Handshake, WebSocketMessageType.Text, true, CancellationToken.None);
                await _socket.SendAsync(Encoding.UTF8.GetBytes(frame + "\u001e"), WebSocketMessageType.Text, true, CancellationToken.None);
            }

            _loop = Task.Run(ReceiveLoopAsync);
            await answered.Task.WaitAsync(TimeSpan.FromSeconds(60));
        }

        private byte[] _socketIoSubscribe = [];
        private HttpMessageInvoker? _invoker;

        /// <summary>A connection whose kernel receive buffer is small, so a reader that stops reading pushes back soon.</summary>
        private static SocketsHttpHandler SmallReceiveBuffer() => new()
        {
            ConnectCallback = async (context, cancel) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveBufferSize = 4096 };
                try
                {
                    await socket.ConnectAsync(context.DnsEndPoint, cancel);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };

        public void Abort() => _socket.Abort();

        /// <summary>Reads what is left until the server closes or cuts the socket (true), or until <paramref name="wait"/> passes (false).</summary>
        public async Task<bool> ClosedByServerAsync(TimeSpan wait)
        {
            var buffer = new byte[16 * 1024];
            using var timeout = new CancellationTokenSource(wait);
            try
            {
                while (true)
                {
                    var result = await _socket.ReceiveAsync(buffer, timeout.Token);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        return true;
                    }
                }
            }
            catch (OperationCanceledException)
            {
                return false;
            }
            catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException)
            {
                return !timeout.IsCancellationRequested;
            }
        }

        public void ResetCounts()
        {
            Interlocked.Exchange(ref Received, 0);
            Gaps = 0;
            Duplicates = 0;
        }

        private async Task ReceiveLoopAsync()
        {
            var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
            var filled = 0;
            try
            {
                while (_socket.State == WebSocketState.Open)
                {
                    if (filled == buffer.Length)
                    {
                        var bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                        buffer.AsSpan(0, filled).CopyTo(bigger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = bigger;
                    }

                    var result = await _socket.ReceiveAsync(buffer.AsMemory(filled), CancellationToken.None);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        break;
                    }

                    filled += result.Count;
                    if (pool.Wire == Wire.SocketIo)
                    {
                        if (!result.EndOfMessage)
                        {
                            continue;
                        }

                        var reply = HandleSocketIo(buffer.AsSpan(0, filled));
                        filled = 0;
                        if (reply is not null)
                        {
                            await _socket.SendAsync(reply, WebSocketMessageType.Text, true, CancellationToken.None);
                        }

                        if (pool.Stalled && _subscribed.Task.IsCompleted)
                        {
                            return;
                        }

                        continue;
                    }

                    var consumed = 0;
                    int end;
                    while ((end = buffer.AsSpan(consumed, filled - consumed).IndexOf(RecordSeparator)) >= 0)
                    {
                        Handle(buffer.AsSpan(consumed, end));
                        consumed += end + 1;
                    }

                    buffer.AsSpan(consumed, filled - consumed).CopyTo(buffer);
                    filled -= consumed;
                    if (pool.Stalled && _subscribed.Task.IsCompleted)
                    {
                        // Stop reading, leave the socket open: the server's buffers for it fill up.
                        return;
                    }
                }
            }
            catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or OperationCanceledException or IOException)
            {
                // Aborted by the benchmark, or the server went away: the counts say what arrived.
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        private void Handle(ReadOnlySpan<byte> frame)
        {
            // Only "event" invocations: LiveNews also pushes "viewers" counts on article topics.
            if (frame.StartsWith("{\"type\":1,"u8) && frame[..Math.Min(frame.Length, 64)].IndexOf("\"target\":\"event\""u8) >= 0)
            {
                OnEvent(frame);
            }
            else if (frame.StartsWith("{\"type\":3,"u8))
            {
                OnCompletion(frame);
            }
        }

        /// <summary>Handles one Socket.IO packet; returns what to send back, if anything.</summary>
        private byte[]? HandleSocketIo(ReadOnlySpan<byte> packet)
        {
            if (packet.StartsWith("42[\"event\","u8))
            {
                OnEvent(packet);
                return null;
            }

            if (packet.SequenceEqual("2"u8))
            {
                return SocketIoPong;
            }

            if (packet.StartsWith("40"u8))
            {
                return _socketIoSubscribe;
            }

            if (packet.StartsWith("42[\"subscribed\""u8))
            {
                _subscribed.TrySetResult();
            }
            else if (packet.StartsWith("44"u8))
            {
                _subscribed.TrySetException(new InvalidOperationException($"Socket.IO connect refused: {Encoding.UTF8.GetString(packet)}"));
            }

            return null;
        }

        /// <summary>An event in either protocol: the envelope's first seq and the text's send timestamp.</summary>
        private void OnEvent(ReadOnlySpan<byte> frame)
        {
            var now = Stopwatch.GetTimestamp();
            pool.EventFrameBytes = frame.Length;
            var seq = ReadLong(frame, "\"seq\":"u8);
            var t = ReadLong(frame, "\"text\":\"t="u8);
            if (!pool.Ordered)
            {
                // The baseline hub promises no order (its publishes race): count every event.
                Interlocked.Increment(ref Received);
                Interlocked.Exchange(ref LastReceiveTimestamp, now);
                pool.RecordLatency(now - t);
                return;
            }

            if (seq <= LastSeq)
            {
                Duplicates++;
                return;
            }

            if (seq != LastSeq + 1)
            {
                Gaps++;
            }

            LastSeq = seq;
            Interlocked.Increment(ref Received);
            Interlocked.Exchange(ref LastReceiveTimestamp, now);
            if (t > 0)
            {
                pool.RecordLatency(now - t);
            }
        }

        private void OnCompletion(ReadOnlySpan<byte> frame)
        {
            using var json = JsonDocument.Parse(frame.ToArray());
            var root = json.RootElement;
            if (root.TryGetProperty("error", out var error))
            {
                var failure = new InvalidOperationException($"Subscribe failed: {error.GetString()}");
                _subscribed.TrySetException(failure);
                _subscribedAgain?.TrySetException(failure);
                return;
            }

            if (root.TryGetProperty("result", out var result) && result.ValueKind == JsonValueKind.Array && result.GetArrayLength() > 0)
            {
                var first = result[0];
                Epoch = first.GetProperty("epoch").GetString() ?? "";
                Recovered = first.GetProperty("recovered").GetBoolean();
                if (Recovered == true)
                {
                    var events = first.GetProperty("events");
                    ResumedEvents = events.GetArrayLength();
                    foreach (var e in events.EnumerateArray())
                    {
                        var seq = e.GetProperty("seq").GetInt64();
                        if (seq != LastSeq + 1)
                        {
                            Gaps++;
                        }

                        LastSeq = seq;
                    }
                }
                else
                {
                    LastSeq = first.GetProperty("seq").GetInt64();
                }
            }

            _subscribed.TrySetResult();
            _subscribedAgain?.TrySetResult();
        }

        private static long ReadLong(ReadOnlySpan<byte> frame, ReadOnlySpan<byte> marker)
        {
            var at = frame.IndexOf(marker);
            if (at < 0)
            {
                return -1;
            }

            return Utf8Parser.TryParse(frame[(at + marker.Length)..], out long value, out _) ? value : -1;
        }
    }
}
