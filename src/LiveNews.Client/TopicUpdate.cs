using System.Text.Json;

namespace LiveNews.Client;

/// <summary>What a topic subscription yields: first a snapshot, then events in order, each once.</summary>
public abstract record TopicUpdate(string Topic, string Epoch, long Seq)
{
    public TopicPosition Position => new(Epoch, Seq);
}

/// <summary>
/// The topic's state at <see cref="TopicUpdate.Seq"/>. <see cref="StartedOver"/> is true when the client had
/// a position but the server could not replay from it (history too short, or the topic's history was
/// lost): redraw from this snapshot.
/// </summary>
public sealed record TopicSnapshot(string Topic, string Epoch, long Seq, JsonElement State, bool StartedOver) : TopicUpdate(Topic, Epoch, Seq);

/// <summary>One event of a topic, as published.</summary>
public sealed record TopicEvent(string Topic, string Epoch, long Seq, string Id, string Type, DateTimeOffset At, JsonElement Data) : TopicUpdate(Topic, Epoch, Seq)
{
    internal static TopicEvent Parse(JsonElement envelope) => new(
        envelope.GetProperty("topic").GetString()!,
        envelope.GetProperty("epoch").GetString()!,
        envelope.GetProperty("seq").GetInt64(),
        envelope.GetProperty("id").GetString()!,
        envelope.GetProperty("type").GetString()!,
        envelope.GetProperty("at").GetDateTimeOffset(),
        envelope.GetProperty("data").Clone());
}

/// <summary>Where a reader is in a topic: saved, it lets a later run resume with exactly what it missed.</summary>
public sealed record TopicPosition(string Epoch, long Seq);

/// <summary>For a "reconnecting…" indicator.</summary>
public enum ConnectionState
{
    Connecting,
    Live,
    Reconnecting,
    Offline,
}
