using System.Globalization;
using System.Text;

namespace LiveNews.Bench;

/// <summary>One named figure of one run, with how to print it.</summary>
internal sealed record Figure(string Name, double Value, string Format = "0.0");

/// <summary>One run of one system in a scenario: its figures, or why it failed.</summary>
internal sealed record Sample(string System, int Run, IReadOnlyList<Figure> Figures, string? Failure = null);

/// <summary>
/// Every run of a scenario: the first system is the one measured (LiveNews), the others its peers, all
/// run interleaved in the same invocation.
/// </summary>
internal sealed record Series(string Title, IReadOnlyList<string> Systems, IReadOnlyList<Sample> Samples)
{
    public IEnumerable<string> FigureNames =>
        Samples.SelectMany(s => s.Figures).Select(f => f.Name).Distinct();

    /// <summary>The median of a figure over a system's successful runs, or NaN when it has none.</summary>
    public double Median(string system, string figure) => Stats(system, figure).Median;

    public (double Min, double Median, double Max, int Count) Stats(string system, string figure)
    {
        var values = Samples.Where(s => s.System == system && s.Failure is null)
            .SelectMany(s => s.Figures).Where(f => f.Name == figure).Select(f => f.Value).Order().ToArray();
        if (values.Length == 0)
        {
            return (double.NaN, double.NaN, double.NaN, 0);
        }

        var median = values.Length % 2 == 1 ? values[values.Length / 2] : (values[values.Length / 2 - 1] + values[values.Length / 2]) / 2;
        return (values[0], median, values[^1], values.Length);
    }

    public string FormatOf(string figure) => Samples.SelectMany(s => s.Figures).First(f => f.Name == figure).Format;
}

/// <summary>
/// Writes the results file: the machine, the pinning, the command, and per scenario min/median/max and ratios;
/// and beside it (same name, <c>.svg</c>) the chart of the headline figures.
/// </summary>
internal sealed class Report(string arguments, string sizes, bool quick)
{
    private readonly StringBuilder _text = new();
    private readonly Chart _chart = new();

    public string Text => _text.ToString();

    /// <summary>
    /// A scenario's table (min / median / max of each figure per system), the first system's medians as ratios to
    /// each other system's median, the targets' verdicts, and every run's raw figures.
    /// </summary>
    public void Add(Series series, params string[] verdicts)
    {
        _text.AppendLine(CultureInfo.InvariantCulture, $"## {series.Title}").AppendLine();
        var figures = series.FigureNames.ToArray();
        _text.AppendLine($"| system | runs | {string.Join(" | ", figures)} |")
             .AppendLine($"|---|---:|{string.Concat(figures.Select(_ => "---:|"))}");
        foreach (var system in series.Systems)
        {
            var runs = series.Samples.Count(s => s.System == system);
            var ok = series.Samples.Count(s => s.System == system && s.Failure is null);
            var cells = figures.Select(f =>
            {
                var (min, median, max, count) = series.Stats(system, f);
                var format = series.FormatOf(f);
                return count == 0 ? "–" : string.Create(CultureInfo.InvariantCulture, $"{min.ToString(format, CultureInfo.InvariantCulture)} / **{median.ToString(format, CultureInfo.InvariantCulture)}** / {max.ToString(format, CultureInfo.InvariantCulture)}");
            });
            _text.AppendLine(CultureInfo.InvariantCulture, $"| {system} | {(ok == runs ? ok.ToString(CultureInfo.InvariantCulture) : $"{ok} of {runs}")} | {string.Join(" | ", cells)} |");
        }

        _text.AppendLine().AppendLine("Cells: min / **median** / max over the runs.").AppendLine();
        var measured = series.Systems[0];
        if (series.Systems.Count > 1)
        {
            _text.AppendLine(CultureInfo.InvariantCulture, $"Ratios: {measured}' median ÷ each peer's median, from this same run:").AppendLine()
                 .AppendLine($"| {measured} ÷ | {string.Join(" | ", figures)} |")
                 .AppendLine($"|---|{string.Concat(figures.Select(_ => "---:|"))}");
            foreach (var peer in series.Systems.Skip(1))
            {
                var cells = figures.Select(f => Ratio(series.Median(measured, f), series.Median(peer, f)));
                _text.AppendLine(CultureInfo.InvariantCulture, $"| {peer} | {string.Join(" | ", cells)} |");
            }

            _text.AppendLine();
        }

        foreach (var verdict in verdicts)
        {
            _text.AppendLine(CultureInfo.InvariantCulture, $"- {verdict}");
        }

        if (verdicts.Length > 0)
        {
            _text.AppendLine();
        }

        _text.AppendLine("<details><summary>Every run</summary>").AppendLine()
             .AppendLine($"| run | system | {string.Join(" | ", figures)} |")
             .AppendLine($"|---:|---|{string.Concat(figures.Select(_ => "---:|"))}");
        foreach (var sample in series.Samples)
        {
            var cells = sample.Failure is not null
                ? [$"failed: {sample.Failure.ReplaceLineEndings(" ").Replace("|", "/", StringComparison.Ordinal)}", .. figures.Skip(1).Select(_ => "")]
                : figures.Select(f => sample.Figures.FirstOrDefault(x => x.Name == f) is { } x ? x.Value.ToString(x.Format, CultureInfo.InvariantCulture) : "–");
            _text.AppendLine(CultureInfo.InvariantCulture, $"| {sample.Run} | {sample.System} | {string.Join(" | ", cells)} |");
        }

        _text.AppendLine().AppendLine("</details>").AppendLine();
    }

