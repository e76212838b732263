using System.Threading.Channels;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Time.Testing;
using static LiveNews.Client.Tests.FakeTopicServer;

namespace LiveNews.Client.Tests;

/// <summary>
/// Per-topic sequencing against a fake hub, with time moved by hand: order, dedupe, gaps, and what happens
/// when the server refuses a topic or the store cannot serve it.
/// </summary>
public sealed class TopicSubscriptionsTests
{
    private readonly FakeTopicServer _server = new();
    private readonly FakeTimeProvider _time = new();
    private readonly List<TopicError> _errors = [];
    private readonly List<int> _retryAttempts = [];
    private readonly TopicSubscriptions _topics;

    public TopicSubscriptionsTests()
    {
        // 1 s, 2 s, 4 s …: the real backoff's shape without its jitter.
        _topics = new TopicSubscriptions(_server, _time, attempt =>
        {
            _retryAttempts.Add(attempt);
            return TimeSpan.FromSeconds(Math.Pow(2, attempt));
        });
        _topics.Failed += _errors.Add;
    }

    [Fact]
    public async Task AddAsync_Fresh_DeliversSnapshotThenEventsInOrderOnce()
    {
        var reader = await _topics.AddAsync("breaking", null);

        _topics.OnEvent(Event(1));
        _topics.OnEvent(Event(1));
        _topics.OnEvent(Event(2));

        var updates = Drain(reader);
        Assert.IsType<TopicSnapshot>(updates[0]);
        Assert.Equal([1, 2], Seqs(updates));
    }

    [Fact]
    public async Task OnEvent_BeforeTheSubscribeAnswer_HeldThenThoseInTheSnapshotDropped()
    {
        _server.HoldAnswers = true;
        _server.Answer = r => Fresh(r.Topic, "e1", 5);
        var adding = _topics.AddAsync("breaking", null);

        _topics.OnEvent(Event(5));
        _topics.OnEvent(Event(7));
        _topics.OnEvent(Event(6));
        _server.Release();
        var reader = await adding;

        Assert.Equal([6, 7], Seqs(Drain(reader)));
        Assert.Single(_server.SubscribeCalls);
    }

    [Fact]
    public async Task OnEvent_Gap_AsksForTheMissingEventsBeforeLaterOnes()
    {
        var reader = await _topics.AddAsync("breaking", null);
        _server.Answer = r => Replay(r.Topic, "e1", 3, Event(1), Event(2));

        _topics.OnEvent(Event(3));

        Assert.Equal(new SubscribeRequest("breaking", "e1", 0), _server.SubscribeCalls[1].Single());
        Assert.Equal([1, 2, 3], Seqs(Drain(reader)));
    }

    [Fact]
    public async Task OnEvent_OfAnEpochTheTopicLeft_AsksOnceThenDropsIt()
    {
        _server.Answer = r => Fresh(r.Topic, "e2", 15);
        var reader = await _topics.AddAsync("breaking", null);
        _server.Answer = r => Replay(r.Topic, "e2", 15);

        // A node still relaying the epoch before the one this reader started in.
        _topics.OnEvent(Event(11, "e1"));
        _topics.OnEvent(Event(16, "e2"));

        Assert.Equal(2, _server.SubscribeCalls.Count);
        Assert.Equal(new SubscribeRequest("breaking", "e2", 15), _server.SubscribeCalls[1].Single());
        Assert.Equal([16], Seqs(Drain(reader)));
    }

