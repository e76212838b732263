using System.ComponentModel.DataAnnotations;

namespace LiveNews.Server.Newsroom;

/// <summary>Limits of the editor API. Bound from the <c>Newsroom</c> section.</summary>
public sealed class NewsroomOptions
{
    public const string SectionName = "Newsroom";

    [Range(1024, 10 * 1024 * 1024, ErrorMessage = "Newsroom:MaxRequestBodyBytes must be between 1024 and 10485760.")]
    public int MaxRequestBodyBytes { get; set; } = 64 * 1024;

    /// <summary>How long a stored answer replays for the same <c>Idempotency-Key</c>.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "7.00:00:00", ErrorMessage = "Newsroom:IdempotencyTimeToLive must be between 1 minute and 7 days.")]
    public TimeSpan IdempotencyTimeToLive { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How often each node looks for breaking alerts past their expiry.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00", ErrorMessage = "Newsroom:ExpirySweepInterval must be between 50 ms and 10 minutes.")]
    public TimeSpan ExpirySweepInterval { get; set; } = TimeSpan.FromSeconds(1);
}
