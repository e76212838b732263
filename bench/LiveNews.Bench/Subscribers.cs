using System.Buffers;
using System.Buffers.Text;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace LiveNews.Bench;

/// <summary>
/// Many subscribers speaking the SignalR JSON protocol over raw WebSockets: one socket and one receive
/// loop each, no HubConnection, and frames read by searching for the few fields the benchmark needs.
/// </summary>
internal sealed class SubscriberPool : IAsyncDisposable
{
    private const byte RecordSeparator = 0x1e;
    private static readonly byte[] Handshake = Encoding.UTF8.GetBytes("{\"protocol\":\"json\",\"version\":1}\u001e");

    private readonly List<Subscriber> _subscribers = [];
    private long[] _latencies = new long[1024];
    private long _latencyCount;

    public IReadOnlyList<Subscriber> Subscribers => _subscribers;

    /// <summary>Whether events must arrive in seq order, once (LiveNews) or merely arrive (the baseline).</summary>
    public bool Ordered { get; init; } = true;

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
            await _socket.ConnectAsync(ws, CancellationToken.None);
            await _socket.SendAsync(Handshake, WebSocketMessageType.Text, true, CancellationToken.None);
            await _socket.SendAsync(Encoding.UTF8.GetBytes(frame + "\u001e"), WebSocketMessageType.Text, true, CancellationToken.None);
            _loop = Task.Run(ReceiveLoopAsync);
            await answered.Task.WaitAsync(TimeSpan.FromSeconds(60));
        }

        public void Abort() => _socket.Abort();

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
                    var consumed = 0;
                    int end;
                    while ((end = buffer.AsSpan(consumed, filled - consumed).IndexOf(RecordSeparator)) >= 0)
                    {
                        Handle(buffer.AsSpan(consumed, end));
                        consumed += end + 1;
                    }

                    buffer.AsSpan(consumed, filled - consumed).CopyTo(buffer);
                    filled -= consumed;
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
            var now = Stopwatch.GetTimestamp();
            if (frame.StartsWith("{\"type\":1,"u8))
            {
                var seq = ReadLong(frame, "\"seq\":"u8);
                var t = ReadLong(frame, "\"headline\":\"t="u8);
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
            else if (frame.StartsWith("{\"type\":3,"u8))
            {
                OnCompletion(frame);
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