    [Fact]
    public async Task ResubscribeAllAsync_OneTopicRefused_ReportedForThatTopicOnlyWhileTheOthersReceive()
    {
        _server.IsConnected = false;
        _server.Refused["article:Bad_Id"] = "Topic 'article:Bad_Id' is not valid.";
        var readers = new Dictionary<string, ChannelReader<TopicUpdate>>();
        foreach (var topic in new[] { "live", "breaking", "latest", "article:Bad_Id" })
        {
            readers[topic] = await _topics.AddAsync(topic, null);
        }

        _server.IsConnected = true;
        await _topics.ResubscribeAllAsync();
        _topics.OnEvent(Event(1, topic: "breaking"));
        _topics.OnEvent(Event(1, topic: "article:Bad_Id"));
        _time.Advance(TimeSpan.FromMinutes(5));

        Assert.Equal([new TopicError("article:Bad_Id", TopicErrorReason.Refused, "Topic 'article:Bad_Id' is not valid.", null)], _errors);
        var refusal = await Assert.ThrowsAsync<HubException>(async () => await readers["article:Bad_Id"].ReadAllAsync().ToListAsync());
        Assert.Contains("Topic 'article:Bad_Id' is not valid.", refusal.Message, StringComparison.Ordinal);
        Assert.IsType<TopicSnapshot>(Drain(readers["live"]).Single());
        Assert.IsType<TopicSnapshot>(Drain(readers["latest"]).Single());
        Assert.Equal([1], Seqs(Drain(readers["breaking"])));
        // The batch, then each topic alone; the refused topic never again.
        Assert.Equal(5, _server.SubscribeCalls.Count);
        Assert.Equal(2, _server.SubscribeCalls.Count(call => call.Any(r => r.Topic == "article:Bad_Id")));
        Assert.Empty(_retryAttempts);
    }

    [Fact]
    public async Task AddAsync_Refused_ThrowsHubExceptionAndTheTopicCanBeAddedAgain()
    {
        _server.Refused["newsroom"] = "Topic 'newsroom' is for editors only.";

        await Assert.ThrowsAsync<HubException>(() => _topics.AddAsync("newsroom", null));
        _server.Refused.Clear();
        var reader = await _topics.AddAsync("newsroom", null);

        Assert.IsType<TopicSnapshot>(Drain(reader).Single());
    }

    [Fact]
    public async Task ResubscribeAllAsync_StoreUnavailable_RetriedWithBackoffUntilItSucceeds()
    {
        _server.IsConnected = false;
        var live = await _topics.AddAsync("live", null);
        var breaking = await _topics.AddAsync("breaking", null);
        _server.Unavailable.Add("breaking");

        _server.IsConnected = true;
        await _topics.ResubscribeAllAsync();
        Assert.IsType<TopicSnapshot>(Drain(live).Single());
        Assert.Equal(3, _server.SubscribeCalls.Count); // the batch, then each topic alone
        Assert.Equal(TimeSpan.FromSeconds(1), Assert.Single(_errors).RetryIn);

        _time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.Equal(3, _server.SubscribeCalls.Count);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(4, _server.SubscribeCalls.Count);
        Assert.Equal(TimeSpan.FromSeconds(2), _errors[^1].RetryIn);

        _server.Unavailable.Clear();
        _time.Advance(TimeSpan.FromSeconds(2));
        _topics.OnEvent(Event(1));
        _topics.OnEvent(Event(2));

        Assert.Equal([0, 1], _retryAttempts);
        Assert.All(_errors, e => Assert.Equal(TopicErrorReason.Unavailable, e.Reason));
        var updates = Drain(breaking);
        Assert.IsType<TopicSnapshot>(updates[0]);
        Assert.Equal([1, 2], Seqs(updates));
    }

    [Fact]
    public async Task OnEvent_GapWhileStoreUnavailable_OneSubscribePerRetryNotPerEvent()
    {
        var reader = await _topics.AddAsync("breaking", null);
        _topics.OnEvent(Event(1));
        _server.Unavailable.Add("breaking");

        _topics.OnEvent(Event(3)); // 2 is missing
        for (var seq = 4; seq <= 12; seq++)
        {
            _topics.OnEvent(Event(seq));
        }

        Assert.Equal(2, _server.SubscribeCalls.Count);
        _server.Unavailable.Clear();
        _server.Answer = r => Replay(r.Topic, "e1", 12, Event(2), Event(3));
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(3, _server.SubscribeCalls.Count);
        Assert.Equal([.. Enumerable.Range(1, 12)], Seqs(Drain(reader)));
    }

