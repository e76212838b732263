using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using LiveNews.Server.Bus;
using LiveNews.Server.Realtime;
using LiveNews.Server.Store;
using LiveNews.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace LiveNews.Server.Tests.Realtime;

/// <summary>
/// The edges of the delivery promise against a real redis-server each test owns: subscribes that cost one
/// read per topic whatever is sent, that fail whole and leave nothing behind, reads shared in a storm, a
/// reader that stops reading, and a node that starts before its Redis.
/// </summary>
[Collection("redis")]
public sealed class DeliveryEdgeTests : OwnRedisTest
{
    [Fact]
    public async Task Subscribe_OneTopicRepeated1500Times_IsRefusedWithoutAnyRedisRead()
    {
        var node = Node();
        var connection = Track(await node.ConnectAsync());
        var requests = Enumerable.Repeat(new { topic = "latest" }, 1500).ToArray();
        Assert.True(Encoding.UTF8.GetByteCount(JsonSerializer.Serialize(requests)) < 32 * 1024);
        var scriptsBefore = await Redis.ScriptCallsAsync();

        var refused = await Assert.ThrowsAsync<HubException>(() => connection.InvokeAsync<JsonElement[]>("Subscribe", requests));
        var repeated = await Assert.ThrowsAsync<HubException>(() => connection.InvokeAsync<JsonElement[]>("Subscribe", new[] { new { topic = "live" }, new { topic = "live" } }));

        Assert.Contains("at most 32", refused.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("twice", repeated.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(LiveHubWords.Unavailable, repeated.Message, StringComparison.Ordinal);
        Assert.Equal(scriptsBefore, await Redis.ScriptCallsAsync());
        var results = await connection.InvokeAsync<JsonElement[]>("Subscribe", new[] { new { topic = "latest" }, new { topic = "live" } });
        Assert.Equal(2, results.Length);
    }

    [Fact]
    public async Task Subscribe_NegativePosition_IsRefused_AndAReaderArrivingMeanwhileStillGetsTheSnapshot()
    {
        // A resume "after -1" once shared its read with fresh subscribers (both keyed -1), who then got an
        // empty snapshot: the live stream looked ended.
        var node = Node();
        using var editor = node.Editor();
        (await editor.PutJsonAsync("/api/live", new { title = "Flood coverage", streamUrl = "https://video.example/live.m3u8" })).EnsureSuccessStatusCode();
        var hostile = Track(await node.ConnectAsync());
        var reader = Track(await node.ConnectAsync());
        await Redis.PauseAsync(TimeSpan.FromMilliseconds(500));

        var refusing = Assert.ThrowsAsync<HubException>(() => hostile.InvokeAsync<JsonElement[]>("Subscribe", new[] { new { topic = "live", epoch = "", seq = -1L } }));
        var fresh = reader.InvokeAsync<JsonElement[]>("Subscribe", new[] { new { topic = "live" } });

        var refused = await refusing;
        Assert.Contains("negative", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(LiveHubWords.Unavailable, refused.Message, StringComparison.Ordinal);
        Assert.Equal("Flood coverage", (await fresh)[0].GetProperty("snapshot").GetProperty("status").GetProperty("title").GetString());
    }

    [Fact]
    public async Task Subscribe_StoreKilled_FailsLeavingEverythingAsBefore_RetryWorksAndOtherReadersKeepReceiving()
    {
        var node = Node();
        var relay = node.Services.GetRequiredService<EventRelay>();
        var reader = Track(await node.ClientAsync());
        var updates = new ChannelReaderOf(await reader.SubscribeChannelAsync("breaking"));
        Assert.Equal(1, relay.ReferencesOf(Topic.Breaking));

        Redis.Kill();
        var second = Track(await node.ConnectAsync());
        var failed = await Assert.ThrowsAsync<HubException>(() => second.InvokeAsync<JsonElement[]>("Subscribe", new[] { new { topic = "breaking" }, new { topic = "article:fresh" } }));
        Assert.Contains(LiveHubWords.Unavailable, failed.Message, StringComparison.Ordinal);
        Assert.Equal(1, relay.ReferencesOf(Topic.Breaking));
        Assert.Equal(0, relay.ReferencesOf(Topic.Article("fresh")));

        await Redis.StartAgainAsync();
        var results = await Eventually.WithinAsync(RetryUntilSubscribedAsync(second, "breaking"), "the retried subscribe");
        Assert.Equal("breaking", results[0].GetProperty("topic").GetString());
        Assert.Equal(2, relay.ReferencesOf(Topic.Breaking));

        // The second connection leaves: the first keeps the topic served, and receives every event.
        await second.DisposeAsync();
        await Eventually.TrueAsync(() => relay.ReferencesOf(Topic.Breaking) == 1, "the second reader's reference released");
        using var editor = node.Editor();
        for (var i = 1; i <= 5; i++)
        {
            await editor.PostUntilAcceptedAsync("/api/breaking", new { headline = $"After {i}" }, $"after-{i}");
        }

        var events = await updates.EventsUntilAsync(5);
        Assert.Equal(Enumerable.Range(1, 5).Select(i => $"After {i}"), events.Select(e => e.Data.GetProperty("headline").GetString()));
    }

    [Fact]
    public async Task CatchUp_ReadFailsWhileRedisStalls_TriedAgainUntilTheMissedEventArrives()
    {
        // Commands fail within about a second instead of waiting 5 s for the store.
        var logs = new CapturedLogs();
        var node = Track(new LiveNewsNode(Redis.Configuration + ",syncTimeout=300,asyncTimeout=300", Prefix, logs: logs));
        var reader = Track(await node.ConnectAsync());
        var headlines = new ConcurrentQueue<string>();
        reader.On<JsonElement>("event", envelope => headlines.Enqueue(envelope.GetProperty("data").GetProperty("headline").GetString()!));
        await reader.InvokeAsync<JsonElement[]>("Subscribe", new[] { new { topic = "breaking" } });

        // The node stops hearing pub/sub, so the next event reaches history only, as while its subscription was down.
        await node.Services.GetRequiredService<RedisStore>().Connection.GetSubscriber().UnsubscribeAllAsync();
        using (var editor = node.Editor())
        {
            (await editor.PostJsonAsync("/api/breaking", new { headline = "Missed while unsubscribed" })).EnsureSuccessStatusCode();
        }

        // Its catch-up then meets a stalled store: the read fails and must be tried again. The pause outlasts the
        // timeout several times over (timeouts are checked about once a second), so the read surely fails.
        await Redis.PauseAsync(TimeSpan.FromSeconds(6));
        node.Services.GetRequiredService<EventRelay>().CatchUp();

        await Eventually.TrueAsync(() => headlines.Contains("Missed while unsubscribed"), "the missed event once the store answers", seconds: 30);
        Assert.Contains(logs.Lines, line => line.Contains("EventRelay[205]", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Subscribe_StorePausedWhileFiftyReadersArrive_TheyShareAFewReads()
    {
        var node = Node();
        var first = Track(await node.ConnectAsync());
        await first.InvokeAsync<JsonElement[]>("Subscribe", new[] { new { topic = "latest" } });
        var readers = new List<HubConnection>();
        for (var i = 0; i < 50; i++)
        {
            readers.Add(Track(await node.ConnectAsync()));
        }

        var scriptsBefore = await Redis.ScriptCallsAsync();
        await Redis.PauseAsync(TimeSpan.FromSeconds(2));
        var answers = await Task.WhenAll(readers.Select(r => r.InvokeAsync<JsonElement[]>("Subscribe", new[] { new { topic = "latest" } })));

        Assert.All(answers, a => Assert.False(a[0].GetProperty("recovered").GetBoolean()));
        var reads = await Redis.ScriptCallsAsync() - scriptsBefore;
        // One read runs, the others wait for the next; a subscriber that arrives only after that one started
        // (a busy machine) waits for one more. Without sharing it would be 50.
        Assert.True(reads is >= 1 and < 10, $"{reads} reads for 50 subscribers");
    }

    [Fact]
    public async Task SlowReader_StopsReadingItsSocket_IsDisconnectedAndOtherReadersGetEveryEvent()
    {
        var logs = new CapturedLogs();
        var sockets = await FloodWithAStalledReaderAsync(65536, logs);

        await Eventually.TrueAsync(() => logs.Lines.Any(line => line.Contains("[303]", StringComparison.Ordinal)), "the stalled reader to be disconnected");
        await Eventually.TrueAsync(() => sockets.OpenSockets == 1, "the stalled reader's socket to be closed, the other reader's left open");
    }

    [Fact]
    public async Task SlowReader_WhoseOutboxNeverFills_IsCutOnceAPushWaitedForItsSocketTooLong()
    {
        // A bound the flood never reaches: a push waits for the stalled socket, and nothing more comes to fill the outbox.
        var logs = new CapturedLogs();
        var sockets = await FloodWithAStalledReaderAsync(256 * 1024 * 1024, logs);

        await Eventually.TrueAsync(() => sockets.OpenSockets == 1, "the stalled reader's socket to be cut", seconds: 10 + (int)HubSocket.SendTimeout.TotalSeconds);
        Assert.DoesNotContain(logs.Lines, line => line.Contains("[303]", StringComparison.Ordinal));
    }

    /// <summary>
    /// A reader and a stalled reader of one article, then far more entries than the kernel's socket buffers
    /// hold (4 MB here); returns the node's hub connections once the reader got every one, in order.
    /// </summary>
    private async Task<HubConnections> FloodWithAStalledReaderAsync(int maxBufferedBytes, CapturedLogs logs)
    {
        var node = Node(new()
        {
            ["Realtime:MaxBufferedBytesPerConnection"] = maxBufferedBytes.ToString(CultureInfo.InvariantCulture),
            ["RateLimits:EditorRequestsPerMinute"] = "100000",
        }, logs);
        using var editor = node.Editor();
        (await editor.PutJsonAsync("/api/articles/flood", new { headline = "Flood", url = "https://news.example/flood" })).EnsureSuccessStatusCode();
        var reader = Track(await node.ClientAsync());
        var updates = new ChannelReaderOf(await reader.SubscribeChannelAsync("article:flood"));
        Track(await StalledReader.SubscribeAsync(node, "article:flood"));
        var sockets = node.Services.GetRequiredService<HubConnections>();
        Assert.Equal(2, sockets.OpenSockets);

        const int Entries = 700;
        var text = new string('x', 9_900);
        for (var i = 1; i <= Entries; i++)
        {
            (await editor.PostJsonAsync("/api/articles/flood/entries", new { text = $"{i} {text}" })).EnsureSuccessStatusCode();
        }

        var events = await updates.EventsUntilAsync(Entries, seconds: 60);
        Assert.Equal(Enumerable.Range(2, Entries).Select(i => (long)i), events.Select(e => e.Seq));
        return sockets;
    }

    [Fact]
    public async Task Node_StartedWhileRedisIsDown_IsLiveNotReady_ThenServesOnceRedisComes()
    {
        var redis = RedisServer.NotStarted();
        await using var _ = redis;
        var node = Track(new LiveNewsNode(redis.Configuration, Prefix));
        using var http = node.Anonymous();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync("/health/ready")).StatusCode);

        await redis.StartAgainAsync();
        await Eventually.TrueAsync(async () => (await http.GetAsync("/health/ready")).StatusCode == HttpStatusCode.OK, "the node to be ready", seconds: 30);
        var client = Track(await node.ClientAsync());
        var updates = new ChannelReaderOf(await client.SubscribeChannelAsync("breaking"));
        using var editor = node.Editor();
        (await editor.PostJsonAsync("/api/breaking", new { headline = "Redis is here" })).EnsureSuccessStatusCode();
        Assert.Equal("Redis is here", (await updates.EventsUntilAsync(1))[0].Data.GetProperty("headline").GetString());
    }

    private static async Task<JsonElement[]> RetryUntilSubscribedAsync(HubConnection connection, string topic)
    {
        while (true)
        {
            try
            {
                return await connection.InvokeAsync<JsonElement[]>("Subscribe", new[] { new { topic } });
            }
            catch (HubException ex) when (ex.Message.Contains(LiveHubWords.Unavailable, StringComparison.Ordinal))
            {
                await Task.Delay(50);
            }
        }
    }

    [Fact]
    public async Task ReaderWhosePushThrows_KeepsNoEventNorCountFromTheOthers()
    {
        var logs = new CapturedLogs();
        var node = Node(new() { ["Realtime:ViewerCountInterval"] = "00:00:00.100" }, logs);
        using var editor = node.Editor();
        (await editor.PutJsonAsync("/api/articles/edge", new { headline = "Edge", url = "https://news.example/edge" })).EnsureSuccessStatusCode();

        // A reader that throws on every push joins first, so the others come after it in every fan-out.
        var subscribers = node.Services.GetRequiredService<Subscribers>();
        subscribers.Register(new ThrowingReader("broken"));
        subscribers.Join("broken", Topic.Article("edge"));
        var reader = Track(await node.ConnectAsync());
        var events = 0;
        var counts = 0;
        reader.On<JsonElement>("event", _ => Interlocked.Increment(ref events));
        reader.On<JsonElement>("viewers", _ => Interlocked.Increment(ref counts));
        await reader.InvokeAsync<JsonElement[]>("Subscribe", new[] { new { topic = "article:edge" } });

        (await editor.PostJsonAsync("/api/articles/edge/entries", new { text = "After the broken reader" })).EnsureSuccessStatusCode();

        await Eventually.TrueAsync(() => Volatile.Read(ref events) == 1 && Volatile.Read(ref counts) >= 1, "the entry and a viewer count");
        Assert.Contains(logs.Lines, line => line.Contains("Queueing a push for reader broken failed", StringComparison.Ordinal));
    }

    // To more readers than one batch, the fan-out yields the thread between batches (Subscribers.FanOutBatch):
    // entries posted at once, some reaching the relay during a fan-out, get to every reader once and in order,
    // in every batch and on a hub connection too. (That the relay awaits the fan-out before handing over more
    // is what HubSocketTests.EventsRelayedTogether_... proves, with a sink that holds it.)
    [Fact]
    public async Task EventsToMoreReadersThanOneFanOutBatch_ReachEachReaderOnceInOrder()
    {
        var node = Node();
        using var editor = node.Editor();
        (await editor.PutJsonAsync("/api/articles/batches", new { headline = "Batches", url = "https://news.example/batches" })).EnsureSuccessStatusCode();
        var subscribers = node.Services.GetRequiredService<Subscribers>();
        var recorders = Enumerable.Range(0, (Subscribers.FanOutBatch * 2) + 10).Select(i => new RecordingReader($"recorder-{i}")).ToArray();
        foreach (var recorder in recorders)
        {
            subscribers.Register(recorder);
            subscribers.Join(recorder.Id, Topic.Article("batches"));
        }

        var reader = Track(await node.ConnectAsync());
        var received = new ConcurrentQueue<long>();
        reader.On<JsonElement>("event", envelope => received.Enqueue(envelope.GetProperty("seq").GetInt64()));
        await reader.InvokeAsync<JsonElement[]>("Subscribe", new[] { new { topic = "article:batches" } });

        var posts = await Task.WhenAll(Enumerable.Range(0, 30).Select(i => editor.PostJsonAsync("/api/articles/batches/entries", new { text = $"Entry {i}" })));
        Assert.All(posts, post => post.EnsureSuccessStatusCode());

        await Eventually.TrueAsync(() => received.Count >= 30 && recorders.All(r => r.Seqs.Count >= 30), "every reader to get the thirty entries");
        long[] expected = [.. received.Order()];
        Assert.Equal(30, expected.Distinct().Count());
        Assert.Equal(expected, received);
        Assert.All(recorders, recorder => Assert.Equal(expected, recorder.Seqs));
    }

    // A reader is answered from a read made after it joined; an older event the relay hands over after that (it was
    // behind, or had not heard of it yet) may carry text a takedown deleted before the read. What is handed over
    // before the answer is held, and only what follows the answer reaches the reader, in order; readers there
    // before get everything.
    [Fact]
    public void ReadersJoiningToBeAnswered_GetOnlyTheEventsAfterTheirAnswer_WhateverTheRelayHandsOverMeanwhile()
    {
        var subscribers = Node().Services.GetRequiredService<Subscribers>();
        var topic = Topic.Article("answered");
        var (early, late, ahead, gone) = (new RecordingReader("early"), new RecordingReader("late"), new RecordingReader("ahead"), new RecordingReader("gone"));
        foreach (var reader in new[] { early, late, ahead, gone })
        {
            subscribers.Register(reader);
        }

        void HandOver(params long[] seqs) => HandOverAtOnce(subscribers, topic, seqs);

        subscribers.Join(early.Id, topic);
        HandOver(1);
        foreach (var reader in new[] { late, ahead, gone })
        {
            subscribers.Join(reader.Id, topic, holdUntilAnswered: true);
        }

        // Handed over while the answers are read: held.
        HandOver(2);
        HandOver(3);
        Assert.Empty(late.Seqs);
        subscribers.Leave(gone.Id, topic);
        subscribers.Answered(gone.Id, topic, At(3), handedOver: null);

        // One answer holds 3; the other was read once 4 and 5 were published, before the relay handed them over.
        subscribers.Answered(late.Id, topic, At(3), handedOver: null);
        subscribers.Answered(ahead.Id, topic, At(5), handedOver: null);
        Assert.Empty(late.Seqs);
        HandOver(4, 5);
        HandOver(6);
        HandOver(7);

        Assert.Equal([1L, 2, 3, 4, 5, 6, 7], early.Seqs);
        Assert.Equal([4L, 5, 6, 7], late.Seqs);
        Assert.Equal([6L, 7], ahead.Seqs);
        Assert.Empty(gone.Seqs);
        Assert.Equal(0, subscribers.Answering(topic.Name));
    }

    // Readers answered where the relay is (nothing published since it began) go with the topic's shared hand-overs
    // at once: none is kept apart, to be pushed one by one, by the next event after a connect storm. No hand-over
    // happens here: the relay starts with the first reader, after the article was published.
    [Fact]
    public async Task ReadersAnsweredWhereTheRelayIs_AreNotKeptApartFromItsHandOvers()
    {
        var node = Node();
        using var editor = node.Editor();
        (await editor.PutJsonAsync("/api/articles/storm", new { headline = "Storm", url = "https://news.example/storm" })).EnsureSuccessStatusCode();
        var readers = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => node.ConnectAsync()));
        foreach (var reader in readers)
        {
            Track(reader);
        }

        var answers = await Task.WhenAll(readers.Select(reader => reader.InvokeAsync<JsonElement[]>("Subscribe", new[] { new { topic = "article:storm" } })));
        var position = answers[0][0];
        var resumed = Track(await node.ConnectAsync());
        await resumed.InvokeAsync<JsonElement[]>("Subscribe", new[] { new { topic = "article:storm", epoch = position.GetProperty("epoch").GetString(), seq = position.GetProperty("seq").GetInt64() } });

        Assert.Equal(0, node.Services.GetRequiredService<Subscribers>().Answering("article:storm"));
    }

    // Answered while the relay hands over: what was held goes first, then what comes after, once each. Here the
    // relay hands over 4 while the held 2 and 3 are being pushed.
    [Fact]
    public void ReaderAnswered_WhileTheRelayHandsOver_GetsWhatWasHeldBeforeLaterEvents()
    {
        var subscribers = Node().Services.GetRequiredService<Subscribers>();
        var topic = Topic.Article("held");
        var reader = new RecordingReader("reader");
        reader.OnFirstPush = () => HandOverAtOnce(subscribers, topic, 4);
        subscribers.Register(reader);
        subscribers.Join(reader.Id, topic, holdUntilAnswered: true);
        HandOverAtOnce(subscribers, topic, 1);
        HandOverAtOnce(subscribers, topic, 2);
        HandOverAtOnce(subscribers, topic, 3);

        subscribers.Answered(reader.Id, topic, At(1), handedOver: null);
        HandOverAtOnce(subscribers, topic, 5);

        Assert.Equal([2L, 3, 4, 5], reader.Seqs);
        Assert.Equal(0, subscribers.Answering(topic.Name));
    }

    // The relay awaits a fan-out's last batch, so a fan-out of one event that kept yielding while the next event
    // waits would hold that event back; it hurries instead. Events handed over together (a burst) keep
    // yielding, so more gather meanwhile. A context that keeps what the fan-out posts makes each yield visible.
    [Fact]
    public void FanOutOfOneEvent_StopsYieldingOnceTheNextWaits_EventsHandedOverTogetherKeepYielding()
    {
        var node = Node();
        var subscribers = node.Services.GetRequiredService<Subscribers>();
        var recorders = Enumerable.Range(0, (Subscribers.FanOutBatch * 2) + 10).Select(i => new RecordingReader($"recorder-{i}")).ToArray();
        var topic = Topic.Article("hurry");
        foreach (var recorder in recorders)
        {
            subscribers.Register(recorder);
            subscribers.Join(recorder.Id, topic);
        }

        // Two batches and ten readers more go as three even batches: 522 readers as three of 174.
        var batch = (recorders.Length + 2) / 3;
        int Having(int count) => recorders.Count(recorder => recorder.Seqs.Count == count);
        var posted = new PostedContinuations();
        var previous = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(posted);
        try
        {
            // Nothing waits: a yield after each batch but the last.
            var alone = subscribers.DeliverAsync(topic.Name, [Envelope(topic, 1)], At(1), eventsWaiting: () => false);
            Assert.Equal(batch, Having(1));
            Assert.Equal(2, posted.RunAll());
            Assert.True(alone.IsCompletedSuccessfully);

            // The next event arrives during the first batch: the fan-out yields once, then goes on without a break.
            var waiting = false;
            var overtaken = subscribers.DeliverAsync(topic.Name, [Envelope(topic, 2)], At(2), eventsWaiting: () => waiting);
            Assert.Equal(batch, Having(2));
            waiting = true;
            Assert.Equal(1, posted.RunAll());
            Assert.True(overtaken.IsCompletedSuccessfully);

            // It waits from the start: every reader has this one before the call returns, nothing was posted.
            var hurried = subscribers.DeliverAsync(topic.Name, [Envelope(topic, 3)], At(3), eventsWaiting: () => true);
            Assert.True(hurried.IsCompletedSuccessfully);
            Assert.Equal(recorders.Length, Having(3));
            Assert.Equal(0, posted.RunAll());

            var together = subscribers.DeliverAsync(topic.Name, [Envelope(topic, 4), Envelope(topic, 5)], At(5), eventsWaiting: () => true);
            Assert.Equal(batch, Having(5));
            Assert.Equal(2, posted.RunAll());
            Assert.True(together.IsCompletedSuccessfully);
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(previous);
        }

        Assert.All(recorders, recorder => Assert.Equal([1, 2, 3, 4, 5], recorder.Seqs));
    }

    private static TopicPosition At(long seq) => new("e", seq);

    // A hand-over to a few readers queues to each of them before it returns.
    private static void HandOverAtOnce(Subscribers subscribers, Topic topic, params long[] seqs) =>
        Assert.True(subscribers.DeliverAsync(topic.Name, [.. seqs.Select(seq => Envelope(topic, seq))], At(seqs[^1]), eventsWaiting: () => false).AsTask().IsCompletedSuccessfully);

    private static RawJson Envelope(Topic topic, long seq) =>
        new(Encoding.UTF8.GetBytes($$"""{"topic":"{{topic.Name}}","seq":{{seq}},"epoch":"e","id":"ev-{{seq}}","type":"entry.posted","at":"2026-12-07T05:00:00.000Z","data":null}"""));

    /// <summary>Keeps what is posted to it (a <see cref="Task.Yield"/>'s continuation) until the test runs it.</summary>
    private sealed class PostedContinuations : SynchronizationContext
    {
        private readonly Queue<(SendOrPostCallback Callback, object? State)> _posted = new();

        public override void Post(SendOrPostCallback d, object? state) => _posted.Enqueue((d, state));

        /// <summary>Runs what was posted, and what that posts, until nothing is left; returns how many ran.</summary>
        public int RunAll()
        {
            var ran = 0;
            while (_posted.TryDequeue(out var posted))
            {
                posted.Callback(posted.State);
                ran++;
            }

            return ran;
        }
    }

    /// <summary>A reader of the node that keeps the seq of every event pushed to it.</summary>
    private sealed class RecordingReader(string id) : ITopicReader
    {
        private readonly List<long> _seqs = [];

        public string Id => id;

        public HashSet<string> Topics { get; } = new(StringComparer.Ordinal);

        public IReadOnlyList<long> Seqs
        {
            get
            {
                lock (_seqs)
                {
                    return [.. _seqs];
                }
            }
        }

        /// <summary>Runs once, after the first push is kept.</summary>
        public Action? OnFirstPush { get; set; }

        public void Push(TopicPush push)
        {
            using var envelope = JsonDocument.Parse(push.Envelope.Utf8);
            lock (_seqs)
            {
                _seqs.Add(envelope.RootElement.GetProperty("seq").GetInt64());
            }

            if (OnFirstPush is { } first)
            {
                OnFirstPush = null;
                first();
            }
        }

        public void Close()
        {
        }
    }

    /// <summary>A reader whose every push throws: what a bug in a transport's queue would look like.</summary>
    private sealed class ThrowingReader(string id) : ITopicReader
    {
        public string Id => id;

        public HashSet<string> Topics { get; } = new(StringComparer.Ordinal);

        public void Push(TopicPush push) => throw new InvalidOperationException("A broken reader.");

        public void Close()
        {
        }
    }

    private LiveNewsNode Node(Dictionary<string, string?>? settings = null, CapturedLogs? logs = null) =>
        Track(new LiveNewsNode(Redis.Configuration, Prefix, settings, logs: logs));

    /// <summary>The word the hub uses for failures worth retrying (refusals never use it).</summary>
    private static class LiveHubWords
    {
        public const string Unavailable = "unavailable";
    }

    /// <summary>
    /// A reader that subscribes over a raw WebSocket with a small receive buffer, then never reads again:
    /// what a frozen tab or a client on a dead network looks like to the server.
    /// </summary>
    private sealed class StalledReader : IAsyncDisposable
    {
        private readonly TcpClient _tcp;
        private readonly WebSocket _socket;

        private StalledReader(TcpClient tcp, WebSocket socket)
        {
            _tcp = tcp;
            _socket = socket;
        }

        public static async Task<StalledReader> SubscribeAsync(LiveNewsNode node, string topic)
        {
            var tcp = new TcpClient { ReceiveBufferSize = 4096 };
            await tcp.ConnectAsync(IPAddress.Loopback, node.BaseAddress.Port);
            var stream = tcp.GetStream();
            var key = Convert.ToBase64String(Guid.NewGuid().ToByteArray());
            var upgrade = $"GET /hubs/live HTTP/1.1\r\nHost: 127.0.0.1:{node.BaseAddress.Port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(upgrade));
            var head = new StringBuilder();
            var one = new byte[1];
            while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
            {
                await stream.ReadExactlyAsync(one);
                head.Append((char)one[0]);
            }

            Assert.StartsWith("HTTP/1.1 101", head.ToString(), StringComparison.Ordinal);
            var socket = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions { IsServer = false, KeepAliveInterval = Timeout.InfiniteTimeSpan });
            await socket.SendAsync("{\"protocol\":\"json\",\"version\":1}\u001e"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
            var subscribe = $"{{\"type\":1,\"invocationId\":\"1\",\"target\":\"Subscribe\",\"arguments\":[[{{\"topic\":\"{topic}\"}}]]}}\u001e";
            await socket.SendAsync(Encoding.UTF8.GetBytes(subscribe), WebSocketMessageType.Text, true, CancellationToken.None);

            // Read until the subscribe's completion, then stop reading for good.
            var received = new StringBuilder();
            var buffer = new byte[4096];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            while (!received.ToString().Contains("\"type\":3", StringComparison.Ordinal))
            {
                var result = await socket.ReceiveAsync(buffer, timeout.Token);
                received.Append(Encoding.UTF8.GetString(buffer, 0, result.Count));
            }

            Assert.DoesNotContain("\"error\"", received.ToString(), StringComparison.Ordinal);
            return new StalledReader(tcp, socket);
        }

        public ValueTask DisposeAsync()
        {
            _socket.Abort();
            _tcp.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
