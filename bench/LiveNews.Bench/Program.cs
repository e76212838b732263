// LiveNews load benchmark. See bench/README.md. Examples:
//   dotnet run -c Release --project bench/LiveNews.Bench -- all
//   dotnet run -c Release --project bench/LiveNews.Bench -- burst paced
//   dotnet run -c Release --project bench/LiveNews.Bench -- --smoke
using LiveNews.Bench;

var scenarios = args.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).ToHashSet(StringComparer.OrdinalIgnoreCase);
if (args.Contains("--smoke"))
{
    return await Bench.SmokeAsync() ? 0 : 1;
}

if (scenarios.Count == 0 || scenarios.Contains("all"))
{
    scenarios = ["burst", "paced", "scale", "memory", "api", "resume", "viewers", "push"];
}

var report = new Report(string.Join(' ', args));
if (scenarios.Contains("burst"))
{
    var live = await Scenarios.BroadcastAsync("burst", baseline: false, 2000, 200, 0, 4);
    var baseline = await Scenarios.BroadcastAsync("burst", baseline: true, 2000, 200, 0, 4);
    report.Burst(live, baseline);
}

if (scenarios.Contains("paced"))
{
    var live = await Scenarios.BroadcastAsync("paced", baseline: false, 5000, 300, 10, 1);
    var baseline = await Scenarios.BroadcastAsync("paced", baseline: true, 5000, 300, 10, 1);
    report.Paced(live, baseline);
}

if (scenarios.Contains("scale"))
{
    var runs = new List<(RunResult Live, RunResult Baseline)>();
    foreach (var n in new[] { 1000, 2000, 5000, 10000 })
    {
        runs.Add((await Scenarios.BroadcastAsync("scale", false, n, 100, 0, 4), await Scenarios.BroadcastAsync("scale", true, n, 100, 0, 4)));
    }

    report.Scale(runs);
}

if (scenarios.Contains("memory"))
{
    report.Memory(await Scenarios.IdleMemoryAsync(10_000));
}

if (scenarios.Contains("api"))
{
    report.Api(await Scenarios.EditorApiAsync(TimeSpan.FromSeconds(15), 32));
}

if (scenarios.Contains("resume"))
{
    report.Resume(await Scenarios.ResumeStormAsync(5000, 20));
}

if (scenarios.Contains("viewers"))
{
    // --viewers-readers N runs it small (the tests prove it works with a few readers).
    var readers = int.Parse(args.SkipWhile(a => a != "--viewers-readers").Skip(1).FirstOrDefault() ?? "10000", System.Globalization.CultureInfo.InvariantCulture);
    var runs = new List<ViewersResult>();
    foreach (var (nodes, topics) in new[] { (1, 1), (1, 10), (2, 10), (2, 100) })
    {
        runs.Add(await ViewersScenario.RunAsync(nodes, topics, readers));
    }

    report.Viewers(runs);
}

if (scenarios.Contains("push"))
{
    // --push-subscriptions N runs it small.
    var subscriptions = int.Parse(args.SkipWhile(a => a != "--push-subscriptions").Skip(1).FirstOrDefault() ?? "100000", System.Globalization.CultureInfo.InvariantCulture);
    report.Push(await PushScenario.RunAsync(subscriptions));
}

var output = args.SkipWhile(a => a != "--out").Skip(1).FirstOrDefault() ?? Path.Combine(ChildProcess.RepositoryRoot(), "bench", "RESULTS.md");
await report.WriteAsync(output);
Console.WriteLine(report.Text);
return 0;

/// <summary>The load tool's entry point; internal, so the server's public <c>Program</c> stays the only one the tests see.</summary>
internal sealed partial class Program;

namespace LiveNews.Bench
{
    /// <summary>Entry points the test suite calls.</summary>
    public static class Bench
    {
        /// <summary>A few subscribers and events, zero loss asserted: keeps the tool from rotting.</summary>
        public static async Task<bool> SmokeAsync()
        {
            var run = await Scenarios.BroadcastAsync("smoke", baseline: false, subscribers: 20, events: 20, eventsPerSecond: 0, publishConcurrency: 2);
            var ok = run.Lost == 0 && run.Gaps == 0 && run.Duplicates == 0;
            Console.WriteLine($"smoke: {run.Delivered}/{run.Expected} delivered, {run.Gaps} gaps, {run.Duplicates} duplicates, p99 {run.P99Ms:0.0} ms: {(ok ? "ok" : "FAILED")}");
            return ok;
        }
    }
}
