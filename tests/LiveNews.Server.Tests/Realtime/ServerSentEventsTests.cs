using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using LiveNews.Server.Tests.Infrastructure;
using Microsoft.Playwright;

namespace LiveNews.Server.Tests.Realtime;

/// <summary><c>GET /sse</c>: snapshots, events in order, and exact resume with <c>Last-Event-ID</c> on any node.</summary>
[Collection("faults")]
public sealed class ServerSentEventsTests : OwnRedisTest
{
    private const string Article = "sse-storm";
    private static readonly string[] Topics = ["breaking", "live", $"article:{Article}"];
    private static readonly string Query = string.Join("&", Topics.Select(t => "topic=" + Uri.EscapeDataString(t)));

    [Fact]
    public async Task Stream_NodeDisposedWhilePublishing_LastEventIdOnOtherNodeGetsEveryEventOnceInOrder()
    {
        var nodeA = new LiveNewsNode(Redis.Configuration, Prefix);
        var nodeB = Track(new LiveNewsNode(Redis.Configuration, Prefix));
        using var editor = nodeB.Editor();
        await PublishArticleAsync(editor);

        var first = await SseReader.OpenAsync(nodeA.BaseAddress, Query);
        Assert.Equal(HttpStatusCode.OK, first.Response.StatusCode);
        Assert.Equal("text/event-stream", first.Response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("no-cache", first.Response.Headers.CacheControl?.ToString());
        Assert.Equal("no", first.Response.Headers.GetValues("X-Accel-Buffering").Single());
        await Eventually.TrueAsync(() => Topics.All(t => first.SnapshotsOf(t).Count == 1), "a snapshot per topic");
        var start = Topics.ToDictionary(t => t, t => first.SnapshotsOf(t)[0].GetProperty("seq").GetInt64());

        var published = 0;
        var publishing = Task.Run(async () =>
        {
            for (var i = 1; i <= 45; i++)
            {
                await PublishAsync(editor, i);
                Volatile.Write(ref published, i);
            }
        });

        await Eventually.TrueAsync(() => Volatile.Read(ref published) >= 12 && first.Messages.Count(m => m.Event == "event") >= 6, "part of the stream read on node A", seconds: 60);
        await nodeA.DisposeAsync();
        await Eventually.TrueAsync(() => first.Ended, "node A's stream ended", seconds: 60);
        var lastId = first.LastEventId;
        Assert.NotNull(lastId);

        await using var second = await SseReader.OpenAsync(nodeB.BaseAddress, Query, lastId);
        await publishing;
        var final = await FinalSeqsAsync(editor);
        await Eventually.TrueAsync(
            () => Topics.All(t => first.EventsOf(t).Concat(second.EventsOf(t)).Select(Seq).DefaultIfEmpty(start[t]).Max() >= final[t]),
            "every topic's last event through node B", seconds: 60);

        foreach (var topic in Topics)
        {
            Assert.Empty(second.SnapshotsOf(topic)); // every topic recovered: nothing started over
            var seqs = first.EventsOf(topic).Concat(second.EventsOf(topic)).Select(Seq).ToList();
            Assert.Equal(Range(start[topic] + 1, final[topic]), seqs);
        }

        await first.DisposeAsync();
    }

    [Fact]
    public async Task Stream_GapBeyondHistory_FreshSnapshotForThatTopicOnly()
    {
        var node = Track(new LiveNewsNode(Redis.Configuration, Prefix, new() { ["Bus:HistoryLength"] = "3" }));
        using var editor = node.Editor();
        await PublishArticleAsync(editor);
        string lastId;
        await using (var reader = await SseReader.OpenAsync(node.BaseAddress, Query))
        {
            await Eventually.TrueAsync(() => reader.Messages.Count == 3, "three snapshots");
            lastId = reader.LastEventId!;
        }

        for (var i = 1; i <= 5; i++)
        {
            await editor.PostUntilAcceptedAsync("/api/breaking", new { headline = $"Alert {i}" }, $"gap-{i}");
        }

        await editor.PostUntilAcceptedAsync($"/api/articles/{Article}/entries", new { text = "One entry" }, "gap-entry");

        await using var resumed = await SseReader.OpenAsync(node.BaseAddress, Query, lastId);
        await Eventually.TrueAsync(() => resumed.SnapshotsOf("breaking").Count == 1 && resumed.EventsOf($"article:{Article}").Count == 1, "breaking afresh, the article resumed");
        var snapshot = resumed.SnapshotsOf("breaking")[0];
        Assert.False(snapshot.GetProperty("recovered").GetBoolean());
        Assert.Equal(5, snapshot.GetProperty("snapshot").GetProperty("alerts").GetArrayLength());
        Assert.Empty(resumed.SnapshotsOf("live"));
        Assert.Empty(resumed.SnapshotsOf($"article:{Article}"));
    }

    // Realtime:MaxTopicsPerConnection may allow more topics than 32: a stream of as many still resumes exactly
    // (its id runs past 2 KB with 110 published topics).
    [Fact]
    public async Task Stream_ManyTopicsAsTheSettingAllows_LastEventIdResumesEveryOne()
    {
        const int Articles = 110;
        var node = Track(new LiveNewsNode(Redis.Configuration, Prefix, new() { ["Realtime:MaxTopicsPerConnection"] = "120" }));
        using var editor = node.Editor();
        var ids = Enumerable.Range(0, Articles).Select(i => $"many-{i}").ToArray();
        foreach (var id in ids)
        {
            (await editor.PutJsonAsync($"/api/articles/{id}", new { headline = id, url = $"https://news.example/{id}" })).EnsureSuccessStatusCode();
        }

        var query = string.Join("&", ids.Select(id => $"topic=article:{id}"));
        string lastId;
        await using (var reader = await SseReader.OpenAsync(node.BaseAddress, query))
        {
            await Eventually.TrueAsync(() => reader.Messages.Count == Articles, "a snapshot per topic");
            lastId = reader.LastEventId!;
        }

        Assert.True(lastId.Length > 2048, $"the id is {lastId.Length} characters");
        await editor.PostUntilAcceptedAsync($"/api/articles/{ids[^1]}/entries", new { text = "After the reconnect" }, "many-entry");
        await using var resumed = await SseReader.OpenAsync(node.BaseAddress, query, lastId);
        await Eventually.TrueAsync(() => resumed.EventsOf($"article:{ids[^1]}").Count == 1, "the missed entry");
        Assert.All(ids, id => Assert.Empty(resumed.SnapshotsOf($"article:{id}")));
    }

    [Theory]
    [InlineData("not-an-id")]
    [InlineData("00000000_abc.1_abc.2_abc.3")]
    [InlineData("")]
    public async Task Stream_LastEventIdOfNoUse_FreshSnapshotsNotAnError(string lastEventId)
    {
        var node = Track(new LiveNewsNode(Redis.Configuration, Prefix));
        await using var reader = await SseReader.OpenAsync(node.BaseAddress, Query, lastEventId);
        Assert.Equal(HttpStatusCode.OK, reader.Response.StatusCode);
        await Eventually.TrueAsync(() => Topics.All(t => reader.SnapshotsOf(t).Count == 1), "a fresh snapshot per topic");
    }

    [Fact]
    public async Task Stream_IdOfAnotherTopicSet_FreshSnapshots()
    {
        var node = Track(new LiveNewsNode(Redis.Configuration, Prefix));
        using var editor = node.Editor();
        await editor.PostUntilAcceptedAsync("/api/breaking", new { headline = "Alert" }, "other-set");
        string id;
        await using (var breakingOnly = await SseReader.OpenAsync(node.BaseAddress, "topic=breaking&topic=live&topic=latest"))
        {
            await Eventually.TrueAsync(() => breakingOnly.Messages.Count == 3, "three snapshots");
            id = breakingOnly.LastEventId!;
        }

        await using var reader = await SseReader.OpenAsync(node.BaseAddress, Query, id);
        await Eventually.TrueAsync(() => Topics.All(t => reader.SnapshotsOf(t).Count == 1), "a fresh snapshot per topic");
    }

    [Theory]
    [InlineData("topic=breaking&topic=breaking", "twice")]
    [InlineData("topic=article:Not_Valid", "Unknown topic")]
    [InlineData("topic=newsroom", "share scope")]
    [InlineData("", "at least one topic")]
    [InlineData("topic=live&topic=breaking&topic=latest", "At most 2")]
    public async Task Stream_BadTopics_ProblemDetails400(string query, string detail)
    {
        var node = Track(new LiveNewsNode(Redis.Configuration, Prefix, new() { ["Realtime:MaxTopicsPerConnection"] = "2" }));
        using var http = node.Anonymous();
        using var response = await http.GetAsync("/sse?" + query);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(detail, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Stream_Idle_SendsCommentHeartbeats()
    {
        var node = Track(new LiveNewsNode(Redis.Configuration, Prefix, new() { ["Realtime:SseHeartbeatInterval"] = "00:00:00.100" }));
        await using var reader = await SseReader.OpenAsync(node.BaseAddress, "topic=breaking");
        await Eventually.TrueAsync(() => reader.Messages.Count(m => m.Comment == "keep-alive") >= 3, "three heartbeats");
        Assert.All(reader.Messages.Where(m => m.Comment is not null), m => Assert.Null(m.Id));
    }

    [Fact]
    public async Task Stream_CountsAgainstConnectionsPerAddress()
    {
        var node = Track(new LiveNewsNode(Redis.Configuration, Prefix, new() { ["RateLimits:ConnectionsPerAddress"] = "1" }));
        await using var open = await SseReader.OpenAsync(node.BaseAddress, "topic=breaking");
        Assert.Equal(HttpStatusCode.OK, open.Response.StatusCode);
        await using var refused = await SseReader.OpenAsync(node.BaseAddress, "topic=live");
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.Response.StatusCode);
    }

    // A server process of its own: the nodes of this test process all export the one LiveNews meter.
    [Fact]
    public async Task Stream_OpenThenClosed_CountedInConnectionsAndSubscriptionsMetrics()
    {
        using var node = await ServerProcess.StartAsync(new Dictionary<string, string> { ["Redis:Configuration"] = Redis.Configuration, ["Redis:KeyPrefix"] = Prefix });
        using var http = node.Anonymous();
        var reader = await SseReader.OpenAsync(node.BaseAddress, "topic=breaking&topic=live");
        await Eventually.TrueAsync(() => reader.Messages.Count == 2, "two snapshots");
        await Eventually.TrueAsync(async () => Regex.IsMatch(await http.GetStringAsync("/metrics"), @"livenews_connections(\{[^}]*\})? 1\b"), "the stream counted as a connection");
        Assert.Matches(@"livenews_subscriptions\{[^}]*topic=""Live""[^}]*\} 1\b", await http.GetStringAsync("/metrics"));

        await reader.DisposeAsync();
        await Eventually.TrueAsync(async () => Regex.IsMatch(await http.GetStringAsync("/metrics"), @"livenews_connections(\{[^}]*\})? 0\b"), "the stream no longer counted");
    }

    internal static async Task PublishArticleAsync(HttpClient editor) =>
        (await editor.PutJsonAsync($"/api/articles/{Article}", new { headline = "Storm: live", url = "https://news.example/storm" })).EnsureSuccessStatusCode();

    /// <summary>Step <paramref name="i"/> of a stream that takes turns between the three topics.</summary>
    internal static async Task PublishAsync(HttpClient editor, int i)
    {
        switch (i % 3)
        {
            case 0:
                await editor.PostUntilAcceptedAsync("/api/breaking", new { headline = $"Alert {i}" }, $"sse-alert-{i}");
                break;
            case 1:
                (await editor.PutJsonAsync("/api/live", new { title = $"Live {i}", streamUrl = "https://video.example/live.m3u8" })).EnsureSuccessStatusCode();
                break;
            default:
                await editor.PostUntilAcceptedAsync($"/api/articles/{Article}/entries", new { text = $"Entry {i}" }, $"sse-entry-{i}");
                break;
        }
    }

    internal static async Task<Dictionary<string, long>> FinalSeqsAsync(HttpClient http)
    {
        var seqs = new Dictionary<string, long>();
        foreach (var topic in Topics)
        {
            var state = JsonDocument.Parse(await http.GetStringAsync($"/api/topics/{topic}")).RootElement;
            seqs[topic] = state.GetProperty("seq").GetInt64();
        }

        return seqs;
    }

    internal static IEnumerable<string> TopicNames => Topics;

    internal static string StreamQuery => Query;

    private static long Seq(JsonElement envelope) => envelope.GetProperty("seq").GetInt64();

    private static List<long> Range(long from, long to) => [.. Enumerable.Range((int)from, (int)(to - from + 1)).Select(i => (long)i)];
}

/// <summary>A plain <c>EventSource</c> in Chromium, through a balancer in front of two nodes, across a node kill.</summary>
[Collection("browser")]
public sealed class ServerSentEventsBrowserTests(BrowserFixture browser) : OwnRedisTest, IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task EventSource_NodeDisposedWhilePublishing_ReconnectsToOtherNodeWithEveryEventOnceInOrder()
    {
        var (nodeA, nodeB, balancer, page) = await StartAsync();
        using var editor = nodeB.Editor();

        // What any page would write: no library, the browser's own reconnect and Last-Event-ID.
        await page.EvaluateAsync(@"query => {
            window.received = [];
            window.opened = 0;
            const source = new EventSource('/sse?' + query);
            source.onopen = () => window.opened++;
            for (const name of ['snapshot', 'event']) {
                source.addEventListener(name, e => window.received.push({ name, id: e.lastEventId, data: JSON.parse(e.data) }));
            }
        }", ServerSentEventsTests.StreamQuery);
        await Eventually.TrueAsync(async () => await page.EvaluateAsync<int>("window.received.length") == 3, "three snapshots");
        balancer.Backends.Add(nodeB.BaseAddress);

        var published = 0;
        var publishing = Task.Run(async () =>
        {
            for (var i = 1; i <= 30; i++)
            {
                await ServerSentEventsTests.PublishAsync(editor, i);
                Volatile.Write(ref published, i);
            }
        });
        await Eventually.TrueAsync(() => Volatile.Read(ref published) >= 9, "part of the stream published", seconds: 60);
        await nodeA.DisposeAsync(); // node A held the stream: the balancer sends the reconnect to node B
        await publishing;
        // A draining node A may have sent all of the above before it closed: these come only through node B.
        for (var i = 31; i <= 35; i++)
        {
            await ServerSentEventsTests.PublishAsync(editor, i);
        }

        var final = await ServerSentEventsTests.FinalSeqsAsync(editor);
        var received = new List<JsonElement>();
        await Eventually.TrueAsync(async () =>
        {
            received = [.. JsonDocument.Parse(await page.EvaluateAsync<string>("JSON.stringify(window.received)")).RootElement.EnumerateArray()];
            return ServerSentEventsTests.TopicNames.All(t => received.Any(m => m.GetProperty("name").GetString() == "event"
                && m.GetProperty("data").GetProperty("topic").GetString() == t && m.GetProperty("data").GetProperty("seq").GetInt64() == final[t]));
        }, "every topic's last event in the page", seconds: 60);

        Assert.True(await page.EvaluateAsync<int>("window.opened") >= 2, "the EventSource reconnected");
        foreach (var topic in ServerSentEventsTests.TopicNames)
        {
            var snapshots = received.Where(m => m.GetProperty("name").GetString() == "snapshot" && m.GetProperty("data").GetProperty("topic").GetString() == topic).ToList();
            Assert.Single(snapshots);
            var start = snapshots[0].GetProperty("data").GetProperty("seq").GetInt64();
            var seqs = received.Where(m => m.GetProperty("name").GetString() == "event" && m.GetProperty("data").GetProperty("topic").GetString() == topic)
                .Select(m => m.GetProperty("data").GetProperty("seq").GetInt64()).ToList();
            Assert.Equal(Enumerable.Range((int)start + 1, (int)(final[topic] - start)).Select(i => (long)i), seqs);
        }
    }

    [Fact]
    public async Task LiveNewsClient_SseTransport_NodeDisposed_EveryEventOnceInOrderWithoutStartingOver()
    {
        var (nodeA, nodeB, balancer, page) = await StartAsync();
        using var editor = nodeB.Editor();
        await page.EvaluateAsync(@"async topics => {
            window.WebSocket = undefined; // a network that blocks WebSockets
            const { LiveNewsClient } = await import('/livenews.js');
            window.seen = [];
            const client = new LiveNewsClient({ transport: 'sse', storage: null });
            for (const topic of topics) {
                client.subscribe(topic, {
                    snapshot: (s, info) => window.seen.push({ topic, snapshot: true, startedOver: info.startedOver }),
                    event: (e) => window.seen.push({ topic, seq: e.seq }),
                });
            }
            await client.start();
        }", ServerSentEventsTests.TopicNames.ToArray());
        await Eventually.TrueAsync(async () => await page.EvaluateAsync<int>("window.seen.length") == 3, "three snapshots");
        balancer.Backends.Add(nodeB.BaseAddress);

        var start = await ServerSentEventsTests.FinalSeqsAsync(editor);
        var publishing = Task.Run(async () =>
        {
            for (var i = 1; i <= 24; i++)
            {
                await ServerSentEventsTests.PublishAsync(editor, i);
            }
        });
        await Eventually.TrueAsync(async () => await page.EvaluateAsync<int>("window.seen.length") >= 6, "part of the stream delivered", seconds: 60);
        await nodeA.DisposeAsync();
        await publishing;

        var final = await ServerSentEventsTests.FinalSeqsAsync(editor);
        var seen = new List<JsonElement>();
        await Eventually.TrueAsync(async () =>
        {
            seen = [.. JsonDocument.Parse(await page.EvaluateAsync<string>("JSON.stringify(window.seen)")).RootElement.EnumerateArray()];
            return ServerSentEventsTests.TopicNames.All(t => seen.Any(m => m.GetProperty("topic").GetString() == t && m.TryGetProperty("seq", out var seq) && seq.GetInt64() == final[t]));
        }, "every topic's last event through the client", seconds: 60);

        foreach (var topic in ServerSentEventsTests.TopicNames)
        {
            Assert.Single(seen, m => m.GetProperty("topic").GetString() == topic && m.TryGetProperty("snapshot", out _));
            var seqs = seen.Where(m => m.GetProperty("topic").GetString() == topic && m.TryGetProperty("seq", out _)).Select(m => m.GetProperty("seq").GetInt64()).ToList();
            Assert.Equal(Enumerable.Range((int)start[topic] + 1, (int)(final[topic] - start[topic])).Select(i => (long)i), seqs);
        }
    }

    /// <summary>
    /// Two nodes, the article published, and a page behind a balancer that knows only node A until the test
    /// adds B: the stream opens on A for sure, and the reconnect after A's end goes to B.
    /// </summary>
    private async Task<(LiveNewsNode A, LiveNewsNode B, LoopbackBalancer Balancer, IPage Page)> StartAsync()
    {
        var nodeA = new LiveNewsNode(Redis.Configuration, Prefix);
        var nodeB = Track(new LiveNewsNode(Redis.Configuration, Prefix));
        var balancer = Track(new LoopbackBalancer(nodeA.BaseAddress));
        using (var editor = nodeB.Editor())
        {
            await ServerSentEventsTests.PublishArticleAsync(editor);
        }

        var context = Track(new OwnedContext(await browser.Browser.NewContextAsync()));
        var page = await context.Context.NewPageAsync();
        await page.GotoAsync(new Uri(balancer.Address, "/health/live").ToString());
        return (nodeA, nodeB, balancer, page);
    }

    private sealed record OwnedContext(IBrowserContext Context) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Context.DisposeAsync();
    }
}
