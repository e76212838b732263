using System.Text.Json;

namespace LiveNews.Server.Bus;

/// <summary>
/// The head of an envelope: what a node needs to order, dedupe and time it. <paramref name="IdHash"/> tells two
/// events at one seq apart (this process only: the hash is seeded per process).
/// </summary>
internal readonly record struct EnvelopeHeader(string Topic, long Seq, string Epoch, int IdHash, DateTimeOffset At)
{
    /// <summary>
    /// Reads <c>topic</c>, <c>seq</c>, <c>epoch</c>, <c>id</c> and <c>at</c>, which the publish script writes
    /// in that order before <c>data</c>, without parsing the event's data.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> envelope, out EnvelopeHeader header)
    {
        header = default;
        string? topic = null, epoch = null;
        long seq = -1;
        var idHash = 0;
        var reader = new Utf8JsonReader(envelope);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("data"u8))
                {
                    return false;
                }

                var name = reader.ValueTextEquals("topic"u8) ? 1 : reader.ValueTextEquals("seq"u8) ? 2 : reader.ValueTextEquals("epoch"u8) ? 3 : reader.ValueTextEquals("at"u8) ? 4
                    : reader.ValueTextEquals("id"u8) ? 5 : 0;
                reader.Read();
                switch (name)
                {
                    case 1:
                        topic = reader.GetString();
                        break;
                    case 2:
                        seq = reader.GetInt64();
                        break;
                    case 3:
                        epoch = reader.GetString();
                        break;
                    case 4 when topic is not null && epoch is not null && seq >= 0:
                        header = new EnvelopeHeader(topic, seq, epoch, idHash, reader.GetDateTimeOffset());
                        return true;
                    case 5:
                        var hash = new HashCode();
                        hash.AddBytes(reader.ValueSpan);
                        idHash = hash.ToHashCode();
                        break;
                }
            }
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException)
        {
        }

        return false;
    }
}
