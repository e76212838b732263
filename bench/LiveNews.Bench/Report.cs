using System.Globalization;
using System.Text;

namespace LiveNews.Bench;

/// <summary>Writes bench/RESULTS.md (and a chart) with the machine, the command and every figure measured.</summary>
internal sealed class Report(string arguments)
{
    private readonly StringBuilder _text = new();
    private List<(RunResult Live, RunResult Baseline)>? _scale;

    public string Text => _text.ToString();

    public void Burst(RunResult live, RunResult baseline)
    {
        _text.AppendLine("## Burst: 2,000 subscribers of `breaking`, 200 events of ~200 bytes back to back").AppendLine();
        Table([live, baseline]);
        var ratio = live.DeliveriesPerSecond / baseline.DeliveriesPerSecond;
        _text.AppendLine(CultureInfo.InvariantCulture, $"Throughput ratio to the baseline hub: **{ratio:0.00}x** (target ≥ 0.9x); LiveNews lost {live.Lost} (target 0).").AppendLine();
    }

    public void Paced(RunResult live, RunResult baseline)
    {
        _text.AppendLine("## Paced: 5,000 subscribers, 10 events/s for 30 s").AppendLine();
        Table([live, baseline]);
        _text.AppendLine(CultureInfo.InvariantCulture, $"LiveNews p50 {live.P50Ms:0.0} ms (target ≤ 30), p99 {live.P99Ms:0.0} ms (target ≤ 100), lost {live.Lost} (target 0).").AppendLine();
    }

    public void Scale(List<(RunResult Live, RunResult Baseline)> runs)
    {
        _scale = runs;
        _text.AppendLine("## Scale: 100 events to 1k, 2k, 5k, 10k subscribers").AppendLine();
        Table(runs.SelectMany(r => new[] { r.Live, r.Baseline }));
        var first = runs[0].Live.CpuPer100k;
        var last = runs[^1].Live.CpuPer100k;
        _text.AppendLine(CultureInfo.InvariantCulture, $"LiveNews CPU per 100k deliveries from 1k to 10k: {first:0.00} s → {last:0.00} s ({(first == 0 ? 0 : last / first):0.00}x; target ≤ 1.5x). Chart: [scale.svg](scale.svg).").AppendLine();
    }

    public void Viewers(List<ViewersResult> runs)
    {
        _text.AppendLine(CultureInfo.InvariantCulture, $"## Viewers: {runs[0].Readers:N0} readers over 1 or 2 nodes and 1 to 100 topics, idle then joining and leaving").AppendLine();
        _text.AppendLine("| nodes | topics | readers | joins + leaves per interval | viewer commands per interval, idle | while joining and leaving | `live` counted / connected |");
        _text.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var r in runs)
        {
            _text.AppendLine(CultureInfo.InvariantCulture, $"| {r.Nodes} | {r.Topics} | {r.Readers:N0} | {r.ChurnPerInterval:0} | {r.CommandsIdle:0.0} | {r.CommandsChurn:0.0} | {r.Counted} / {r.Connected} |");
        }

