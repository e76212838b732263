using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;

namespace LiveNews.Bench;

/// <summary>One measured broadcast run against one system.</summary>
internal sealed record RunResult(
    string Scenario, string System, int Subscribers, int Events, long Expected, long Delivered, long Gaps, long Duplicates,
    double Seconds, double DeliveriesPerSecond, double P50Ms, double P99Ms, double MaxMs, double ServerCpuSeconds, double RssPerConnectionKb,
    double PeakRssMb, int EventFrameBytes, int Stalled = 0, int StalledClosed = 0)
{
    public long Lost => Expected - Delivered;

    public double CpuPer100k => Delivered == 0 ? 0 : ServerCpuSeconds / Delivered * 100_000;
}

internal sealed record ApiResult(int Publishes, double Seconds, double PerSecond, double P50Ms, double P99Ms, double ServiceP99Ms, double ClientLagP99Ms, int Failures);

internal sealed record ResumeResult(int Subscribers, int Missed, int Recovered, long Gaps, double Seconds);

internal sealed record ConnectResult(int Subscribers, double Seconds, double RssPerConnectionKb);

/// <summary>The scenarios of bench/README.md. Each run starts fresh servers so runs do not share state.</summary>
internal static class Scenarios
{
    private const int PayloadBytes = 200;

    /// <summary>
    /// Subscribers of the system's topic, then events published back to back (<paramref name="eventsPerSecond"/> 0)
    /// or paced; optionally beside <paramref name="stalled"/> subscribers that stop reading once subscribed,
    /// which are not counted. <paramref name="warmUpEvents"/> go first, at the same pace, not measured.
    /// </summary>
    public static async Task<RunResult> BroadcastAsync(
        string scenario, SystemKind system, int subscribers, int events, double eventsPerSecond, int publishConcurrency, int warmUpEvents, int stalled = 0)
    {
        await using var servers = await Servers.StartAsync(system);
        var process = servers.Process;
        await using var pool = new SubscriberPool { Ordered = servers.Ordered, Wire = servers.Wire };
        await using var stalledPool = new SubscriberPool { Ordered = servers.Ordered, Wire = servers.Wire, Stalled = true };
        var rssBefore = process.RssBytes();
        await pool.ConnectAsync(servers.HubUrl, subscribers, _ => servers.SubscribeFrame);
        GC.Collect();
        await Task.Delay(500);
        var rssPerConnection = (process.RssBytes() - rssBefore) / 1024.0 / Math.Max(1, subscribers);

        // A warm-up at the scenario's own pace, for every system: what is measured is a server that has been
        // serving, not its first seconds, which pay for lazy set-up and the JIT (a paced p99 is the slowest 1% of
        // deliveries, one event's worth at 2,000 readers: with one warm-up event, it was set by those seconds).
        using var http = servers.Editor();
        var warmUpDeliveries = (long)subscribers * warmUpEvents;
        pool.ResetCounters(warmUpDeliveries);
        await PublishAsync(http, servers.PublishPath, warmUpEvents, eventsPerSecond, publishConcurrency);
        await pool.WaitForAsync(() => pool.Received >= warmUpDeliveries, TimeSpan.FromSeconds(60));
        if (pool.Received < warmUpDeliveries)
        {
            // Late warm-up deliveries would be counted, and timed, as measured ones.
            throw new TimeoutException($"The warm-up delivered {pool.Received} of {warmUpDeliveries} within 60 s.");
        }

        // Stalled readers join after it: they stop reading once subscribed, so what they miss is the measured burst.
        await stalledPool.ConnectAsync(servers.HubUrl, stalled, _ => servers.SubscribeFrame);

        var expected = (long)subscribers * events;
        pool.ResetCounters(expected);
        var cpuBefore = process.CpuSeconds();
        using var peakRss = new PeakRss(process);
        var start = Stopwatch.GetTimestamp();
        await PublishAsync(http, servers.PublishPath, events, eventsPerSecond, publishConcurrency);
        var drainTimeout = TimeSpan.FromSeconds(Math.Max(30, events / Math.Max(1, eventsPerSecond) + 30));
        await pool.WaitForAsync(() => pool.Received >= expected, drainTimeout);
        var end = pool.LastReceiveTimestamp;
        var cpu = process.CpuSeconds() - cpuBefore;
        var seconds = Math.Max(1e-6, (end - start) / (double)Stopwatch.Frequency);
        var (p50, p99, max) = pool.LatencyMs();
        var peak = peakRss.Stop();
        var stalledClosed = stalled == 0 ? 0 : await stalledPool.CountClosedByServerAsync(TimeSpan.FromSeconds(2));
        return new RunResult(scenario, servers.Name, subscribers, events, expected, pool.Received, pool.Gaps, pool.Duplicates,
            seconds, pool.Received / seconds, p50, p99, max, cpu, rssPerConnection, peak / 1024.0 / 1024.0, pool.EventFrameBytes, stalled, stalledClosed);
    }

