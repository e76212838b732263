using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using LiveNews.Server.Realtime;
using LiveNews.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace LiveNews.Server.Tests.Realtime;

/// <summary>
/// "N watching": counts summed over two nodes against a real redis-server, pushed as <c>viewers</c> only when
/// they change, a node that stops writing dropping out, and topics nothing was published on leaving no key.
/// </summary>
[Collection("redis")]
public sealed class ViewerCountsTests : OwnRedisTest
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(300);

    // Scheduling on a shared CI machine: what a bound in intervals may take on top.
    private static readonly TimeSpan Slack = TimeSpan.FromMilliseconds(400);


    // A node's counts expire two intervals after it last wrote them: with 300 ms, a node of this test process
    // held up for a few hundred ms under a full suite's load dropped out for a moment and a reader saw its
    // count dip. 1 s intervals leave it two seconds; how fast counts follow is ViewerCountInterval's business
    // (Viewers_NodeStopsWriting_... bounds it), this test is about exact sums over two nodes.
    [Fact]
    public async Task Viewers_ReadersJoinAndLeaveOnTwoNodes_CountsExactOnBoth()
    {
        var interval = TimeSpan.FromSeconds(1);
        var a = Node(interval);
        var b = Node(interval);
        await PublishLiveAsync(a);
        var onA1 = await ViewerAsync(a, "live");
        var onA2 = await ViewerAsync(a, "live");

        var onB = await ViewerAsync(b, "live");
        await WaitForCountAsync([onA1, onA2, onB], 3);
        Assert.Equal(3, await ViewersOverHttpAsync(a, "live"));
        Assert.Equal(3, await ViewersOverHttpAsync(b, "live"));

        await onA2.Connection.DisposeAsync();
        await WaitForCountAsync([onA1, onB], 2);
        Assert.Equal(2, await ViewersOverHttpAsync(b, "live"));

        // The leaver's node lost a reader, the other node saw the same count: both sums are exact.
        await onB.Connection.DisposeAsync();
        await WaitForCountAsync([onA1], 1);
        Assert.All(onA1.Counts, count => Assert.InRange(count, 1, 3));
    }

    [Fact]
    public async Task Viewers_NodeStopsWriting_ItsViewersDropOutWithinThreeIntervals()
    {
        var a = Node(Interval);
        var b = Node(Interval);
        await PublishArticleAsync(a, "dying-node");
        var onA = await ViewerAsync(a, "article:dying-node");
        await ViewerAsync(b, "article:dying-node");
        await ViewerAsync(b, "article:dying-node");
        await WaitForCountAsync([onA], 3, Stopwatch.StartNew(), TimeSpan.FromSeconds(10));

        // What a dead node does: nothing. Its readers are still connected, but it writes no more counts.
        var clock = Stopwatch.StartNew();
        await b.Services.GetRequiredService<ViewerCounts>().StopAsync(CancellationToken.None);
        await WaitForCountAsync([onA], 1, clock, Interval * 3);
        Assert.Equal(1, await ViewersOverHttpAsync(a, "article:dying-node"));
    }

    [Fact]
    public async Task Viewers_NodeShutDownGracefully_RemovesItsHashAtOnce_ItsViewersDropOutAtTheNextCount()
    {
        // Intervals long enough to tell one interval (the node removes its hash) from two (its hash expires).
        var interval = TimeSpan.FromSeconds(1);
        var a = Node(interval);
        var b = new LiveNewsNode(Redis.Configuration, Prefix, new() { ["Realtime:ViewerCountInterval"] = interval.ToString() });
        await PublishLiveAsync(a);
        var onA = await ViewerAsync(a, "live");
        var onB = new Viewer(await b.ConnectAsync());
        await onB.Connection.InvokeAsync<JsonElement[]>("Subscribe", new[] { new { topic = "live" } });
        await WaitForCountAsync([onA], 2, Stopwatch.StartNew(), TimeSpan.FromSeconds(10));

        var hashOfB = $"{Prefix}:{{viewers}}:node:{b.Services.GetRequiredService<ViewerCounts>().NodeId}";
        await using var redis = await ConnectionMultiplexer.ConnectAsync(Redis.Configuration);
        Assert.True(await redis.GetDatabase().KeyExistsAsync(hashOfB));

        var clock = Stopwatch.StartNew();
        await b.DisposeAsync();

        // Its hash had at least one interval left to live: gone well before, it was removed, not expired.
        while (await redis.GetDatabase().KeyExistsAsync(hashOfB))
        {
            Assert.True(clock.Elapsed < interval / 2, "the stopped node's hash is still there");
            await Task.Delay(20);
        }

        // The next interval of A after the removal counts without B: within two of the stop even on a loaded
        // machine (one interval was too tight when the removal and A's count were both late).
        await WaitForCountAsync([onA], 1, clock, interval * 2);
        await onB.Connection.DisposeAsync();
    }

    [Fact]
    public async Task Viewers_RedisKilledWhileReadersLeave_CountsResumeExactOnceItIsBack()
    {
        var logs = new CapturedLogs();
        var node = Track(new LiveNewsNode(Redis.Configuration, Prefix, new() { ["Realtime:ViewerCountInterval"] = Interval.ToString() }, logs: logs));
        await PublishLiveAsync(node);
        var staying = await ViewerAsync(node, "live");
        var leaving = await ViewerAsync(node, "live");
        await WaitForCountAsync([staying, leaving], 2, Stopwatch.StartNew(), TimeSpan.FromSeconds(10));

        Redis.Kill();
        await leaving.Connection.DisposeAsync();
        await Eventually.TrueAsync(() => logs.Lines.Any(line => line.Contains("Counting viewers failed", StringComparison.Ordinal)), "the failure logged");
        Assert.Equal(2, staying.Latest);

        await Redis.StartAgainAsync();
        await WaitForCountAsync([staying], 1, Stopwatch.StartNew(), TimeSpan.FromSeconds(20));
        Assert.Single(logs.Lines, line => line.Contains("Counting viewers failed", StringComparison.Ordinal));
        Assert.Equal(1, await ViewersOverHttpAsync(node, "live"));
    }

    [Fact]
    public async Task Viewers_CountUnchanged_IsNotPushedAgain()
    {
        // An interval longer than the test: the test runs each interval itself.
        var node = Node(TimeSpan.FromMinutes(5));
        var counts = node.Services.GetRequiredService<ViewerCounts>();
        await PublishLiveAsync(node);
        var viewer = await ViewerAsync(node, "live");

        await counts.CountAsync();
        await WaitForCountAsync([viewer], 1, Stopwatch.StartNew(), TimeSpan.FromSeconds(10));
        await counts.CountAsync();
        await counts.CountAsync();

        await EventAfterIntervalsAsync(node, viewer);
        Assert.Equal([1L], viewer.Counts);

        // A change is pushed at the next interval.
        var second = await ViewerAsync(node, "live");
        await counts.CountAsync();
        await WaitForCountAsync([viewer, second], 2, Stopwatch.StartNew(), TimeSpan.FromSeconds(10));
        Assert.Equal([1L, 2L], viewer.Counts);
    }

    // A reader who arrives in the interval another leaves finds the count unchanged, and would be shown none
    // until it changed: it gets the count the others have, and they do not get it again.
    [Fact]
    public async Task Viewers_ReaderArrivesAsAnotherLeaves_GetsTheUnchangedCount()
    {
        var node = Node(TimeSpan.FromMinutes(5));
        var (counts, staying, arriving) = await OneReaderReplacedAsync(node);
        await counts.CountAsync();
        await WaitForCountAsync([arriving], 2);

        // The next interval pushes it to no one: the newcomer has it now.
        await counts.CountAsync();
        await EventAfterIntervalsAsync(node, arriving, staying);
        Assert.Equal([2L], arriving.Counts);
        Assert.Equal([2L], staying.Counts);
    }

    // The interval after a newcomer arrived fails (Redis away): it gets the count once Redis is back, though the
    // total is what it was before; the others are not sent it again.
    [Fact]
    public async Task Viewers_IntervalFailsAfterAReaderArrived_ItGetsTheCountOnceRedisIsBack()
    {
        var logs = new CapturedLogs();
        var node = Track(new LiveNewsNode(Redis.Configuration, Prefix, new() { ["Realtime:ViewerCountInterval"] = TimeSpan.FromMinutes(5).ToString() }, logs: logs));
        var (counts, staying, arriving) = await OneReaderReplacedAsync(node);

        Redis.Kill();
        await counts.CountAsync();
        Assert.Contains(logs.Lines, line => line.Contains("Counting viewers failed", StringComparison.Ordinal));
        await Redis.StartAgainAsync();

        await Eventually.TrueAsync(async () =>
        {
            await counts.CountAsync();
            return arriving.Latest == 2;
        }, "the newcomer to get the count once Redis is back");
        await EventAfterIntervalsAsync(node, arriving, staying);
        Assert.Equal([2L], arriving.Counts);
        Assert.Equal([2L], staying.Counts);
    }

    [Fact]
    public async Task Viewers_SubscribesFailWhileRedisIsAway_NoNewcomerKeptForThem()
    {
        // Commands fail within a second instead of waiting 5 s for the connection to come back.
        var node = Track(new LiveNewsNode(Redis.Configuration + ",syncTimeout=300,asyncTimeout=300,connectTimeout=300", Prefix, new() { ["Realtime:ViewerCountInterval"] = TimeSpan.FromMinutes(5).ToString() }));
        var counts = node.Services.GetRequiredService<ViewerCounts>();
        var connection = Track(await node.ConnectAsync());

        Redis.Kill();
        for (var i = 0; i < 3; i++)
        {
            await Assert.ThrowsAsync<HubException>(() => connection.InvokeAsync<JsonElement[]>("Subscribe", new[] { new { topic = $"article:outage-{i}" } }));
            await counts.CountAsync();
        }

        Assert.Equal(0, counts.Arrived);
    }

    // A count goes to a topic's readers in batches that yield the thread between them (Subscribers.PacedBatch):
    // readers past the first batch get it as well, once, in order with the next count.
    [Fact]
    public async Task Viewers_MoreReadersThanOnePacedBatch_EachGetsEveryCountOnce()
    {
        var node = Track(new LiveNewsNode(Redis.Configuration, Prefix, new()
        {
            ["Realtime:ViewerCountInterval"] = TimeSpan.FromMinutes(5).ToString(),
            ["RateLimits:ConnectionsPerAddress"] = "1000",
            ["RateLimits:ConnectionsPerMinute"] = "100000",
        }));
        var counts = node.Services.GetRequiredService<ViewerCounts>();
        await PublishLiveAsync(node);
        var readers = (Subscribers.PacedBatch * 2) + 10;
        var viewers = new List<Viewer>();
        foreach (var chunk in Enumerable.Range(0, readers).Chunk(32))
        {
            viewers.AddRange(await Task.WhenAll(chunk.Select(_ => ViewerAsync(node, "live"))));
        }

        await counts.CountAsync();
        await WaitForCountAsync([.. viewers], readers);
        await viewers[0].Connection.DisposeAsync();
        var subscribers = node.Services.GetRequiredService<Subscribers>();
        await Eventually.TrueAsync(() => subscribers.Counts().GetValueOrDefault("live") == readers - 1, "the node to let the reader go");
        await counts.CountAsync();
        await WaitForCountAsync([.. viewers.Skip(1)], readers - 1);

        Assert.All(viewers.Skip(1), viewer => Assert.Equal([readers, readers - 1L], viewer.Counts));
    }

    [Fact]
    public async Task Viewers_TopicNeverPublished_IsNotCountedAndLeavesNoKey()
    {
        var node = Node(TimeSpan.FromMinutes(5));
        var counts = node.Services.GetRequiredService<ViewerCounts>();
        var viewer = await ViewerAsync(node, "article:never-published");
        var live = await ViewerAsync(node, "live");

        await counts.CountAsync();
        await counts.CountAsync();

        await using var redis = await ConnectionMultiplexer.ConnectAsync(Redis.Configuration + ",allowAdmin=true");
        var keys = redis.GetServer(redis.GetEndPoints()[0]).Keys(pattern: Prefix + ":*").Select(key => key.ToString()).ToArray();
        Assert.Equal([$"{Prefix}:{{viewers}}:nodes"], keys);
        Assert.Equal(0, await ViewersOverHttpAsync(node, "article:never-published"));
        Assert.Empty(viewer.Counts);
        Assert.Empty(live.Counts);

        // Once something is published, the same readers are counted, in the node's one hash.
        await PublishLiveAsync(node);
        await Eventually.TrueAsync(
            async () =>
            {
                await counts.CountAsync();
                return live.Latest == 1;
            },
            "the live reader counted once the relay has seen the first event");
        var nodeHash = redis.GetDatabase().HashGetAll($"{Prefix}:{{viewers}}:node:{counts.NodeId}");
        Assert.Equal("live", Assert.Single(nodeHash).Name.ToString());
        Assert.True(redis.GetDatabase().KeyTimeToLive($"{Prefix}:{{viewers}}:node:{counts.NodeId}") <= TimeSpan.FromMinutes(10));
        Assert.Empty(viewer.Counts);
    }

    [Fact]
    public async Task Viewers_EmbeddedStore_CountsAcrossTwoNodes()
    {
        using var garnet = new GarnetFixture();
        var a = Track(new LiveNewsNode(garnet.Configuration, Prefix, new() { ["Realtime:ViewerCountInterval"] = Interval.ToString() }));
        var b = Track(new LiveNewsNode(garnet.Configuration, Prefix, new() { ["Realtime:ViewerCountInterval"] = Interval.ToString() }));
        await PublishLiveAsync(a);
        var onA = await ViewerAsync(a, "live");
        var onB = await ViewerAsync(b, "live");

        await WaitForCountAsync([onA, onB], 2, Stopwatch.StartNew(), TimeSpan.FromSeconds(10));

        await onB.Connection.DisposeAsync();
        await WaitForCountAsync([onA], 1, Stopwatch.StartNew(), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task ViewersChanged_DotNetClient_RaisedWithTheCount()
    {
        var node = Node(Interval);
        await PublishArticleAsync(node, "client-count");
        var client = Track(await node.ClientAsync());
        var counts = new ConcurrentQueue<LiveNews.Client.ViewerCount>();
        client.ViewersChanged += counts.Enqueue;

        await client.SubscribeChannelAsync("article:client-count");

        await Eventually.TrueAsync(() => !counts.IsEmpty, "a viewer count");
        var count = Assert.Single(counts);
        Assert.Equal(("article:client-count", 1L), (count.Topic, count.Count));
        Assert.Equal(TimeSpan.Zero, count.At.Offset);
    }

    [Fact]
    public async Task GetTopic_NotCountedTopic_HasNoViewersField()
    {
        var node = Node(Interval);
        using var http = node.Anonymous();

        var breaking = await http.GetFromJsonAsync<JsonElement>("/api/topics/breaking");

        Assert.False(breaking.TryGetProperty("viewers", out _));
        Assert.Equal(0, (await http.GetFromJsonAsync<JsonElement>("/api/topics/live")).GetProperty("viewers").GetInt64());
    }

    private static Task WaitForCountAsync(Viewer[] viewers, long count) =>
        Eventually.TrueAsync(() => viewers.All(viewer => viewer.Latest == count), $"every reader to see {count} watching", seconds: 20);

    private static async Task WaitForCountAsync(Viewer[] viewers, long count, Stopwatch clock, TimeSpan within)
    {
        await WaitForCountAsync(viewers, count);
        Assert.True(clock.Elapsed <= within + Slack, $"{count} watching took {clock.Elapsed.TotalMilliseconds:F0} ms, more than {within.TotalMilliseconds:F0} ms (+{Slack.TotalMilliseconds:F0} ms slack)");
    }

    private static async Task<long> ViewersOverHttpAsync(LiveNewsNode node, string topic)
    {
        using var http = node.Anonymous();
        return (await http.GetFromJsonAsync<JsonElement>($"/api/topics/{topic}")).GetProperty("viewers").GetInt64();
    }

    private async Task<Viewer> ViewerAsync(LiveNewsNode node, string topic)
    {
        var connection = Track(await node.ConnectAsync());
        var viewer = new Viewer(connection);
        connection.On<JsonElement>("viewers", message =>
        {
            Assert.Equal(topic, message.GetProperty("topic").GetString());
            Assert.False(message.TryGetProperty("seq", out _));
            Assert.EndsWith("Z", message.GetProperty("at").GetString(), StringComparison.Ordinal);
            viewer.Counts.Enqueue(message.GetProperty("count").GetInt64());
        });
        await connection.InvokeAsync<JsonElement[]>("Subscribe", new[] { new { topic } });
        return viewer;
    }

    // Two readers of live, counted; then one leaves and another arrives before the next interval (which the
    // test runs): the total stays 2, and the newcomer has no count yet.
    private async Task<(ViewerCounts Counts, Viewer Staying, Viewer Arriving)> OneReaderReplacedAsync(LiveNewsNode node)
    {
        var counts = node.Services.GetRequiredService<ViewerCounts>();
        var subscribers = node.Services.GetRequiredService<Subscribers>();
        await PublishLiveAsync(node);
        var staying = await ViewerAsync(node, "live");
        var leaving = await ViewerAsync(node, "live");
        await counts.CountAsync();
        await WaitForCountAsync([staying, leaving], 2);

        await leaving.Connection.DisposeAsync();
        await Eventually.TrueAsync(() => subscribers.Counts().GetValueOrDefault("live") == 1, "the node to let the reader go");
        return (counts, staying, await ViewerAsync(node, "live"));
    }

    // Pushes to one connection arrive in order: once an event published after the intervals the test ran is
    // here, any viewers message they pushed to the reader would be too.
    private static async Task EventAfterIntervalsAsync(LiveNewsNode node, params Viewer[] viewers)
    {
        var events = viewers.Select(viewer =>
        {
            var received = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            viewer.Connection.On<JsonElement>("event", _ => received.TrySetResult(true));
            return received.Task;
        }).ToArray();
        using (var editor = node.Editor())
        {
            (await editor.PutJsonAsync("/api/live", new { title = "Still live", streamUrl = "https://video.example/live" })).EnsureSuccessStatusCode();
        }

        await Eventually.WithinAsync(Task.WhenAll(events), "the event after the intervals");
    }

    private static async Task PublishLiveAsync(LiveNewsNode node)
    {
        using var editor = node.Editor();
        (await editor.PutJsonAsync("/api/live", new { title = "Election night", streamUrl = "https://video.example/live" })).EnsureSuccessStatusCode();
    }

    private static async Task PublishArticleAsync(LiveNewsNode node, string id)
    {
        using var editor = node.Editor();
        (await editor.PutJsonAsync($"/api/articles/{id}", new { headline = "A story", url = $"https://news.example/{id}" })).EnsureSuccessStatusCode();
    }

    private LiveNewsNode Node(TimeSpan interval) =>
        Track(new LiveNewsNode(Redis.Configuration, Prefix, new() { ["Realtime:ViewerCountInterval"] = interval.ToString() }));

    private sealed class Viewer(HubConnection connection)
    {
        public HubConnection Connection { get; } = connection;

        public ConcurrentQueue<long> Counts { get; } = new();

        public long? Latest => Counts.IsEmpty ? null : Counts.Last();
    }
}
