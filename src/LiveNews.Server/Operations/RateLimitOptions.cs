using System.ComponentModel.DataAnnotations;

namespace LiveNews.Server.Operations;

/// <summary>
/// How much one caller may ask of a node per minute. Bound from the <c>RateLimits</c> section; a refused
/// call gets 429 with <c>Retry-After</c> (HTTP) or a hub error saying when to retry.
/// </summary>
public sealed class RateLimitOptions
{
    public const string SectionName = "RateLimits";

    /// <summary>Editor API requests per editor identity (API key or token subject).</summary>
    [Range(1, int.MaxValue, ErrorMessage = "RateLimits:EditorRequestsPerMinute must be positive.")]
    public int EditorRequestsPerMinute { get; set; } = 60_000;

    /// <summary>Public HTTP reads (topics, share links) per client address.</summary>
    [Range(1, int.MaxValue, ErrorMessage = "RateLimits:PublicRequestsPerMinute must be positive.")]
    public int PublicRequestsPerMinute { get; set; } = 600;

    /// <summary>New hub connections per client address.</summary>
    [Range(1, int.MaxValue, ErrorMessage = "RateLimits:ConnectionsPerMinute must be positive.")]
    public int ConnectionsPerMinute { get; set; } = 600;

    /// <summary>Hub invocations (Subscribe, Unsubscribe) per connection.</summary>
    [Range(1, int.MaxValue, ErrorMessage = "RateLimits:HubInvocationsPerMinute must be positive.")]
    public int HubInvocationsPerMinute { get; set; } = 120;

    /// <summary>Browser origins allowed to call the API and the hub; empty allows same-origin pages only.</summary>
    public List<string> AllowedOrigins { get; set; } = [];
}
