// LiveNews load benchmark. See bench/README.md. Examples:
//   dotnet run -c Release --project bench/LiveNews.Bench -- all
//   dotnet run -c Release --project bench/LiveNews.Bench -- --quick burst paced
//   dotnet run -c Release --project bench/LiveNews.Bench -- --smoke
using System.Globalization;
using LiveNews.Bench;

if (args.Contains("--smoke"))
{
    return await Bench.SmokeAsync() ? 0 : 1;
}

if (await Pinning.ReexecutePinnedAsync(args) is { } exitCode)
{
    return exitCode;
}

var options = BenchOptions.Parse(args);
Console.Error.WriteLine($"bench: {Pinning.Description}; {options.Sizes.Describe(options.Runs)}");
var report = new Report(string.Join(' ', args), options.Sizes.Describe(options.Runs), options.Quick);
var sizes = options.Sizes;
SystemKind[] everyone = [SystemKind.LiveNews, SystemKind.SocketIo, SystemKind.RawWebSocket, SystemKind.SignalRHub];
const string LiveNews = "LiveNews";
var socketIo = Servers.NameOf(SystemKind.SocketIo);
var raw = Servers.NameOf(SystemKind.RawWebSocket);

if (options.Has("burst"))
{
    var series = await Bench.InterleavedAsync($"Burst: {sizes.BurstSubscribers:N0} subscribers × {sizes.BurstEvents} events back to back (4 publishers)", options.Runs,
        everyone.Select(k => Bench.System(k, async () => Bench.BurstFigures(await Scenarios.BroadcastAsync("burst", k, sizes.BurstSubscribers, sizes.BurstEvents, 0, 4, sizes.WarmUpEvents)))));
    report.Chart("Burst", series, "deliveries/s", higherIsBetter: true);
    report.Add(series,
        $"Deliveries/s: {Report.Ratio(series.Median(LiveNews, "deliveries/s"), series.Median(socketIo, "deliveries/s"))} Socket.IO's (target ≥ 4x), "
            + $"{Report.Ratio(series.Median(LiveNews, "deliveries/s"), series.Median(raw, "deliveries/s"))} the raw broadcast's (target ≥ 0.9x); LiveNews lost {series.Median(LiveNews, "lost"):0} (median; target 0).");
}

if (options.Has("paced"))
{
    foreach (var subscribers in new[] { sizes.PacedSmall, sizes.PacedLarge })
    {
        var events = sizes.PacedSeconds * 10;
        var series = await Bench.InterleavedAsync($"Paced: {subscribers:N0} subscribers × 10 events/s for {sizes.PacedSeconds} s", options.Runs,
            everyone.Select(k => Bench.System(k, async () => Bench.PacedFigures(await Scenarios.BroadcastAsync("paced", k, subscribers, events, 10, 1, sizes.WarmUpEvents)))));
        report.Chart($"Paced {subscribers:N0}", series, "p50 ms", higherIsBetter: false);
        report.Chart($"Paced {subscribers:N0}", series, "p99 ms", higherIsBetter: false);
        report.Add(series,
            $"p50 {Report.Ratio(series.Median(LiveNews, "p50 ms"), series.Median(socketIo, "p50 ms"))} and p99 {Report.Ratio(series.Median(LiveNews, "p99 ms"), series.Median(socketIo, "p99 ms"))} Socket.IO's (target ≤ 1x each); LiveNews lost {series.Median(LiveNews, "lost"):0} (median; target 0).");
    }
}

