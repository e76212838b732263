using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace LiveNews.Server.Bus;

/// <summary>
/// Every time LiveNews writes is UTC with millisecond precision (<c>2026-11-29T08:15:02.123Z</c>), like the
/// envelope's <c>at</c>: one format for readers to parse and sort, and fewer bytes per event.
/// </summary>
internal sealed class UtcTimestampConverter : JsonConverter<DateTimeOffset>
{
    public const string Format = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";

    public static string ToText(DateTimeOffset value) => value.UtcDateTime.ToString(Format, CultureInfo.InvariantCulture);

    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.GetDateTimeOffset();

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
        writer.WriteStringValue(ToText(value));
}
