using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using LiveNews.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace LiveNews.Server.Tests.Deploy;

/// <summary>
/// The deploy users run: Debian's nginx with the shipped <c>deploy/nginx.conf</c> in front of real server
/// processes on one redis-server, every node restarted in turn with SIGTERM while an editor publishes and
/// hundreds of readers stay connected through nginx.
/// </summary>
[Collection("redis")]
public sealed class NginxTests(RedisFixture redis, ITestOutputHelper output) : IClassFixture<RedisFixture>, IAsyncLifetime
{
    private const int Readers = 500;
    private const string Article = "rolling-restart";
    private const string Topic = "article:" + Article;
    private readonly string _prefix = $"nginx-{Guid.NewGuid():N}"[..32];
    private readonly List<ServerProcess> _nodes = [];
    private Nginx? _nginx;

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        _nginx?.Dispose();
        foreach (var node in _nodes)
        {
            node.Dispose();
        }

        return Task.CompletedTask;
    }

    [Fact]
    public async Task RollingRestart_BehindNginx_EveryReaderGetsEveryEventOnceInOrderAndNoWriteIsLost()
    {
        var (ports, nginx) = await StartTwoNodesBehindNginxAsync();
        using var editor = new HttpClient { BaseAddress = nginx.BaseAddress };
        editor.DefaultRequestHeaders.Add("X-Api-Key", LiveNewsNode.EditorKey);
        (await editor.PutJsonAsync($"/api/articles/{Article}", new { headline = "Rolling restart", url = "https://news.example/rolling" })).EnsureSuccessStatusCode();

        // Each reader from its own loopback address: nginx forwards it, the nodes limit each one on its own
        // (RateLimits:ConnectionsPerAddress is 2 here: 500 readers from one address would be refused).
        var hub = new Uri($"ws://127.0.0.1:{nginx.Port}/hubs/live");
        var readers = Enumerable.Range(0, Readers).Select(i => new HubReader(hub, Topic, new IPAddress([127, 0, (byte)(1 + (i / 250)), (byte)(1 + (i % 250))]))).ToList();
        try
        {
            var connecting = Stopwatch.StartNew();
            foreach (var batch in readers.Chunk(50))
            {
                try
                {
                    await Task.WhenAll(batch.Select(r => r.StartAsync()));
                }
                catch (TimeoutException)
                {
                    var stuck = batch.First(r => !r.IsSubscribed);
                    throw new TimeoutException($"A reader did not subscribe through nginx within 60 s: {stuck.Connections} connections, {stuck.Dropped} dropped, last failure {stuck.LastFailure}, first {stuck.FirstFailure}; nginx: {nginx.ErrorLog}; nodes: {string.Join("\n", _nodes.SelectMany(n => n.Output.TakeLast(30)))}");
                }
            }

            output.WriteLine($"{Readers} readers connected through nginx in {connecting.ElapsedMilliseconds} ms");
            readers.ForEach(r => r.StartMeasuring());

            using var stopWriting = new CancellationTokenSource();
            var writer = WriteSteadilyAsync(editor, stopWriting.Token);

            // The rolling restart: one node after the other, SIGTERM, wait for it to exit, start it again.
            var drains = new List<string>();
            foreach (var (node, index) in _nodes.ToList().Select((n, i) => (n, i)))
            {
                await Eventually.TrueAsync(() => writer.IsCompleted || readers.All(r => r.IsSubscribed), "every reader to be connected before the next restart", seconds: 60);
                var stopping = Stopwatch.StartNew();
                node.Terminate();
                await node.WaitForExitAsync(seconds: 60);
                var drained = node.Output.LastOrDefault(line => line.Contains("Drained in", StringComparison.Ordinal));
                drains.Add($"node {index + 1}: exited {stopping.ElapsedMilliseconds} ms after SIGTERM ({drained?.Trim() ?? "no drain logged"})");
                node.Dispose();
                _nodes[index] = await ServerProcess.StartAsync(NodeSettings(), ports[index]);

                // The deploy's last step per node (README, "Deploy"): nginx took the node out of rotation at its
                // last refused request, just before it was ready, and tries it again fail_timeout later.
                // Stopping the next node before that would leave nginx no node to send to (502).
                await Task.Delay(nginx.FailTimeout);
            }

            // A few more events after the last restart, so every reader shows it is connected again.
            await Task.Delay(TimeSpan.FromSeconds(1));
            await stopWriting.CancelAsync();
            var writes = await writer;
            Assert.True(writes.Unexpected.Count == 0, "editor writes failed for a reason a retry does not fix: " + string.Join("; ", writes.Unexpected));

            using var direct = _nodes[0].Anonymous();
            var final = (await direct.GetFromJsonAsync<JsonElement>($"/api/topics/{Topic}")).GetProperty("seq").GetInt64();
            await Eventually.TrueAsync(() => readers.All(r => r.LastSeq == final), $"every reader to reach seq {final}", seconds: 60);

            foreach (var reader in readers)
            {
                Assert.Empty(reader.Problems);
                Assert.Equal(LongRange(reader.StartSeq + 1, final), reader.Seqs);
            }

            // Every accepted write published exactly one event: retries with the same key published nothing twice.
            var firstSeq = readers.Min(r => r.StartSeq);
            Assert.Equal(writes.Accepted, final - firstSeq);

            var longestGap = readers.Max(r => r.LongestGap);
            output.WriteLine($"writes: {writes.Accepted} accepted, longest pause between two {writes.LongestPause.TotalMilliseconds:F0} ms, retried after {(writes.Retried.Count == 0 ? "nothing" : string.Join(", ", writes.Retried.Select(kv => $"{kv.Value}x {kv.Key}")))}");
            output.WriteLine($"readers: longest gap between two events {longestGap.TotalMilliseconds:F0} ms (events every {WriteInterval.TotalMilliseconds:F0} ms); told to reconnect {readers.Sum(r => r.ToldToReconnect)}x, dropped {readers.Sum(r => r.Dropped)}x, connections {readers.Sum(r => r.Connections)}");
            drains.ForEach(output.WriteLine);
            Assert.True(readers.Sum(r => r.ToldToReconnect) >= Readers, "the draining nodes told their readers to reconnect");
        }
        finally
        {
            await Task.WhenAll(readers.Select(r => r.DisposeAsync().AsTask()));
        }
    }

    /// <summary>
    /// Why hub connections have their own upstream: nginx puts a node that failed back into rotation with
    /// one request after fail_timeout and counts that request a success only when it ends. When that request
    /// was a reader's WebSocket, the node stayed out for as long as the reader stayed, and a rolling restart
    /// that then stopped the other node left nginx answering 502 to every reader for minutes.
    /// </summary>
    [Fact]
    public async Task HubConnections_AfterANodeCameBack_ReachItAgainWhileItsFirstReaderStaysConnected()
    {
        var (ports, nginx) = await StartTwoNodesBehindNginxAsync();
        var hub = new Uri($"ws://127.0.0.1:{nginx.Port}/hubs/live");
        var readers = new List<HubReader>();
        try
        {
            // The first node stops; readers connecting meanwhile find it refusing and land on the second.
            _nodes[0].Terminate();
            await _nodes[0].WaitForExitAsync();
            _nodes[0].Dispose();
            var meanwhile = Enumerable.Range(1, 4).Select(i => new HubReader(hub, "live", IPAddress.Parse($"127.0.2.{i}"))).ToList();
            readers.AddRange(meanwhile);
            await Task.WhenAll(meanwhile.Select(r => r.StartAsync()));

            // Back and ready; nginx would try it again after fail_timeout, had it taken it out of rotation.
            _nodes[0] = await ServerProcess.StartAsync(NodeSettings(), ports[0]);
            await Task.Delay(nginx.FailTimeout + TimeSpan.FromSeconds(1));

            // 20 readers at once: round robin sends about half to the node that came back.
            var after = Enumerable.Range(1, 20).Select(i => new HubReader(hub, "live", IPAddress.Parse($"127.0.3.{i}"))).ToList();
            readers.AddRange(after);
            await Task.WhenAll(after.Select(r => r.StartAsync()));
            var onFirst = await ConnectionsAsync(_nodes[0]);
            Assert.True(onFirst >= 5, $"the node that came back holds {onFirst} of the 20 new hub connections (about 10 expected; 1 when nginx keeps it out of rotation while its first WebSocket lasts)");
        }
        finally
        {
            await Task.WhenAll(readers.Select(r => r.DisposeAsync().AsTask()));
        }
    }

    [Fact]
    public async Task RateLimits_ThroughNginx_CountTheReadersOwnAddress()
    {
        var port = Ports.Free();
        _nodes.Add(await ServerProcess.StartAsync(NodeSettings(new() { ["RateLimits:PublicRequestsPerMinute"] = "3" }), port));
        _nginx = await Nginx.StartAsync([port]);

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], await ReadsFromAsync(IPAddress.Parse("127.0.0.3"), 4));
        Assert.Equal([HttpStatusCode.OK], await ReadsFromAsync(IPAddress.Parse("127.0.0.4"), 1));
    }

    private async Task<(int[] Ports, Nginx Nginx)> StartTwoNodesBehindNginxAsync()
    {
        var first = Ports.Stable();
        var second = Ports.Stable();
        while (second == first)
        {
            second = Ports.Stable();
        }

        var ports = new[] { first, second };
        foreach (var port in ports)
        {
            _nodes.Add(await ServerProcess.StartAsync(NodeSettings(), port));
        }

        _nginx = await Nginx.StartAsync(ports);
        return (ports, _nginx);
    }

    /// <summary>Hub connections and event streams open on one node, from its own /metrics (one process, one meter).</summary>
    private static async Task<int> ConnectionsAsync(ServerProcess node)
    {
        using var http = node.Anonymous();
        var found = Regex.Match(await http.GetStringAsync("/metrics"), @"^livenews_connections(\{[^}]*\})? (?<count>\d+)", RegexOptions.Multiline);
        return found.Success ? int.Parse(found.Groups["count"].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
    }

    private static readonly TimeSpan WriteInterval = TimeSpan.FromMilliseconds(100);

    private Dictionary<string, string> NodeSettings(Dictionary<string, string>? more = null)
    {
        var settings = new Dictionary<string, string>
        {
            ["Redis:Configuration"] = redis.Configuration,
            ["Redis:KeyPrefix"] = _prefix,
            ["RateLimits:KnownProxies:0"] = "127.0.0.1",
            ["RateLimits:ConnectionsPerAddress"] = "2",
            ["Realtime:DrainTimeout"] = "00:00:05",
        };
        foreach (var (key, value) in more ?? [])
        {
            settings[key] = value;
        }

        return settings;
    }

    /// <summary>What a CMS does: one entry every <see cref="WriteInterval"/>, each retried with its Idempotency-Key until accepted.</summary>
    private static async Task<WriteResults> WriteSteadilyAsync(HttpClient editor, CancellationToken stop)
    {
        var results = new WriteResults();
        for (var i = 1; !stop.IsCancellationRequested; i++)
        {
            var key = $"entry-{i}";
            while (true)
            {
                string status;
                try
                {
                    var response = await editor.PostJsonAsync($"/api/articles/{Article}/entries", new { text = $"Entry {i}" }, key);
                    if (response.StatusCode == HttpStatusCode.Created)
                    {
                        results.Record(Stopwatch.GetTimestamp());
                        break;
                    }

                    status = ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
                    if (response.StatusCode is not (HttpStatusCode.ServiceUnavailable or HttpStatusCode.BadGateway or HttpStatusCode.TooManyRequests))
                    {
                        results.Unexpected.Add($"{key}: {status} {await response.Content.ReadAsStringAsync(CancellationToken.None)}");
                        break;
                    }
                }
                catch (HttpRequestException ex)
                {
                    status = ex.HttpRequestError.ToString();
                }

                results.Retried[status] = results.Retried.GetValueOrDefault(status) + 1;
                await Task.Delay(WriteInterval, CancellationToken.None);
            }

            await Task.Delay(WriteInterval, CancellationToken.None);
        }

        return results;
    }

    private async Task<List<HttpStatusCode>> ReadsFromAsync(IPAddress address, int count)
    {
        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
                socket.Bind(new IPEndPoint(address, 0));
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        using var client = new HttpClient(handler) { BaseAddress = _nginx!.BaseAddress };
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < count; i++)
        {
            statuses.Add((await client.GetAsync("/api/topics/live")).StatusCode);
        }

        return statuses;
    }

    private static List<long> LongRange(long from, long to)
    {
        var range = new List<long>();
        for (var seq = from; seq <= to; seq++)
        {
            range.Add(seq);
        }

        return range;
    }

    private sealed class WriteResults
    {
        private long _lastAcceptedAt;

        public long Accepted { get; private set; }

        /// <summary>The longest time between two accepted writes: readers cannot see events closer than this.</summary>
        public TimeSpan LongestPause { get; private set; }

        public void Record(long timestamp)
        {
            if (Accepted > 0 && Stopwatch.GetElapsedTime(_lastAcceptedAt, timestamp) > LongestPause)
            {
                LongestPause = Stopwatch.GetElapsedTime(_lastAcceptedAt, timestamp);
            }

            _lastAcceptedAt = timestamp;
            Accepted++;
        }

        public Dictionary<string, int> Retried { get; } = [];

        public List<string> Unexpected { get; } = [];
    }
}
