using System.Globalization;
using System.Net;
using System.Text;

namespace LiveNews.Bench;

/// <summary>
/// The results' chart: one panel per headline figure, a bar per system at its median with a line from its
/// minimum to its maximum run, all from the same invocation as the tables. Written beside the results file
/// as an SVG (no plotting package: a few rectangles and lines).
/// </summary>
internal sealed class Chart
{
    private const int Width = 760;
    private const int LabelWidth = 230;
    private const int BarHeight = 14;
    private const int BarGap = 4;
    private const int PanelGap = 28;
    private const int Top = 50;
    private const int LegendRow = 18;
    private static readonly string[] Colors = ["#c8102e", "#1f77b4", "#7f7f7f", "#2ca02c", "#9467bd"];

    private readonly List<(string Title, Series Series, string Figure, bool HigherIsBetter)> _panels = [];

    public bool IsEmpty => _panels.Count == 0;

    /// <summary>Adds a panel: <paramref name="figure"/> of every system of <paramref name="series"/>.</summary>
    public void Add(string title, Series series, string figure, bool higherIsBetter) =>
        _panels.Add((title, series, figure, higherIsBetter));

    public string Svg()
    {
        var systems = _panels.SelectMany(p => p.Series.Systems).Distinct().ToList();

        // The legend: a row of systems, wrapped where the next would not fit (7 px a character, roughly).
        var legend = new StringBuilder();
        var (x, legendY) = (20, 30);
        for (var i = 0; i < systems.Count; i++)
        {
            var width = 16 + (systems[i].Length * 7);
            if (x > 20 && x + width > Width - 10)
            {
                (x, legendY) = (20, legendY + LegendRow);
            }

            legend.AppendLine(CultureInfo.InvariantCulture, $"""<rect x="{x}" y="{legendY}" width="12" height="12" fill="{Colors[i % Colors.Length]}"/><text x="{x + 16}" y="{legendY + 10}">{Escape(systems[i])}</text>""");
            x += width + 16;
        }

        // The panels first: the height of the whole is where they end.
        var panels = new StringBuilder();
        var y = Top + legendY - 30;
        foreach (var (title, series, figure, higherIsBetter) in _panels)
        {
            y += 14;
            panels.AppendLine(CultureInfo.InvariantCulture, $"""<text x="20" y="{y}" font-weight="bold">{Escape(title)}: {Escape(figure)} ({(higherIsBetter ? "higher" : "lower")} is better)</text>""");
            y += 6;
            var present = series.Systems.Where(s => series.Stats(s, figure).Count > 0).ToList();
            var scale = present.Count == 0 ? 1 : present.Max(s => series.Stats(s, figure).Max);
            var plot = Width - LabelWidth - 90;
            foreach (var system in present)
            {
                var (min, median, max, _) = series.Stats(system, figure);
                var color = Colors[systems.IndexOf(system) % Colors.Length];
                var format = series.FormatOf(figure);
                var mid = y + (BarHeight / 2);
                panels.AppendLine(CultureInfo.InvariantCulture, $"""<text x="{LabelWidth - 8}" y="{mid + 4}" text-anchor="end">{Escape(system)}</text>""");
                panels.AppendLine(CultureInfo.InvariantCulture, $"""<rect x="{LabelWidth}" y="{y}" width="{F(Scaled(median, scale, plot))}" height="{BarHeight}" fill="{color}" fill-opacity="0.8"/>""");
                panels.AppendLine(CultureInfo.InvariantCulture, $"""<line x1="{F(LabelWidth + Scaled(min, scale, plot))}" y1="{mid}" x2="{F(LabelWidth + Scaled(max, scale, plot))}" y2="{mid}" stroke="black" stroke-width="1.5"/>""");
                panels.AppendLine(CultureInfo.InvariantCulture, $"""<text x="{F(LabelWidth + Scaled(max, scale, plot) + 6)}" y="{mid + 4}">{median.ToString(format, CultureInfo.InvariantCulture)}</text>""");
                y += BarHeight + BarGap;
            }

            y += PanelGap - 20;
        }

        var svg = new StringBuilder();
        svg.AppendLine(CultureInfo.InvariantCulture, $"""<svg xmlns="http://www.w3.org/2000/svg" width="{Width}" height="{y + 20}" font-family="sans-serif" font-size="12">""");
        svg.AppendLine("""<rect width="100%" height="100%" fill="white"/>""");
        svg.AppendLine(CultureInfo.InvariantCulture, $"""<text x="{Width / 2}" y="20" text-anchor="middle" font-size="14">Medians of the runs (bar) and their range (line), every system in the same invocation</text>""");
        svg.Append(legend).Append(panels).AppendLine("</svg>");
        return svg.ToString();
    }

    private static double Scaled(double value, double scale, int plot) =>
        scale <= 0 || double.IsNaN(value) ? 0 : Math.Max(0, value / scale * plot);

    private static string F(double value) => value.ToString("0.0", CultureInfo.InvariantCulture);

    private static string Escape(string text) => WebUtility.HtmlEncode(text);
}
