using System.ComponentModel.DataAnnotations;

namespace LiveNews.Server.Realtime;

/// <summary>Limits of the live hub. Bound from the <c>Realtime</c> section.</summary>
public sealed class RealtimeOptions
{
    public const string SectionName = "Realtime";

    [Range(1, 1000, ErrorMessage = "Realtime:MaxTopicsPerConnection must be between 1 and 1000.")]
    public int MaxTopicsPerConnection { get; set; } = 32;
}
