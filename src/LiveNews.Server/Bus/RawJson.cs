using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace LiveNews.Server.Bus;

/// <summary>
/// JSON that is already serialized (an envelope as published, a snapshot). Written verbatim, so an event
/// is serialized once in the publish script and never again per connection.
/// </summary>
[JsonConverter(typeof(RawJsonConverter))]
internal sealed class RawJson(byte[] utf8)
{
    public byte[] Utf8 { get; } = utf8;

    public override string ToString() => Encoding.UTF8.GetString(Utf8);

    private sealed class RawJsonConverter : JsonConverter<RawJson>
    {
        public override RawJson Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            using var document = JsonDocument.ParseValue(ref reader);
            return new RawJson(JsonSerializer.SerializeToUtf8Bytes(document.RootElement));
        }

        public override void Write(Utf8JsonWriter writer, RawJson value, JsonSerializerOptions options) =>
            writer.WriteRawValue(value.Utf8, skipInputValidation: true);
    }
}