if (options.Has("slow"))
{
    var stalledName = $"LiveNews + {sizes.Stalled} stalled readers";
    var series = await Bench.InterleavedAsync($"Slow readers: {sizes.BurstSubscribers:N0} readers × {sizes.SlowEvents} events back to back, with and without {sizes.Stalled} subscribers that stop reading", options.Runs,
        [
            (stalledName, async () => Bench.SlowFigures(await Scenarios.BroadcastAsync("slow", SystemKind.LiveNews, sizes.BurstSubscribers, sizes.SlowEvents, 0, 4, sizes.WarmUpEvents, stalled: sizes.Stalled))),
            (LiveNews, async () => Bench.SlowFigures(await Scenarios.BroadcastAsync("slow", SystemKind.LiveNews, sizes.BurstSubscribers, sizes.SlowEvents, 0, 4, sizes.WarmUpEvents))),
        ]);
    report.Chart("Slow readers", series, "p99 ms", higherIsBetter: false);
    report.Add(series,
        $"The readers' p99 with the stalled subscribers is {Report.Ratio(series.Median(stalledName, "p99 ms"), series.Median(LiveNews, "p99 ms"))} the p99 without (target ≤ 1.2x); "
            + $"server peak RSS {series.Median(stalledName, "peak RSS MB"):0} MB against {series.Median(LiveNews, "peak RSS MB"):0} MB (medians); "
            + $"{series.Median(stalledName, "stalled readers closed by the server"):0} of {sizes.Stalled} stalled readers closed by the server, each owed {series.Median(stalledName, "KB owed per stalled reader"):0} KB "
            + $"(LiveNews closes a connection whose outbox passes Realtime:MaxBufferedBytesPerConnection, 1 MB by default, but first the kernel's send buffer for the socket takes up to {Bench.KernelSendBufferMaxKb():0} KB here (net.ipv4.tcp_wmem); `--slow-events N` makes the burst longer).");
}

if (options.Has("memory"))
{
    var series = await Bench.InterleavedAsync($"Memory: {sizes.Idle:N0} idle subscribed connections (opened 64 at a time, settled 3 s)", options.Runs,
        everyone.Select(k => Bench.System(k, async () => (IReadOnlyList<Figure>)[new("RSS KB/conn", await Scenarios.IdleMemoryAsync(k, sizes.Idle, options.GcDumps))])));
    report.Chart($"{sizes.Idle:N0} idle", series, "RSS KB/conn", higherIsBetter: false);
    report.Add(series, $"LiveNews server RSS per connection {series.Median(LiveNews, "RSS KB/conn"):0.0} KB (median; target ≤ 16 KB).");
}

if (options.Has("connect"))
{
    var series = await Bench.InterleavedAsync($"Connect storm: {sizes.Idle:N0} clients connect and subscribe at once", options.Runs,
        everyone.Select(k => Bench.System(k, async () =>
        {
            var storm = await Scenarios.ConnectStormAsync(k, sizes.Idle);
            return (IReadOnlyList<Figure>)[new("s to all subscribed", storm.Seconds, "0.00"), new("RSS KB/conn", storm.RssPerConnectionKb)];
        })));
    report.Chart($"Connect storm {sizes.Idle:N0}", series, "s to all subscribed", higherIsBetter: false);
    report.Add(series, $"LiveNews: all {sizes.Idle:N0} subscribed in {series.Median(LiveNews, "s to all subscribed"):0.00} s (median; target ≤ 5 s).");
}

if (options.Has("resume"))
{
    var series = await Bench.InterleavedAsync($"Resume storm: {sizes.Resume:N0} subscribers drop at once and resume with their positions, 20 events behind", options.Runs,
        [(LiveNews, async () =>
        {
            var resume = await Scenarios.ResumeStormAsync(sizes.Resume, 20);
            return [new("s to all recovered", resume.Seconds, "0.00"), new("recovered exactly", resume.Recovered, "0"), new("not recovered", resume.Subscribers - resume.Recovered, "0"), new("gaps", resume.Gaps, "0")];
        })]);
    report.Add(series, $"LiveNews: all recovered exactly in {series.Median(LiveNews, "s to all recovered"):0.00} s (median; target: all within 3 s). No peer resumes from a position, so there is no ratio.");
}