        _text.AppendLine().AppendLine("Commands per interval grow with nodes (each writes its hash and reads every node's) and with topics (one HSET per 100 topics of a node), not with joins and leaves (target: the two columns equal within noise); the count ends exact.").AppendLine();
    }

    public void Push(PushResult r) =>
        _text.AppendLine(CultureInfo.InvariantCulture, $"## Push: one breaking alert to {r.Subscriptions:N0} Web Push subscriptions (loopback push service answering 201)").AppendLine()
            .AppendLine("| subscriptions | received | seconds | pushes/s | server CPU s |")
            .AppendLine("|---|---|---|---|---|")
            .AppendLine(CultureInfo.InvariantCulture, $"| {r.Subscriptions:N0} | {r.Received:N0} | {r.Seconds:0.0} | {r.PushesPerSecond:0} | {r.ServerCpuSeconds:0.0} |")
            .AppendLine();

    public void Memory(RunResult run) =>
        _text.AppendLine("## Memory: 10,000 idle subscribed connections").AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"Server RSS growth per connection: **{run.RssPerConnectionKb:0.0} KB** (target ≤ 16 KB).").AppendLine();

    public void Api(ApiResult api) =>
        _text.AppendLine("## Editor API: `POST /api/breaking`, 32 concurrent clients for 15 s").AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"{api.Publishes} publishes in {api.Seconds:0.0} s: **{api.PerSecond:0} publishes/s**, p50 {api.P50Ms:0.0} ms, p99 **{api.P99Ms:0.0} ms**, {api.Failures} failures (target ≥ 5,000/s, p99 ≤ 10 ms).").AppendLine();

    public void Resume(ResumeResult resume) =>
        _text.AppendLine("## Resume storm: 5,000 subscribers drop at once and resume 20 events behind").AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"{resume.Recovered} of {resume.Subscribers} resumed with exactly the {resume.Missed} missed events, {resume.Gaps} gaps, in **{resume.Seconds:0.00} s** (target: all, zero loss, within 5 s).").AppendLine();

    public async Task WriteAsync(string path)
    {
        var header = new StringBuilder()
            .AppendLine("# LiveNews benchmark results").AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"Run {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {Machine()}; the load tool shares the machine with the servers.")
            .AppendLine().AppendLine("Command:").AppendLine().AppendLine("```bash")
            .AppendLine(CultureInfo.InvariantCulture, $"dotnet build -c Release LiveNews.sln && dotnet run -c Release --project bench/LiveNews.Bench -- {arguments}")
            .AppendLine("```").AppendLine()
            .AppendLine("Latency is publish-to-receive: from just before the editor request is sent to the frame arriving at a subscriber. CPU is the server process's user+system time during the run.").AppendLine();
        await File.WriteAllTextAsync(path, header + _text.ToString());
        if (_scale is not null)
        {
            await File.WriteAllTextAsync(Path.Combine(Path.GetDirectoryName(path)!, "scale.svg"), Chart(_scale));
        }
    }

    private void Table(IEnumerable<RunResult> runs)
    {
        _text.AppendLine("| system | subscribers | events | delivered | lost | gaps | dups | deliveries/s | p50 ms | p99 ms | max ms | server CPU s | CPU s per 100k | RSS KB/conn |")
             .AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in runs)
        {
            _text.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.System} | {r.Subscribers:N0} | {r.Events} | {r.Delivered:N0} | {r.Lost} | {r.Gaps} | {r.Duplicates} | {r.DeliveriesPerSecond:N0} | {r.P50Ms:0.0} | {r.P99Ms:0.0} | {r.MaxMs:0.0} | {r.ServerCpuSeconds:0.00} | {r.CpuPer100k:0.00} | {r.RssPerConnectionKb:0.0} |");
        }

        _text.AppendLine();
    }

    private static string Machine()
    {
        var cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU";
        var memKb = long.Parse(File.ReadLines("/proc/meminfo").First().Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        return $"{Environment.ProcessorCount} cores ({cpu}), {memKb / 1024 / 1024} GiB, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}";
    }

    private static string Chart(List<(RunResult Live, RunResult Baseline)> runs)
    {
        const int Width = 720, Height = 360, Left = 70, Right = 70, Top = 40, Bottom = 50;
        var xs = runs.Select(r => (double)r.Live.Subscribers).ToArray();
        var maxX = xs.Max();
        var maxT = runs.Max(r => Math.Max(r.Live.DeliveriesPerSecond, r.Baseline.DeliveriesPerSecond)) * 1.1;
        var maxL = runs.Max(r => Math.Max(r.Live.P99Ms, r.Baseline.P99Ms)) * 1.1;
        double X(double v) => Left + (v / maxX) * (Width - Left - Right);
        double Yt(double v) => Height - Bottom - (v / maxT) * (Height - Top - Bottom);
        double Yl(double v) => Height - Bottom - (v / maxL) * (Height - Top - Bottom);
        string Line(Func<(RunResult Live, RunResult Baseline), double> value, Func<double, double> y, string color, string dash) =>
            $"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" stroke-dasharray=\"{dash}\" points=\"{string.Join(' ', runs.Select(r => string.Create(CultureInfo.InvariantCulture, $"{X(r.Live.Subscribers):0.0},{y(value(r)):0.0}")))}\"/>";
        var svg = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" font-family=\"sans-serif\" font-size=\"12\">")
            .AppendLine("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>")
            .AppendLine("<text x=\"360\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">Throughput (solid, left axis) and p99 latency (dashed, right axis) against subscribers</text>")
            .AppendLine(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" y1=\"{Height - Bottom}\" x2=\"{Width - Right}\" y2=\"{Height - Bottom}\" stroke=\"black\"/>")
            .AppendLine(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" y1=\"{Top}\" x2=\"{Left}\" y2=\"{Height - Bottom}\" stroke=\"black\"/>")
            .AppendLine(CultureInfo.InvariantCulture, $"<line x1=\"{Width - Right}\" y1=\"{Top}\" x2=\"{Width - Right}\" y2=\"{Height - Bottom}\" stroke=\"black\"/>");
        foreach (var r in runs)
        {
            svg.AppendLine(CultureInfo.InvariantCulture, $"<text x=\"{X(r.Live.Subscribers):0}\" y=\"{Height - Bottom + 18}\" text-anchor=\"middle\">{r.Live.Subscribers:N0}</text>");
        }

        for (var i = 0; i <= 4; i++)
        {
            svg.AppendLine(CultureInfo.InvariantCulture, $"<text x=\"{Left - 6}\" y=\"{Yt(maxT * i / 4) + 4:0}\" text-anchor=\"end\">{maxT * i / 4 / 1000:0}k/s</text>");
            svg.AppendLine(CultureInfo.InvariantCulture, $"<text x=\"{Width - Right + 6}\" y=\"{Yl(maxL * i / 4) + 4:0}\">{maxL * i / 4:0} ms</text>");
        }

        svg.AppendLine(Line(r => r.Live.DeliveriesPerSecond, Yt, "#c8102e", "none"))
           .AppendLine(Line(r => r.Baseline.DeliveriesPerSecond, Yt, "#555", "none"))
           .AppendLine(Line(r => r.Live.P99Ms, Yl, "#c8102e", "6,4"))
           .AppendLine(Line(r => r.Baseline.P99Ms, Yl, "#555", "6,4"))
           .AppendLine(CultureInfo.InvariantCulture, $"<text x=\"{Left + 10}\" y=\"{Top + 12}\" fill=\"#c8102e\">LiveNews</text>")
           .AppendLine(CultureInfo.InvariantCulture, $"<text x=\"{Left + 80}\" y=\"{Top + 12}\" fill=\"#555\">baseline hub</text>")
           .AppendLine(CultureInfo.InvariantCulture, $"<text x=\"{Width / 2}\" y=\"{Height - 10}\" text-anchor=\"middle\">subscribers</text>")
           .AppendLine("</svg>");
        return svg.ToString();
    }
}
