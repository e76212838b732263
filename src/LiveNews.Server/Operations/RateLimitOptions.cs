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

    /// <summary>
    /// Hub invocations (Subscribe, Unsubscribe) per connection and minute: as many at once, then one more each
    /// 60 s ÷ this (a token bucket).
    /// </summary>
    [Range(1, int.MaxValue, ErrorMessage = "RateLimits:HubInvocationsPerMinute must be positive.")]
    public int HubInvocationsPerMinute { get; set; } = 120;

    /// <summary>Hub connections open at once per client address (IPv6: per /64).</summary>
    [Range(1, int.MaxValue, ErrorMessage = "RateLimits:ConnectionsPerAddress must be positive.")]
    public int ConnectionsPerAddress { get; set; } = 100;

    /// <summary>
    /// Failed editor sign-ins (bad API key or token) per client address; past it, every request with
    /// credentials from that address is refused until the minute has passed.
    /// </summary>
    [Range(1, int.MaxValue, ErrorMessage = "RateLimits:FailedSignInsPerMinute must be positive.")]
    public int FailedSignInsPerMinute { get; set; } = 10;

    /// <summary>
    /// Proxies (load balancers, CDN edges) whose <c>X-Forwarded-For</c> and <c>X-Forwarded-Proto</c> are
    /// believed, as IP addresses. Nobody is trusted by default: limits then count the socket's address.
    /// </summary>
    public List<string> KnownProxies { get; set; } = [];

    /// <summary>The same as networks in CIDR notation (<c>10.0.0.0/8</c>), for balancers with changing addresses.</summary>
    public List<string> KnownNetworks { get; set; } = [];

    /// <summary>Browser origins allowed to call the API and the hub; empty allows same-origin pages only.</summary>
    public List<string> AllowedOrigins { get; set; } = [];
}
