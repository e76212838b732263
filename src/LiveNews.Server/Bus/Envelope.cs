using System.Text.Json;

namespace LiveNews.Server.Bus;

/// <summary>The position-bearing head of an envelope: what a node needs to order and dedupe it.</summary>
internal readonly record struct EnvelopeHeader(string Topic, long Seq, string Epoch)
{
    /// <summary>
    /// Reads <c>topic</c>, <c>seq</c> and <c>epoch</c>, which the publish script writes first, without
    /// parsing the whole event.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> envelope, out EnvelopeHeader header)
    {
        header = default;
        string? topic = null, epoch = null;
        long seq = -1;
        var reader = new Utf8JsonReader(envelope);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("topic"u8))
                {
                    reader.Read();
                    topic = reader.GetString();
                }
                else if (reader.ValueTextEquals("seq"u8))
                {
                    reader.Read();
                    seq = reader.GetInt64();
                }
                else if (reader.ValueTextEquals("epoch"u8))
                {
                    reader.Read();
                    epoch = reader.GetString();
                }
                else
                {
                    break;
                }

                if (topic is not null && epoch is not null && seq >= 0)
                {
                    header = new EnvelopeHeader(topic, seq, epoch);
                    return true;
                }
            }
        }
        catch (JsonException)
        {
        }

        return false;
    }

    /// <summary>The publication time of a stored envelope (its <c>at</c>).</summary>
    public static DateTimeOffset? ReadAt(ReadOnlySpan<byte> envelope)
    {
        var reader = new Utf8JsonReader(envelope);
        try
        {
            reader.Read();
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isAt = reader.ValueTextEquals("at"u8);
                reader.Read();
                if (isAt)
                {
                    return reader.GetDateTimeOffset();
                }

                reader.Skip();
            }
        }
        catch (JsonException)
        {
        }
        catch (FormatException)
        {
        }

        return null;
    }
}
