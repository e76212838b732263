using System.Threading.Channels;

namespace LiveNews.Server.Realtime;

/// <summary>
/// What one Server-Sent Events stream still has to be sent, in order: the stream's counterpart of
/// <see cref="ConnectionOutbox"/>. Pushes only queue here; the stream's writer loop reads them. Once more
/// than <c>Realtime:MaxBufferedBytesPerConnection</c> wait, the stream is cut off, and the browser
/// reconnects and resumes from its last id.
/// </summary>
internal sealed class SseOutbox(string id, long maxBufferedBytes, Action<ITopicReader, long> overflowed, Action abort) : ITopicReader
{
    private readonly Channel<TopicPush> _queue = Channel.CreateUnbounded<TopicPush>(new UnboundedChannelOptions { SingleReader = true });
    private long _bytes;

    public string Id { get; } = id;

    public HashSet<string> Topics { get; } = new(StringComparer.Ordinal);

    public ChannelReader<TopicPush> Reader => _queue.Reader;

    public void Push(TopicPush push)
    {
        var waiting = Interlocked.Add(ref _bytes, push.Size);
        if (waiting > maxBufferedBytes)
        {
            if (_queue.Writer.TryComplete())
            {
                overflowed(this, waiting);
                abort();
            }

            return;
        }

        _queue.Writer.TryWrite(push);
    }

    /// <summary>The writer sent a push: its bytes no longer wait.</summary>
    public void Sent(TopicPush push) => Interlocked.Add(ref _bytes, -push.Size);

    public void Close() => _queue.Writer.TryComplete();
}
