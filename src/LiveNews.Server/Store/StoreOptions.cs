using System.ComponentModel.DataAnnotations;

namespace LiveNews.Server.Store;

/// <summary>Where events, history and snapshots live. Bound from the <c>Redis</c> section.</summary>
public sealed class StoreOptions
{
    public const string SectionName = "Redis";

    /// <summary>A StackExchange.Redis configuration string; empty starts the embedded Garnet store.</summary>
    public string? Configuration { get; set; }

    /// <summary>Prefix of every key and channel, so several deployments can share one Redis.</summary>
    [Required, RegularExpression("^[a-z0-9-]{1,32}$", ErrorMessage = "Redis:KeyPrefix must be 1-32 lowercase letters, digits or dashes.")]
    public string KeyPrefix { get; set; } = "livenews";

    internal bool UsesEmbeddedStore => string.IsNullOrWhiteSpace(Configuration);
}
