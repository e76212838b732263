using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace LiveNews.Server.Bus;

/// <summary>
/// The one owner of how LiveNews reads and writes JSON. Strict at the edge, tolerant in storage: request
/// bodies refuse unknown fields, while stored documents and events ignore them, so nodes of two versions
/// can run side by side during a rolling deploy (a newer node may add a field the older one does not know).
/// </summary>
internal static class LiveNewsJson
{
    /// <summary>Editor request bodies: unknown fields and deep nesting are refused.</summary>
    public static readonly JsonSerializerOptions Requests = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        MaxDepth = 8,
        Converters = { new UtcTimestampConverter() },
    };

    /// <summary>Stored documents (articles, alerts, entries, share jobs) and event data: unknown fields are ignored.</summary>
    public static readonly JsonSerializerOptions Stored = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new UtcTimestampConverter() },
    };

    /// <summary>
    /// Messages read only as JSON, by LiveNews' own code, where every byte counts (a Web Push message holds 4 KB
    /// in all): characters outside ASCII, and <c>&amp;</c> or <c>&lt;</c>, as themselves, not as six-byte
    /// <c>\uXXXX</c> escapes. Never for text that goes into HTML.
    /// </summary>
    public static readonly JsonSerializerOptions Compact = new(Stored) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Stored);

    public static T? Deserialize<T>(string json) => JsonSerializer.Deserialize<T>(json, Stored);
}
