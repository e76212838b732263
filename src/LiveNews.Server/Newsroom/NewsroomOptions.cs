using System.ComponentModel.DataAnnotations;

namespace LiveNews.Server.Newsroom;

/// <summary>Newsroom settings. Bound from the <c>Newsroom</c> section.</summary>
public sealed class NewsroomOptions
{
    public const string SectionName = "Newsroom";

    /// <summary>How often each node looks for breaking alerts past their expiry.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00", ErrorMessage = "Newsroom:ExpirySweepInterval must be between 50 ms and 10 minutes.")]
    public TimeSpan ExpirySweepInterval { get; set; } = TimeSpan.FromSeconds(1);
}
