using System.ComponentModel.DataAnnotations;

namespace LiveNews.Server.Editors;

/// <summary>Limits every editor request shares (newsroom and social). Bound from the <c>EditorApi</c> section.</summary>
public sealed class EditorApiOptions
{
    public const string SectionName = "EditorApi";

    [Range(1024, 10 * 1024 * 1024, ErrorMessage = "EditorApi:MaxRequestBodyBytes must be between 1024 and 10485760.")]
    public int MaxRequestBodyBytes { get; set; } = 64 * 1024;

    /// <summary>How long a stored answer replays for the same <c>Idempotency-Key</c>.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "7.00:00:00", ErrorMessage = "EditorApi:IdempotencyTimeToLive must be between 1 minute and 7 days.")]
    public TimeSpan IdempotencyTimeToLive { get; set; } = TimeSpan.FromHours(24);
}
