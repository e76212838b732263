using System.Buffers;
using System.Text.Json;

namespace LiveNews.Server.Bus;

/// <summary>
/// Turns a topic's stored state and items into the snapshot clients receive, named for what the topic
/// carries: <c>{status}</c> for live, <c>{alerts}</c> for breaking, <c>{articles}</c> for latest,
/// <c>{article, entries, more}</c> for an article (pinned entries, then the newest; <c>more</c> when older ones exist), <c>{shares}</c> for the newsroom.
/// </summary>
internal static class Snapshot
{
    public static RawJson Write(Topic topic, TopicRead read, DateTimeOffset now)
    {
        var (stateName, itemsName) = topic.Kind switch
        {
            TopicKind.Live => ("status", null),
            TopicKind.Breaking => (null, "alerts"),
            TopicKind.Latest => (null, "articles"),
            TopicKind.Article => ("article", "entries"),
            _ => ((string?)null, (string?)"shares"),
        };

        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            if (stateName is not null)
            {
                writer.WritePropertyName(stateName);
                if (read.State is null)
                {
                    writer.WriteNullValue();
                }
                else
                {
                    writer.WriteRawValue(read.State, skipInputValidation: true);
                }
            }

            if (itemsName is not null)
            {
                writer.WriteStartArray(itemsName);
                foreach (var item in read.Items)
                {
                    // An expired alert leaves the snapshot at once, even before its removal is pushed.
                    if (item.ExpiresAt is { } expires && expires <= now)
                    {
                        continue;
                    }

                    writer.WriteRawValue(item.Json, skipInputValidation: true);
                }

                writer.WriteEndArray();
                if (topic.Kind == TopicKind.Article)
                {
                    writer.WriteBoolean("more", read.More);
                }
            }

            writer.WriteEndObject();
        }

        return new RawJson(buffer.WrittenSpan.ToArray());
    }
}
