using System.ComponentModel.DataAnnotations;

namespace LiveNews.Server.Bus;

/// <summary>How much of each topic's history is kept for resuming clients. Bound from the <c>Bus</c> section.</summary>
public sealed class BusOptions
{
    public const string SectionName = "Bus";

    /// <summary>Events kept per topic for resume and node catch-up.</summary>
    [Range(1, 100_000, ErrorMessage = "Bus:HistoryLength must be between 1 and 100000.")]
    public int HistoryLength { get; set; } = 500;

    /// <summary>Events older than this are not replayed; a client further behind starts over from the snapshot.</summary>
    [Range(typeof(TimeSpan), "00:00:10", "30.00:00:00", ErrorMessage = "Bus:HistoryTimeToLive must be between 10 seconds and 30 days.")]
    public TimeSpan HistoryTimeToLive { get; set; } = TimeSpan.FromHours(24);
}