    [Fact]
    public async Task ResubscribeAllAsync_DroppedMidSubscribe_AskedAgainAndAnsweredOnce()
    {
        _server.HoldAnswers = true;
        var adding = _topics.AddAsync("breaking", null);
        Assert.Equal(1, _server.HeldCount);

        _server.Drop();
        var reader = await adding;
        _server.HoldAnswers = false;
        _server.IsConnected = true;
        await _topics.ResubscribeAllAsync();

        Assert.Equal(2, _server.SubscribeCalls.Count);
        Assert.IsType<TopicSnapshot>(Drain(reader).Single());
        Assert.Empty(_errors);
    }

    [Fact]
    public async Task AddAsync_TopicAlreadySubscribed_ThrowsAndKeepsTheFirstReader()
    {
        var reader = await _topics.AddAsync("breaking", null);

        await Assert.ThrowsAsync<InvalidOperationException>(() => _topics.AddAsync("breaking", null));
        _topics.OnEvent(Event(1));

        Assert.Equal([1], Seqs(Drain(reader)));
        Assert.Single(_server.SubscribeCalls);
    }

    [Fact]
    public async Task OnEvent_EmptyTopicFirstEvent_AdoptsItsEpochWithoutResync()
    {
        _server.Answer = r => Fresh(r.Topic, "", 0);
        var reader = await _topics.AddAsync("breaking", null);
        _server.IsConnected = true;
        await _topics.ResubscribeAllAsync();
        Assert.Equal(new SubscribeRequest("breaking", "", 0), _server.SubscribeCalls[^1].Single());

        _server.Answer = r => Fresh(r.Topic, "e7", 2);
        _topics.OnEvent(Event(1, "e7"));
        _topics.OnEvent(Event(2, "e7"));

        var updates = Drain(reader);
        Assert.Equal(2, updates.OfType<TopicSnapshot>().Count()); // the two subscribes' own, no resync's
        Assert.Equal([1, 2], Seqs(updates));
        Assert.Equal(new TopicPosition("e7", 2), updates[^1].Position);
        Assert.Equal(2, _server.SubscribeCalls.Count);
    }

    [Fact]
    public async Task ResubscribeAllAsync_FromTheEmptyPositionRecovered_DeliversTheMissedEvents()
    {
        _server.Answer = r => Fresh(r.Topic, "", 0);
        var reader = await _topics.AddAsync("breaking", null);

        _server.Answer = r => Replay(r.Topic, "e7", 2, Event(1, "e7"), Event(2, "e7"));
        await _topics.ResubscribeAllAsync();
        _topics.OnEvent(Event(3, "e7"));

        var updates = Drain(reader);
        Assert.Single(updates.OfType<TopicSnapshot>());
        Assert.Equal([1, 2, 3], Seqs(updates));
    }

    [Fact]
    public async Task RemoveAsync_WhileARetryWaits_StopsRetryingAndEndsTheUpdates()
    {
        _server.Unavailable.Add("breaking");
        var reader = await _topics.AddAsync("breaking", null);
        Assert.Single(_errors);

        await _topics.RemoveAsync("breaking");
        _time.Advance(TimeSpan.FromMinutes(5));

        Assert.Single(_server.SubscribeCalls);
        Assert.Equal(["breaking"], _server.Unsubscribed);
        Assert.True(reader.Completion.IsCompleted);
    }

    [Fact]
    public async Task Follows_OnlyWhileSubscribed_SoACountInFlightAfterUnsubscribingIsDropped()
    {
        await _topics.AddAsync("live", null);
        Assert.True(_topics.Follows("live"));
        Assert.False(_topics.Follows("article:other"));

        await _topics.RemoveAsync("live");

        Assert.False(_topics.Follows("live"));
    }

    private static List<TopicUpdate> Drain(ChannelReader<TopicUpdate> reader)
    {
        List<TopicUpdate> updates = [];
        while (reader.TryRead(out var update))
        {
            updates.Add(update);
        }

        return updates;
    }

    private static long[] Seqs(IEnumerable<TopicUpdate> updates) => [.. updates.OfType<TopicEvent>().Select(e => e.Seq)];
}