if (options.Has("api"))
{
    // Two loads: as fast as the server answers (its capacity, latency then is mostly the queue of 32), and the
    // target's 5,000/s offered on a schedule (its latency at that load, counted from when each request was due).
    const string Closed = "LiveNews, each client sends when answered";
    const string Offered = "LiveNews, 5,000/s offered";
    var series = await Bench.InterleavedAsync($"Editor API: `POST /api/articles/bench/entries` from 32 concurrent clients for {sizes.ApiSeconds} s", options.Runs,
        new[] { (Name: Closed, PerSecond: 0), (Name: Offered, PerSecond: 5_000) }.Select(load => (load.Name, (Func<Task<IReadOnlyList<Figure>>>)(async () =>
        {
            var api = await Scenarios.EditorApiAsync(TimeSpan.FromSeconds(sizes.ApiSeconds), 32, load.PerSecond);
            return [new("publishes/s", api.PerSecond, "0"), new("p50 ms", api.P50Ms), new("p99 ms", api.P99Ms), new("p99 ms from send", api.ServiceP99Ms), new("client lag p99 ms", api.ClientLagP99Ms), new("failures", api.Failures, "0")];
        }))));
    report.Add(series, $"LiveNews: {series.Median(Closed, "publishes/s"):0} publishes/s when each client sends as soon as answered; "
        + $"at 5,000/s offered {series.Median(Offered, "publishes/s"):0}/s answered with p99 {series.Median(Offered, "p99 ms"):0.0} ms from when each was due "
        + $"(the load client's own lateness, p99 {series.Median(Offered, "client lag p99 ms"):0.0} ms, left out; {series.Median(Offered, "p99 ms from send"):0.0} ms from its send) (medians; target ≥ 5,000/s with p99 ≤ 10 ms). Peers have no editor API, so there is no ratio.");
}

if (options.Has("viewers"))
{
    var series = await Bench.InterleavedAsync($"Viewer counts: {sizes.ViewerReaders:N0} readers over 1-2 nodes and 1-100 topics, idle for 5 intervals, then a tenth leaving and as many joining every interval for 5 more", 1,
        new[] { (1, 1), (1, 10), (2, 10), (2, 100) }.Select(config => ($"{config.Item1} node(s), {config.Item2} topic(s)", (Func<Task<IReadOnlyList<Figure>>>)(async () =>
        {
            var r = await ViewersScenario.RunAsync(config.Item1, config.Item2, sizes.ViewerReaders);
            return [new("joins + leaves per interval", r.ChurnPerInterval, "0"), new("viewer commands per interval, idle", r.CommandsIdle), new("while joining and leaving", r.CommandsChurn), new("live counted", r.Counted, "0"), new("live connected", r.Connected, "0")];
        }))));
    report.Add(series, "Commands per interval grow with nodes (each writes its hash and reads every node's) and with topics, not with joins and leaves (target: the idle and churning columns equal within noise); the count ends exact (counted = connected).");
}

if (options.Has("push"))
{
    var series = await Bench.InterleavedAsync($"Web Push: one breaking alert to {sizes.PushSubscriptions:N0} subscriptions (loopback push service answering 201)", 1,
        [(LiveNews, async () =>
        {
            var r = await PushScenario.RunAsync(sizes.PushSubscriptions);
            return [new("received", r.Received, "0"), new("seconds", r.Seconds, "0.0"), new("pushes/s", r.PushesPerSecond, "0"), new("server CPU s", r.ServerCpuSeconds)];
        })]);
    report.Add(series, $"LiveNews pushed {series.Median(LiveNews, "pushes/s"):0} pushes/s to a local fake push service. No peer sends Web Push, so there is no ratio.");
}

var output = options.Output ?? (options.Quick
    ? Path.Combine(ChildProcess.RepositoryRoot(), "bench", "runs", $"{DateTime.UtcNow:yyyy-MM-dd-HHmm}-quick-not-for-comparison.md")
    : Path.Combine(ChildProcess.RepositoryRoot(), "bench", "RESULTS.md"));
await report.WriteAsync(output);
Console.WriteLine(report.Text);
Console.Error.WriteLine($"bench: wrote {output}");
return 0;

/// <summary>The load tool's entry point; internal, so the server's public <c>Program</c> stays the only one the tests see.</summary>
internal sealed partial class Program;

