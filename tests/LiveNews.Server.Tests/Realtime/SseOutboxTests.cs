using System.Text;
using LiveNews.Server.Bus;
using LiveNews.Server.Realtime;

namespace LiveNews.Server.Tests.Realtime;

/// <summary>An event stream's buffer: bounded, and a reader that stops reading is cut off, not waited for.</summary>
public sealed class SseOutboxTests
{
    private static TopicPush Push(int bytes) => new("breaking", new RawJson(Encoding.UTF8.GetBytes(new string('x', bytes))));

    [Fact]
    public void Push_OverTheBound_CutsTheStreamOffOnce()
    {
        var overflows = new List<long>();
        var aborted = 0;
        var outbox = new SseOutbox("sse:test", maxBufferedBytes: 16 * 1024, (_, bytes) => overflows.Add(bytes), () => aborted++);

        for (var i = 0; i < 3; i++)
        {
            outbox.Push(Push(4 * 1024));
        }

        Assert.Empty(overflows);
        outbox.Push(Push(8 * 1024));
        outbox.Push(Push(8 * 1024));

        Assert.Single(overflows);
        Assert.Equal(1, aborted);
        var queued = 0;
        while (outbox.Reader.TryRead(out _))
        {
            queued++;
        }

        Assert.Equal(3, queued);
        Assert.True(outbox.Reader.Completion.IsCompleted);
    }

    [Fact]
    public void Push_SentBytesFreed_KeepsStreaming()
    {
        var aborted = 0;
        var outbox = new SseOutbox("sse:test", maxBufferedBytes: 16 * 1024, (_, _) => { }, () => aborted++);
        for (var i = 0; i < 20; i++)
        {
            outbox.Push(Push(6 * 1024));
            Assert.True(outbox.Reader.TryRead(out var push));
            outbox.Sent(push);
        }

        Assert.Equal(0, aborted);
    }
}
