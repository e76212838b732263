using System.ComponentModel.DataAnnotations;

namespace LiveNews.Server.Newsroom;

/// <summary>Newsroom settings. Bound from the <c>Newsroom</c> section.</summary>
public sealed class NewsroomOptions
{
    public const string SectionName = "Newsroom";

    /// <summary>How often each node looks for breaking alerts past their expiry.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00", ErrorMessage = "Newsroom:ExpirySweepInterval must be between 50 ms and 10 minutes.")]
    public TimeSpan ExpirySweepInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How old an article request's record that <c>latest</c> is still to mirror it must be before the sweep does
    /// it (the request stopped between the two topics), and how often each node sweeps: longer than any request.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "01:00:00", ErrorMessage = "Newsroom:MirrorRepairAfter must be between 50 ms and 1 hour.")]
    public TimeSpan MirrorRepairAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Entries one article may hold. A new entry beyond it is refused with 409; none is ever dropped.</summary>
    [Range(1, 1_000_000, ErrorMessage = "Newsroom:MaxEntriesPerArticle must be between 1 and 1000000.")]
    public int MaxEntriesPerArticle { get; set; } = 10_000;

    /// <summary>Newest unpinned entries in an article's snapshot; pinned ones come on top, older ones are paged.</summary>
    [Range(1, 500, ErrorMessage = "Newsroom:SnapshotEntries must be between 1 and 500.")]
    public int SnapshotEntries { get; set; } = 50;
}