    /// <summary>
    /// Server RSS growth per connection once <paramref name="subscribers"/> idle subscribers have settled; with
    /// <paramref name="gcdumps"/>, a .NET server's heap is also dumped before and after (dotnet-gcdump), to
    /// see what the connections hold.
    /// </summary>
    public static async Task<double> IdleMemoryAsync(SystemKind system, int subscribers, string? gcdumps = null)
    {
        await using var servers = await Servers.StartAsync(system);
        await using var pool = new SubscriberPool { Wire = servers.Wire };
        await Task.Delay(1000);
        // RSS is read before each dump: a dump collects the heap first, which would move the figure.
        var before = servers.Process.RssBytes();
        var dumps = gcdumps is not null && system != SystemKind.SocketIo;
        if (dumps)
        {
            await GcDumpAsync(servers, gcdumps!, "before");
        }

        await pool.ConnectAsync(servers.HubUrl, subscribers, _ => servers.SubscribeFrame);
        await Task.Delay(3000);
        var perConnection = (servers.Process.RssBytes() - before) / 1024.0 / subscribers;
        if (dumps)
        {
            await GcDumpAsync(servers, gcdumps!, $"{subscribers}-idle");
        }

        return perConnection;
    }

    /// <summary>Writes the server's heap to DIR/system-when.gcdump and its type report beside it (.txt).</summary>
    private static async Task GcDumpAsync(Servers servers, string directory, string when)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, $"{servers.Name.Split(' ')[0].ToLowerInvariant()}-{when}-{DateTime.UtcNow:HHmmss}.gcdump");
        var installed = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".dotnet", "tools", "dotnet-gcdump");
        var tool = File.Exists(installed) ? installed : "dotnet-gcdump";
        await RunAsync(tool, ["collect", "-p", servers.Process.Pid.ToString(CultureInfo.InvariantCulture), "-o", path]);
        await File.WriteAllTextAsync(Path.ChangeExtension(path, ".txt"), await RunAsync(tool, ["report", path]));
    }

    private static async Task<string> RunAsync(string file, string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        args.ToList().ForEach(start.ArgumentList.Add);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0 ? await output : throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({process.ExitCode}); install it with `dotnet tool install -g {Path.GetFileName(file)}`: {await errors}");
    }

    /// <summary>All <paramref name="subscribers"/> connect and subscribe at once: the time until every one is subscribed.</summary>
    public static async Task<ConnectResult> ConnectStormAsync(SystemKind system, int subscribers)
    {
        await using var servers = await Servers.StartAsync(system);
        await using var pool = new SubscriberPool { Wire = servers.Wire };

        // A few readers connect, subscribe and leave first: a storm meets a server that has been serving,
        // not one running its connect and subscribe code for the first time (the same for every system).
        await using (var warmUp = new SubscriberPool { Wire = servers.Wire })
        {
            await warmUp.ConnectAsync(servers.HubUrl, 64, _ => servers.SubscribeFrame);
        }

        await Task.Delay(1000);
        var before = servers.Process.RssBytes();
        var start = Stopwatch.GetTimestamp();
        await pool.ConnectAsync(servers.HubUrl, subscribers, _ => servers.SubscribeFrame, parallel: subscribers);
        var seconds = (Stopwatch.GetTimestamp() - start) / (double)Stopwatch.Frequency;
        return new ConnectResult(subscribers, seconds, (servers.Process.RssBytes() - before) / 1024.0 / subscribers);
    }

    /// <summary>
    /// Live-blog entries from <paramref name="concurrency"/> clients, each sending its next request when its last is
    /// answered (<paramref name="offeredPerSecond"/> 0: the rate the server sustains) or on a fixed schedule that
    /// together offers <paramref name="offeredPerSecond"/>. On a schedule, latency counts from when the request
    /// was due, so a server that falls behind is charged for the wait its clients spend (a closed loop hides it:
    /// its clients just send less), as wrk2 measures, less any lateness of the load client itself in sending a
    /// request it was free to send (its timer, its core): <see cref="ApiResult.ClientLagP99Ms"/>.
    /// <see cref="ApiResult.ServiceP99Ms"/> counts from the send.
    /// The same load runs 3 s first, not measured, as the broadcasts' warm-up does.
    /// </summary>
    public static async Task<ApiResult> EditorApiAsync(TimeSpan duration, int concurrency, double offeredPerSecond = 0)
    {
        await using var servers = await Servers.StartLiveNewsAsync();
        using var http = servers.Editor(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency });
        await LoadAsync(TimeSpan.FromSeconds(3));
        return await LoadAsync(duration);

        async Task<ApiResult> LoadAsync(TimeSpan length)
        {
            var samples = new List<(double FromDue, double FromSend, double Lag)>[concurrency];
            var failures = 0;
            var start = Stopwatch.GetTimestamp();
            var stopAt = start + (long)(length.TotalSeconds * Stopwatch.Frequency);
            await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async worker =>
            {
                samples[worker] = [];
                var previousDone = 0L;
                for (var k = 0; ; k++)
                {
                    var due = offeredPerSecond > 0 ? Due(start, ((double)k * concurrency) + worker, offeredPerSecond) : Stopwatch.GetTimestamp();
                    if (due >= stopAt)
                    {
                        break;
                    }

                    var sent = await SleepUntilAsync(due);
                    using var response = await http.PostAsJsonAsync(servers.PublishPath, new { text = Text(sent) });
                    var done = Stopwatch.GetTimestamp();
                    var late = Math.Max(0, sent - Math.Max(due, previousDone));
                    samples[worker].Add((Ms(done - due - late), Ms(done - sent), Ms(late)));
                    previousDone = done;
                    if (!response.IsSuccessStatusCode)
                    {
                        Interlocked.Increment(ref failures);
                    }
                }
            }));
            var seconds = (Stopwatch.GetTimestamp() - start) / (double)Stopwatch.Frequency;
            var all = samples.SelectMany(s => s).ToArray();
            double Percentile(Func<(double FromDue, double FromSend, double Lag), double> figure, double q)
            {
                var sorted = all.Select(figure).Order().ToArray();
                return sorted[(int)(sorted.Length * q)];
            }

            return new ApiResult(all.Length, seconds, all.Length / seconds, Percentile(s => s.FromDue, 0.5), Percentile(s => s.FromDue, 0.99),
                Percentile(s => s.FromSend, 0.99), Percentile(s => s.Lag, 0.99), failures);
        }

        static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
    }

    public static async Task<ResumeResult> ResumeStormAsync(int subscribers, int missed)
    {
        await using var servers = await Servers.StartLiveNewsAsync();
        var hub = servers.HubUrl;
        await using var pool = new SubscriberPool();
        await pool.ConnectAsync(hub, subscribers, _ => servers.SubscribeFrame);
        using var http = servers.Editor();
        var first = pool.Subscribers[0].LastSeq;
        await PublishAsync(http, servers.PublishPath, 5, 0, 1);
        await pool.WaitForAsync(() => pool.Subscribers.All(s => s.LastSeq == first + 5), TimeSpan.FromSeconds(60));

        foreach (var subscriber in pool.Subscribers)
        {
            subscriber.Abort();
        }

        await PublishAsync(http, servers.PublishPath, missed, 0, 1);
        var ws = new UriBuilder(hub) { Scheme = "ws" }.Uri;
        var start = Stopwatch.GetTimestamp();
        using var gate = new SemaphoreSlim(256);
        await Task.WhenAll(pool.Subscribers.Select(async s =>
        {
            await gate.WaitAsync();
            try
            {
                await s.ResumeAsync(ws, servers.Topic);
            }
            finally
            {
                gate.Release();
            }
        }));
        var seconds = (Stopwatch.GetTimestamp() - start) / (double)Stopwatch.Frequency;
        var recovered = pool.Subscribers.Count(s => s.Recovered == true && s.ResumedEvents == missed && s.LastSeq == first + 5 + missed);
        return new ResumeResult(subscribers, missed, recovered, pool.Gaps, seconds);
    }

    /// <summary>Publishes <paramref name="events"/> events of about 200 bytes, as fast as allowed or paced.</summary>
    private static async Task PublishAsync(HttpClient http, string path, int events, double perSecond, int concurrency)
    {
        var next = 0;
        var start = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) <= events)
            {
                if (perSecond > 0)
                {
                    await SleepUntilAsync(Due(start, i - 1, perSecond));
                }

                using var response = await http.PostAsJsonAsync(path, new { text = Text(Stopwatch.GetTimestamp()) });
                response.EnsureSuccessStatusCode();
            }
        }));
    }

    /// <summary>When request number <paramref name="index"/> (from 0) of a schedule of <paramref name="perSecond"/> from <paramref name="start"/> is due.</summary>
    private static long Due(long start, double index, double perSecond) => start + (long)(index / perSecond * Stopwatch.Frequency);

    /// <summary>Waits for <paramref name="due"/> (a <see cref="Stopwatch"/> timestamp) if it is ahead; returns when it woke, which a timer makes late.</summary>
    private static async Task<long> SleepUntilAsync(long due)
    {
        var now = Stopwatch.GetTimestamp();
        if (due <= now)
        {
            return now;
        }

        await Task.Delay(Stopwatch.GetElapsedTime(now, due));
        return Stopwatch.GetTimestamp();
    }

    /// <summary>An entry text that starts with the send timestamp, padded so the event data is about 200 bytes.</summary>
    private static string Text(long timestamp)
    {
        var text = new StringBuilder($"t={timestamp} ");
        text.Append('x', Math.Max(0, PayloadBytes - 60 - text.Length));
        return text.ToString();
    }
}