    /// <summary>Charts a headline figure of a scenario, every system side by side.</summary>
    public void Chart(string title, Series series, string figure, bool higherIsBetter) => _chart.Add(title, series, figure, higherIsBetter);

    /// <summary>"1.23x", or "–" when either side has no figure or the peer's is zero.</summary>
    public static string Ratio(double measured, double peer) =>
        double.IsNaN(measured) || double.IsNaN(peer) || peer == 0 ? "–" : string.Create(CultureInfo.InvariantCulture, $"{measured / peer:0.00}x");

    public async Task WriteAsync(string path)
    {
        var header = new StringBuilder().AppendLine("# LiveNews benchmark results").AppendLine();
        if (quick)
        {
            header.AppendLine("**QUICK RUN: small sizes, one run each. It shows the harness works end to end; its figures are not for comparison.**").AppendLine();
        }

        header.AppendLine(CultureInfo.InvariantCulture, $"Run {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {Machine()}.").AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"**{Pinning.Description}.**").AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"Sizes: {sizes}.").AppendLine()
            .AppendLine("Command:").AppendLine().AppendLine("```bash")
            .AppendLine(CultureInfo.InvariantCulture, $"dotnet build -c Release LiveNews.sln && dotnet run -c Release --no-build --project bench/LiveNews.Bench -- {arguments}")
            .AppendLine("```").AppendLine()
            .AppendLine("Latency is publish-to-receive: from just before the publish request is sent to the frame arriving at a subscriber. "
                + "CPU is the server process's user+system time during the run (not its redis-server's). Ratios are LiveNews' median over the peer's: "
                + "below 1x is better for milliseconds, seconds, lost, CPU and memory, above 1x for deliveries/s and publishes/s.").AppendLine();
        if (!_chart.IsEmpty)
        {
            var chart = Path.ChangeExtension(path, ".svg");
            await File.WriteAllTextAsync(chart, _chart.Svg());
            header.AppendLine(CultureInfo.InvariantCulture, $"![Headline figures of this run, every system]({Path.GetFileName(chart)})").AppendLine();
        }

        await File.WriteAllTextAsync(path, header + _text.ToString());
    }

    private static string Machine()
    {
        var cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU";
        var memKb = long.Parse(File.ReadLines("/proc/meminfo").First().Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        var cores = File.ReadLines("/proc/cpuinfo").Count(l => l.StartsWith("processor", StringComparison.Ordinal));
        return $"{cores} cores ({cpu}), {memKb / 1024 / 1024} GiB, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}";
    }
}
