using LiveNews.Server.Bus;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;

namespace LiveNews.Server.Realtime;

/// <summary>
/// One relayed event on its way to this node's readers: the envelope as published, and each transport's
/// frame of it made once, on first use, and shared by every reader of that transport.
/// </summary>
internal sealed class TopicPush(string topic, RawJson envelope)
{
    // What a protocol adds around an envelope, counted towards a reader's buffer.
    private const int FramingBytes = 48;

    private SerializedHubMessage? _hubMessage;

    public string Topic { get; } = topic;

    public RawJson Envelope { get; } = envelope;

    /// <summary>Bytes this push holds in a reader's buffer, roughly.</summary>
    public int Size => Envelope.Utf8.Length + FramingBytes;

    /// <summary>The SignalR <c>event(envelope)</c> invocation, serialized once per protocol by SignalR.</summary>
    public SerializedHubMessage HubMessage
    {
        get
        {
            if (_hubMessage is null)
            {
                Interlocked.CompareExchange(ref _hubMessage, new SerializedHubMessage(new InvocationMessage("event", [Envelope])), null);
            }

            return _hubMessage;
        }
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

    /// <summary>Nothing more will be pushed.</summary>
    void Close();
}
