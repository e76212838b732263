using LiveNews.Server.Bus;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;

namespace LiveNews.Server.Realtime;

/// <summary>
/// One push on its way to this node's readers of a topic: a relayed event (method <c>event</c>, the
/// envelope as published) or another message of the topic (<c>viewers</c>), and each transport's frame of
/// it made once, on first use, and shared by every reader of that transport.
/// </summary>
internal sealed class TopicPush(string topic, RawJson envelope, string method = TopicPush.EventMethod)
{
    public const string EventMethod = "event";

    // What a protocol adds around an envelope, counted towards a reader's buffer.
    private const int FramingBytes = 48;

    private SerializedHubMessage? _hubMessage;

    public string Topic { get; } = topic;

    /// <summary>The payload: for <see cref="EventMethod"/>, the envelope as published.</summary>
    public RawJson Envelope { get; } = envelope;

    /// <summary>The hub method readers receive it as (<c>event</c>, <c>viewers</c>); SSE uses it as the event name.</summary>
    public string Method { get; } = method;

    /// <summary>True for a relayed event (it has a <c>seq</c> and moves the reader's position).</summary>
    public bool IsEvent => Method == EventMethod;

    /// <summary>Bytes this push holds in a reader's buffer, roughly.</summary>
    public int Size => Envelope.Utf8.Length + FramingBytes;

    /// <summary>The SignalR invocation (<c>event(envelope)</c>), serialized once per protocol by SignalR.</summary>
    public SerializedHubMessage HubMessage
    {
        get
        {
            if (_hubMessage is null)
            {
                Interlocked.CompareExchange(ref _hubMessage, new SerializedHubMessage(new InvocationMessage(Method, [Envelope])), null);
            }

            return _hubMessage;
        }
    }
}

/// <summary>
/// Events of one topic relayed together (they reached the relay while it handed over the ones before, as in a
/// burst): a hub connection on a WebSocket gets them as one message of several SignalR records, made once per
/// protocol and shared by every such reader, so a burst costs each reader one send instead of one per event.
/// </summary>
internal sealed class TopicPushes(IReadOnlyList<TopicPush> pushes)
{
    // Each protocol's message, made on first use: (protocol name, the records one after another).
    private (string Protocol, byte[] Message)[] _messages = [];

    public IReadOnlyList<TopicPush> Pushes { get; } = pushes;

    /// <summary>Bytes these pushes hold in a reader's buffer, roughly.</summary>
    public int Size { get; } = pushes.Sum(p => p.Size);

    /// <summary>
    /// The pushes' SignalR records in one buffer: what SignalR's own send loop sends when it finds several in
    /// its pipe, and what its clients read (JSON records end with a separator, MessagePack's are length-prefixed).
    /// </summary>
    public ReadOnlyMemory<byte> Message(IHubProtocol protocol)
    {
        if (Made(Volatile.Read(ref _messages), protocol.Name) is { } cached)
        {
            return cached;
        }

        // Serialized here rather than through each push's cache, so the records are held once, in the message.
        var records = Pushes.Select(p => protocol.GetMessageBytes(new InvocationMessage(p.Method, [p.Envelope]))).ToArray();
        var made = new byte[records.Sum(r => r.Length)];
        var written = 0;
        foreach (var record in records)
        {
            record.Span.CopyTo(made.AsSpan(written));
            written += record.Length;
        }

        // Two readers may make it at once: the first kept is the one every reader sends. Another protocol's,
        // made meanwhile, is kept too.
        while (true)
        {
            var known = Volatile.Read(ref _messages);
            if (Made(known, protocol.Name) is { } first)
            {
                return first;
            }

            if (Interlocked.CompareExchange(ref _messages, [.. known, (protocol.Name, made)], known) == known)
            {
                return made;
            }
        }
    }

    private static byte[]? Made((string Protocol, byte[] Message)[] messages, string protocol)
    {
        foreach (var (name, message) in messages)
        {
            if (name == protocol)
            {
                return message;
            }
        }

        return null;
    }
}

/// <summary>A reader of this node that topic pushes reach: a hub connection, or another transport's stream.</summary>
internal interface ITopicReader
{
    string Id { get; }

    /// <summary>The topics it joined (changed only under <see cref="Subscribers"/>' membership lock).</summary>
    HashSet<string> Topics { get; }

    /// <summary>Queues the push; must not wait for the reader's socket.</summary>
    void Push(TopicPush push);

    /// <summary>Queues pushes relayed together, in order; a reader may send them together.</summary>
    void Push(TopicPushes pushes)
    {
        foreach (var push in pushes.Pushes)
        {
            Push(push);
        }
    }

    /// <summary>Nothing more will be pushed.</summary>
    void Close();
}