namespace LiveNews.Bench
{
    /// <summary>Entry points the test suite calls, and how a scenario's runs are taken.</summary>
    public static class Bench
    {
        /// <summary>A few subscribers and events against LiveNews, zero loss asserted: keeps the tool from rotting.</summary>
        public static async Task<bool> SmokeAsync()
        {
            var run = await Scenarios.BroadcastAsync("smoke", SystemKind.LiveNews, subscribers: 20, events: 20, eventsPerSecond: 0, publishConcurrency: 2, warmUpEvents: 1);
            var ok = run.Lost == 0 && run.Gaps == 0 && run.Duplicates == 0;
            Console.WriteLine($"smoke: {run.Delivered}/{run.Expected} delivered, {run.Gaps} gaps, {run.Duplicates} duplicates, p99 {run.P99Ms:0.0} ms: {(ok ? "ok" : "FAILED")}");
            return ok;
        }

        internal static (string Name, Func<Task<IReadOnlyList<Figure>>> Measure) System(SystemKind kind, Func<Task<IReadOnlyList<Figure>>> measure) =>
            (Servers.NameOf(kind), measure);

        /// <summary>
        /// Runs every system once per round, <paramref name="runs"/> rounds (LiveNews, peer, peer, ..., LiveNews, ...),
        /// so a drift in the machine touches every system alike. A failed run is recorded and the others go on.
        /// </summary>
        internal static async Task<Series> InterleavedAsync(string title, int runs, IEnumerable<(string Name, Func<Task<IReadOnlyList<Figure>>> Measure)> systems)
        {
            var list = systems.ToList();
            var samples = new List<Sample>();
            for (var run = 1; run <= runs; run++)
            {
                foreach (var (name, measure) in list)
                {
                    Console.Error.WriteLine($"bench: {title}: {name}, run {run} of {runs}");
                    try
                    {
                        var figures = await measure();
                        samples.Add(new Sample(name, run, figures));
                        Console.Error.WriteLine($"bench:   {string.Join(", ", figures.Select(f => $"{f.Name} {f.Value.ToString(f.Format, CultureInfo.InvariantCulture)}"))}");
                    }
                    catch (Exception ex)
                    {
                        samples.Add(new Sample(name, run, [], ex.GetType().Name + ": " + ex.Message));
                        Console.Error.WriteLine($"bench:   FAILED: {ex}");
                    }
                }
            }

            return new Series(title, list.Select(s => s.Name).ToList(), samples);
        }

        /// <summary>The most a TCP socket's send buffer grows to (the third value of net.ipv4.tcp_wmem), in KB.</summary>
        internal static double KernelSendBufferMaxKb()
        {
            try
            {
                return double.Parse(File.ReadAllText("/proc/sys/net/ipv4/tcp_wmem").Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries)[2], CultureInfo.InvariantCulture) / 1024;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
            {
                return double.NaN;
            }
        }

        internal static IReadOnlyList<Figure> BurstFigures(RunResult r) =>
            [new("deliveries/s", r.DeliveriesPerSecond, "0"), new("p50 ms", r.P50Ms), new("p99 ms", r.P99Ms), new("lost", r.Lost, "0"), new("out of order", r.Gaps + r.Duplicates, "0"),
             new("server CPU s per 100k", r.CpuPer100k, "0.00"), new("RSS KB/conn", r.RssPerConnectionKb), new("event frame bytes", r.EventFrameBytes, "0")];

        internal static IReadOnlyList<Figure> PacedFigures(RunResult r) =>
            [new("p50 ms", r.P50Ms), new("p99 ms", r.P99Ms), new("max ms", r.MaxMs), new("lost", r.Lost, "0"), new("out of order", r.Gaps + r.Duplicates, "0"),
             new("server CPU s per 100k", r.CpuPer100k, "0.00")];

