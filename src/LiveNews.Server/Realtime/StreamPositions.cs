using System.Globalization;
using System.Text;
using LiveNews.Server.Bus;

namespace LiveNews.Server.Realtime;

/// <summary>
/// The position of every topic of one Server-Sent Events stream, written as each event's <c>id:</c> so that
/// the browser's automatic reconnect (<c>Last-Event-ID</c>, to any node) resumes every topic exactly.
/// Form: <c>{tag}_{epoch}.{seq}_{epoch}.{seq}…</c>, one part per topic in the stream's order, empty for a
/// topic not read yet; <c>tag</c> is a hash of the topic names, so an id of another stream is no position.
/// Epochs are hex and seqs decimal: the id is URL-safe and never holds a line break.
/// </summary>
internal sealed class StreamPositions
{
    private const char PartSeparator = '_';
    private const char SeqSeparator = '.';

    // Ids come from the network: what is parsed is bounded by what the stream's own topics need (the tag, then
    // per topic a separator, an epoch of 16 hex characters and a seq of up to 19 digits, with room to spare), so
    // any number of topics Realtime:MaxTopicsPerConnection allows still resumes.
    private const int MaxIdLengthPerTopic = 64;

    private readonly Topic[] _topics;
    private readonly (string Epoch, long Seq)?[] _positions;
    private readonly string _tag;

    public StreamPositions(IReadOnlyList<Topic> topics)
    {
        _topics = [.. topics];
        _positions = new (string, long)?[_topics.Length];
        _tag = Tag(_topics);
    }

    /// <summary>The position of the topic, if the stream has one for it.</summary>
    public (string Epoch, long Seq)? Of(int index) => _positions[index];

    public void Set(int index, string epoch, long seq) => _positions[index] = (epoch, seq);

    /// <summary>The index of a topic of the stream, or -1.</summary>
    public int IndexOf(string topic)
    {
        for (var i = 0; i < _topics.Length; i++)
        {
            if (_topics[i].Name == topic)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>
    /// Takes the positions of a <c>Last-Event-ID</c>. One that does not parse, or was written for other
    /// topics, gives no position at all (fresh snapshots): a stale or hostile id is never an error.
    /// </summary>
    public bool TryResume(string? lastEventId)
    {
        if (string.IsNullOrEmpty(lastEventId) || lastEventId.Length > _tag.Length + (MaxIdLengthPerTopic * _topics.Length))
        {
            return false;
        }

        var parts = lastEventId.Split(PartSeparator);
        if (parts.Length != _topics.Length + 1 || parts[0] != _tag)
        {
            return false;
        }

        var positions = new (string, long)?[_topics.Length];
        for (var i = 0; i < _topics.Length; i++)
        {
            var part = parts[i + 1];
            if (part.Length == 0)
            {
                continue;
            }

            var dot = part.IndexOf(SeqSeparator);
            if (dot < 0
                || !IsEpoch(part.AsSpan(0, dot))
                || !long.TryParse(part.AsSpan(dot + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var seq))
            {
                return false;
            }

            positions[i] = (part[..dot], seq);
        }

        positions.CopyTo(_positions, 0);
        return true;
    }

    /// <summary>The id naming every topic's current position.</summary>
    public string Id()
    {
        var id = new StringBuilder(_tag, 16 + (_topics.Length * 24));
        foreach (var position in _positions)
        {
            id.Append(PartSeparator);
            if (position is { } p)
            {
                id.Append(p.Epoch).Append(SeqSeparator).Append(p.Seq.ToString(CultureInfo.InvariantCulture));
            }
        }

        return id.ToString();
    }

    // Epochs are the publish script's hex ids; "" for a topic nothing was published on yet.
    private static bool IsEpoch(ReadOnlySpan<char> epoch)
    {
        if (epoch.Length > 64)
        {
            return false;
        }

        foreach (var c in epoch)
        {
            if (!char.IsAsciiHexDigitLower(c))
            {
                return false;
            }
        }

        return true;
    }

    // FNV-1a over the names: the same on every node and every run (string.GetHashCode is not).
    private static string Tag(Topic[] topics)
    {
        var hash = 2166136261u;
        foreach (var topic in topics)
        {
            foreach (var b in Encoding.UTF8.GetBytes(topic.Name + "\n"))
            {
                hash = (hash ^ b) * 16777619u;
            }
        }

        return hash.ToString("x8", CultureInfo.InvariantCulture);
    }
}
