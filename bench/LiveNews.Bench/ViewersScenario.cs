using System.Globalization;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace LiveNews.Bench;

/// <summary>One viewers run: what counting cost Redis per interval, idle and while readers came and went.</summary>
internal sealed record ViewersResult(
    int Nodes, int Topics, int Readers, double ChurnPerInterval, double CommandsIdle, double CommandsChurn, long Counted, long Connected);

/// <summary>
/// "N watching" at scale: readers spread over nodes and topics, then a window where nobody moves and one
/// where readers keep leaving and joining. Counting must cost Redis the same per interval in both (it
/// grows with nodes and topics, never with joins and leaves), and the count must end exact.
/// </summary>
internal static class ViewersScenario
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    // Commands only viewer counting sends while nothing is published: inside its script (DEL, HSET,
    // PEXPIRE, ZADD, ZREMRANGEBYSCORE, ZRANGE) and the HGETALL of each node's hash. A join's snapshot read
    // uses none of them. The script call itself is one per ZADD.
    private static readonly string[] ViewerCommands = ["del", "hset", "pexpire", "zadd", "zremrangebyscore", "zrange", "hgetall"];

    public static async Task<ViewersResult> RunAsync(int nodes, int topics, int readers, int windowIntervals = 5)
    {
        await using var servers = await Servers.StartLiveNewsAsync(nodes, new Dictionary<string, string>
        {
            ["Realtime__ViewerCountInterval"] = Interval.ToString(),
        });
        var names = new List<string> { "live" };
        using (var editor = new HttpClient { BaseAddress = servers.Url })
        {
            editor.DefaultRequestHeaders.Add("X-Api-Key", Servers.ApiKey);
            (await editor.PutAsJsonAsync("/api/live", new { title = "Bench", streamUrl = "https://video.example/bench" })).EnsureSuccessStatusCode();
            for (var i = 1; i < topics; i++)
            {
                (await editor.PutAsJsonAsync($"/api/articles/bench-{i}", new { headline = "Bench", url = $"https://news.example/{i}" })).EnsureSuccessStatusCode();
                names.Add($"article:bench-{i}");
            }
        }

        string Frame(int i) =>
            $"{{\"type\":1,\"invocationId\":\"1\",\"target\":\"Subscribe\",\"arguments\":[[{{\"topic\":\"{names[i % names.Count]}\"}}]]}}";

        // Reader i on node i % nodes, topic i % topics.
        var pools = servers.NodeUrls.Select(_ => new SubscriberPool()).ToArray();
        var left = new HashSet<SubscriberPool.Subscriber>();
        try
        {
            for (var n = 0; n < nodes; n++)
            {
                var count = (readers / nodes) + (n < readers % nodes ? 1 : 0);
                await pools[n].ConnectAsync(new Uri(servers.NodeUrls[n], "/hubs/live"), count, i => Frame((i * nodes) + n));
            }

            await Task.Delay(Interval * 3);
            var idle = await CommandsPerIntervalAsync(servers.RedisPort, windowIntervals, () => Task.CompletedTask);

            // Churn: a tenth of the readers leave, and as many join, again and again through the window.
            long moves = 0;
            var churnStart = DateTime.UtcNow;
            var churn = await CommandsPerIntervalAsync(servers.RedisPort, windowIntervals, async () =>
            {
                var batch = Math.Max(1, readers / 10);
                for (var n = 0; n < nodes; n++)
                {
                    var leaving = pools[n].Subscribers.Where(s => !left.Contains(s)).Take(Math.Max(1, batch / nodes)).ToArray();
                    foreach (var subscriber in leaving)
                    {
                        left.Add(subscriber);
                        subscriber.Abort();
                    }

                    var offset = pools[n].Subscribers.Count;
                    await pools[n].ConnectAsync(new Uri(servers.NodeUrls[n], "/hubs/live"), leaving.Length, i => Frame(((offset + i) * nodes) + n));
                    Interlocked.Add(ref moves, leaving.Length * 2);
                }
            });
            var churnIntervals = (DateTime.UtcNow - churnStart) / Interval;

            // Exact at the end: what every node answers for `live` is the readers of `live` still connected.
            await Task.Delay(Interval * 3);
            var connected = pools.Sum(pool => pool.Subscribers.Select((s, i) => (s, i)).LongCount(x => !left.Contains(x.s) && ReaderTopic(pool, x.i) == 0));
            long counted;
            using (var http = new HttpClient { BaseAddress = servers.NodeUrls[^1] })
            {
                counted = (await http.GetFromJsonAsync<JsonElement>("/api/topics/live")).GetProperty("viewers").GetInt64();
            }

            return new ViewersResult(nodes, topics, readers, moves / churnIntervals, idle, churn, counted, connected);

            // Frames are built with ((i * nodes) + n) % topics: reader i of pool n reads topic 0 (live) when that is 0.
            int ReaderTopic(SubscriberPool pool, int i) => ((i * nodes) + Array.IndexOf(pools, pool)) % names.Count;
        }
        finally
        {
            foreach (var pool in pools)
            {
                await pool.DisposeAsync();
            }
        }
    }

    /// <summary>Viewer-counting commands per interval while <paramref name="load"/> runs in a loop for the window.</summary>
    private static async Task<double> CommandsPerIntervalAsync(int redisPort, int intervals, Func<Task> load)
    {
        var before = await ViewerCommandCallsAsync(redisPort);
        var start = DateTime.UtcNow;
        var until = start + (Interval * intervals);
        while (DateTime.UtcNow < until)
        {
            await load();
            await Task.Delay(50);
        }

        var after = await ViewerCommandCallsAsync(redisPort);
        return (after - before) / ((DateTime.UtcNow - start) / Interval);
    }

    /// <summary>Sums the calls of <see cref="ViewerCommands"/> from <c>INFO commandstats</c> (commands run by scripts included).</summary>
    private static async Task<long> ViewerCommandCallsAsync(int port)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port);
        var stream = tcp.GetStream();
        await stream.WriteAsync("INFO commandstats\r\n"u8.ToArray());
        using var reader = new StreamReader(stream, Encoding.ASCII);
        var header = await reader.ReadLineAsync() ?? throw new InvalidOperationException("redis-server closed the connection");
        var length = int.Parse(header.AsSpan(1), CultureInfo.InvariantCulture);
        var body = new char[length];
        var read = 0;
        while (read < length)
        {
            read += await reader.ReadAsync(body.AsMemory(read));
        }

        long total = 0;
        foreach (var line in new string(body).Split("\r\n"))
        {
            // cmdstat_hset:calls=12,usec=...
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (!line.StartsWith("cmdstat_", StringComparison.Ordinal) || colon < 0 || !ViewerCommands.Contains(line[8..colon]))
            {
                continue;
            }

            var calls = line[(colon + 1)..].Split(',')[0];
            total += long.Parse(calls["calls=".Length..], CultureInfo.InvariantCulture);
        }

        return total;
    }
}