        internal static IReadOnlyList<Figure> SlowFigures(RunResult r) =>
            [new("p50 ms", r.P50Ms), new("p99 ms", r.P99Ms), new("deliveries/s", r.DeliveriesPerSecond, "0"), new("lost", r.Lost, "0"), new("out of order", r.Gaps + r.Duplicates, "0"),
             new("peak RSS MB", r.PeakRssMb, "0"),
             .. r.Stalled == 0 ? (Figure[])[] : [new("KB owed per stalled reader", r.Events * (double)r.EventFrameBytes / 1024, "0"), new("stalled readers closed by the server", r.StalledClosed, "0")]];
    }

    /// <summary>The command line: scenarios, <c>--runs N</c>, <c>--quick</c>, <c>--slow-events N</c>, <c>--out FILE</c>, <c>--gcdump DIR</c>.</summary>
    internal sealed record BenchOptions(IReadOnlySet<string> Scenarios, int Runs, bool Quick, BenchSizes Sizes, string? Output, string? GcDumps = null)
    {
        public static readonly string[] All = ["burst", "paced", "slow", "memory", "connect", "resume", "api", "viewers", "push"];

        public bool Has(string scenario) => Scenarios.Contains(scenario);

        public static BenchOptions Parse(string[] args)
        {
            var values = new HashSet<string> { "--runs", "--out", "--slow-events", "--gcdump" };
            var named = args.Where((a, i) => !a.StartsWith("--", StringComparison.Ordinal) && (i == 0 || !values.Contains(args[i - 1])))
                .ToHashSet(StringComparer.OrdinalIgnoreCase);
            var unknown = named.Except(All.Append("all"), StringComparer.OrdinalIgnoreCase).ToArray();
            if (unknown.Length > 0)
            {
                throw new ArgumentException($"Unknown scenario(s) {string.Join(", ", unknown)}; known: {string.Join(' ', All)} or all.");
            }

            if (named.Count == 0 || named.Contains("all"))
            {
                named = [.. All];
            }

            var quick = args.Contains("--quick");
            var runs = Value(args, "--runs") is { } r ? int.Parse(r, CultureInfo.InvariantCulture) : quick ? 1 : 3;
            var sizes = quick ? BenchSizes.Quick : BenchSizes.Full;
            if (Value(args, "--slow-events") is { } slow)
            {
                sizes = sizes with { SlowEvents = int.Parse(slow, CultureInfo.InvariantCulture) };
            }

            var gcdumps = Value(args, "--gcdump");
            if (args.Contains("--gcdump") && (gcdumps is null || gcdumps.StartsWith("--", StringComparison.Ordinal) || !named.Contains("memory")))
            {
                throw new ArgumentException("--gcdump DIR dumps heaps in the memory scenario: give a folder and run `memory`.");
            }

            return new BenchOptions(named, Math.Max(1, runs), quick, sizes, Value(args, "--out"), gcdumps);
        }

        private static string? Value(string[] args, string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
    }

    /// <summary>Scenario sizes: the issue's (full) or small ones for trying the harness (quick).</summary>
    internal sealed record BenchSizes(int PacedSmall, int PacedLarge, int PacedSeconds, int BurstSubscribers, int BurstEvents, int Stalled, int SlowEvents, int Idle, int Resume, int ApiSeconds, int ViewerReaders, int PushSubscriptions, int WarmUpEvents)
    {
        public static readonly BenchSizes Full = new(2000, 5000, 10, 2000, 200, 50, 200, 10_000, 5000, 10, 10_000, 100_000, 30);

        public static readonly BenchSizes Quick = new(200, 500, 3, 200, 50, 10, 50, 500, 200, 3, 400, 2_000, 5);

        public string Describe(int runs) => string.Create(CultureInfo.InvariantCulture,
            $"{runs} run(s) per system; {WarmUpEvents} unmeasured events before each broadcast, at its pace; paced {PacedSmall:N0} and {PacedLarge:N0} subscribers for {PacedSeconds} s; burst {BurstSubscribers:N0} × {BurstEvents}; {Stalled} stalled readers beside a burst of {SlowEvents}; {Idle:N0} idle/connecting; {Resume:N0} resuming; editor API {ApiSeconds} s; {ViewerReaders:N0} viewers; {PushSubscriptions:N0} push subscriptions");
    }
}
