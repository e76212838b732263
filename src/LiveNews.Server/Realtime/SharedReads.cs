using LiveNews.Server.Bus;

namespace LiveNews.Server.Realtime;

/// <summary>
/// Single flight for topic reads on this node: subscribers that ask for the same read of a topic at the
/// same time share Redis round trips (a reconnect storm asks for the same snapshot thousands of times).
/// A subscriber may only use a read that started after it joined the topic's pushes: an event published
/// before such a read is in its answer, one published after reaches it as a push. So while one read is
/// running, later subscribers wait for the next one, which starts when it ends: at most two reads of a
/// key are ever pending, however many subscribers arrive.
/// </summary>
internal sealed class SharedReads(EventBus bus)
{
    private readonly Dictionary<(string Topic, long? AfterSeq), Slot> _slots = [];
    private long _clock;

    /// <summary>A point in this node's order of joins and reads; take it after joining a topic.</summary>
    public long Now() => Interlocked.Increment(ref _clock);

    /// <summary>The topic's snapshot (<paramref name="afterSeq"/> null) or the events after a position.</summary>
    public Task<TopicRead> ReadAsync(Topic topic, long? afterSeq, long joinedAt)
    {
        var key = (topic.Name, afterSeq);
        Read start;
        lock (_slots)
        {
            if (!_slots.TryGetValue(key, out var slot))
            {
                slot = new Slot();
                _slots.Add(key, slot);
            }

            if (slot.Running is { } running && running.StartedAt > joinedAt)
            {
                return running.Result;
            }

            if (slot.Running is not null)
            {
                slot.Next ??= new Read();
                return slot.Next.Result;
            }

            start = slot.Running = new Read { StartedAt = Now() };
        }

        _ = RunAsync(key, topic, afterSeq, start);
        return start.Result;
    }

    private async Task RunAsync((string, long?) key, Topic topic, long? afterSeq, Read read)
    {
        while (true)
        {
            try
            {
                read.Complete(await bus.ReadAsync(topic, afterSeq, withSnapshot: afterSeq is null));
            }
            catch (Exception ex)
            {
                read.Fail(ex);
            }

            lock (_slots)
            {
                var slot = _slots[key];
                if (slot.Next is null)
                {
                    _slots.Remove(key);
                    return;
                }

                // Every subscriber waiting for this one joined before it starts.
                read = slot.Running = slot.Next;
                read.StartedAt = Now();
                slot.Next = null;
            }
        }
    }

    private sealed class Slot
    {
        public Read? Running { get; set; }

        public Read? Next { get; set; }
    }

    private sealed class Read
    {
        private readonly TaskCompletionSource<TopicRead> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public long StartedAt { get; set; }

        public Task<TopicRead> Result => _result.Task;

        public void Complete(TopicRead read) => _result.SetResult(read);

        public void Fail(Exception exception) => _result.SetException(exception);
    }
}
