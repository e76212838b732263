using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using LiveNews.Client;
using LiveNews.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace LiveNews.Server.Tests.Realtime;

/// <summary>
/// The delivery guarantees of PRODUCT.md section 2, through real server nodes on loopback. Runs once
/// against redis-server and once against the embedded Garnet store.
/// </summary>
public abstract class DeliveryTests<TStore>(TStore store) : IAsyncLifetime
    where TStore : IStoreFixture
{
    private readonly string _prefix = Eventually.Prefix();
    private readonly Owned _owned = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _owned.DisposeAsync();
    }

    [Fact]
    public async Task Subscribe_FreshTopic_AnswersWithSnapshot()
    {
        var node = Node();
        using var editor = node.Editor();
        (await editor.PostJsonAsync("/api/breaking", new { headline = "Dam breaks upstream", url = "https://news.example/dam" })).EnsureSuccessStatusCode();
        (await editor.PutJsonAsync("/api/live", new { title = "Flood coverage", streamUrl = "https://video.example/live.m3u8" })).EnsureSuccessStatusCode();

        var connection = Track(await node.ConnectAsync());
        var results = await SubscribeAsync(connection, new { topic = "breaking" }, new { topic = "live" }, new { topic = "latest" });

        Assert.False(results[0].GetProperty("recovered").GetBoolean());
        Assert.Equal(1, results[0].GetProperty("seq").GetInt64());
        var alert = Assert.Single(results[0].GetProperty("snapshot").GetProperty("alerts").EnumerateArray());
        Assert.Equal("Dam breaks upstream", alert.GetProperty("headline").GetString());
        Assert.Equal("Flood coverage", results[1].GetProperty("snapshot").GetProperty("status").GetProperty("title").GetString());
        Assert.Empty(results[2].GetProperty("snapshot").GetProperty("articles").EnumerateArray());
        Assert.Equal(0, results[2].GetProperty("seq").GetInt64());
        Assert.Equal("", results[2].GetProperty("epoch").GetString()); // nothing published yet: reads write no epoch
    }

    [Fact]
    public async Task Publish_ThroughNodeA_ReachesEverySubscriberOnNodeB_InOrderOnce()
    {
        const int Events = 40;
        var nodeA = Node();
        var nodeB = Node();
        var readers = new List<ChannelReaderOf>();
        for (var i = 0; i < 3; i++)
        {
            var client = Track(await nodeB.ClientAsync());
            readers.Add(new ChannelReaderOf(await client.SubscribeChannelAsync("breaking")));
        }

        using var editor = nodeA.Editor();
        for (var i = 1; i <= Events; i++)
        {
            (await editor.PostJsonAsync("/api/breaking", new { headline = $"Alert {i}" })).EnsureSuccessStatusCode();
        }

        foreach (var reader in readers)
        {
            var events = await reader.EventsUntilAsync(Events);
            Assert.Equal(Enumerable.Range(1, Events).Select(i => (long)i), events.Select(e => e.Seq));
            Assert.Equal(Enumerable.Range(1, Events).Select(i => $"Alert {i}"), events.Select(e => e.Data.GetProperty("headline").GetString()));
            Assert.All(events, e => Assert.Equal("breaking.published", e.Type));
        }
    }

    [Fact]
    public async Task Resume_After20MissedEvents_ReturnsExactlyThoseEvents()
    {
        var node = Node();
        var first = await node.ConnectAsync();
        var position = (await SubscribeAsync(first, new { topic = "latest" }))[0];
        await first.DisposeAsync();

        using var editor = node.Editor();
        for (var i = 1; i <= 20; i++)
        {
            (await editor.PutJsonAsync($"/api/articles/story-{i}", new { headline = $"Story {i}", url = $"https://news.example/{i}" })).EnsureSuccessStatusCode();
        }

        var second = Track(await node.ConnectAsync());
        var resumed = (await SubscribeAsync(second, new { topic = "latest", epoch = position.GetProperty("epoch").GetString(), seq = position.GetProperty("seq").GetInt64() }))[0];

        Assert.True(resumed.GetProperty("recovered").GetBoolean());
        var events = resumed.GetProperty("events").EnumerateArray().ToArray();
        Assert.Equal(Enumerable.Range(1, 20).Select(i => (long)i), events.Select(e => e.GetProperty("seq").GetInt64()));
        Assert.Equal(Enumerable.Range(1, 20).Select(i => $"Story {i}"), events.Select(e => e.GetProperty("data").GetProperty("headline").GetString()));
        Assert.Equal(20, resumed.GetProperty("seq").GetInt64());
    }

    [Fact]
    public async Task Client_ResumingFromSavedPosition_GetsOnlyTheEventsAfterIt()
    {
        var node = Node();
        using var editor = node.Editor();
        TopicPosition saved;
        await using (var before = await node.ClientAsync())
        {
            var reader = new ChannelReaderOf(await before.SubscribeChannelAsync("breaking"));
            (await editor.PostJsonAsync("/api/breaking", new { headline = "Seen before the restart" })).EnsureSuccessStatusCode();
            await reader.EventsUntilAsync(1);
            saved = reader.Updates[^1].Position;
        }

        (await editor.PostJsonAsync("/api/breaking", new { headline = "Missed while away" })).EnsureSuccessStatusCode();
        var after = Track(await node.ClientAsync());
        var resumed = new ChannelReaderOf(await after.SubscribeChannelAsync("breaking", saved));
        var events = await resumed.EventsUntilAsync(1);

        Assert.Empty(resumed.Updates.OfType<TopicSnapshot>());
        Assert.Equal("Missed while away", Assert.Single(events).Data.GetProperty("headline").GetString());
    }

    [Fact]
    public async Task Resume_GapBeyondHistory_StartsOverFromSnapshot()
    {
        var node = Node(new() { ["Bus:HistoryLength"] = "5" });
        var first = await node.ConnectAsync();
        var position = (await SubscribeAsync(first, new { topic = "breaking" }))[0];
        await first.DisposeAsync();

        using var editor = node.Editor();
        for (var i = 1; i <= 20; i++)
        {
            (await editor.PostJsonAsync("/api/breaking", new { headline = $"Alert {i}" })).EnsureSuccessStatusCode();
        }

        var second = Track(await node.ConnectAsync());
        var resumed = (await SubscribeAsync(second, new { topic = "breaking", epoch = position.GetProperty("epoch").GetString(), seq = 0 }))[0];

        Assert.False(resumed.GetProperty("recovered").GetBoolean());
        Assert.Empty(resumed.GetProperty("events").EnumerateArray());
        Assert.Equal(20, resumed.GetProperty("seq").GetInt64());
        Assert.Equal(20, resumed.GetProperty("snapshot").GetProperty("alerts").GetArrayLength());
    }

    [Fact]
    public async Task Resume_WithAnotherEpoch_StartsOverFromSnapshot()
    {
        var node = Node();
        using var editor = node.Editor();
        (await editor.PostJsonAsync("/api/breaking", new { headline = "Only alert" })).EnsureSuccessStatusCode();

        var connection = Track(await node.ConnectAsync());
        var resumed = (await SubscribeAsync(connection, new { topic = "breaking", epoch = "lost-history", seq = 0 }))[0];

        Assert.False(resumed.GetProperty("recovered").GetBoolean());
        Assert.Single(resumed.GetProperty("snapshot").GetProperty("alerts").EnumerateArray());
    }

    [Theory]
    [InlineData("nope")]
    [InlineData("article:UPPER")]
    [InlineData("article:")]
    [InlineData("article:a*")]
    [InlineData("article:{x}")]
    [InlineData("newsroom")]
    public async Task Subscribe_RefusedTopic_FailsTheCallAndKeepsTheConnection(string topic)
    {
        var node = Node();
        var connection = Track(await node.ConnectAsync());

        var error = await Assert.ThrowsAsync<HubException>(() => SubscribeAsync(connection, new { topic }));
        Assert.Contains("topic", error.Message, StringComparison.OrdinalIgnoreCase);

        var ok = await SubscribeAsync(connection, new { topic = "live" });
        Assert.Equal(HubConnectionState.Connected, connection.State);
        Assert.Equal("live", ok[0].GetProperty("topic").GetString());
    }

    [Fact]
    public async Task Subscribe_MoreTopicsThanAllowed_IsRefused()
    {
        var node = Node(new() { ["Realtime:MaxTopicsPerConnection"] = "3" });
        var connection = Track(await node.ConnectAsync());
        await SubscribeAsync(connection, new { topic = "live" }, new { topic = "breaking" });

        var error = await Assert.ThrowsAsync<HubException>(() => SubscribeAsync(connection, new { topic = "article:a" }, new { topic = "article:b" }));

        Assert.Contains("At most 3 topics", error.Message, StringComparison.Ordinal);
        await SubscribeAsync(connection, new { topic = "article:a" });
    }

    [Fact]
    public async Task Article_EntriesPostedPinnedEditedDeleted_ReachReaderInOrderAndSnapshotKeepsPinnedFirst()
    {
        var node = Node();
        var client = Track(await node.ClientAsync());
        var reader = new ChannelReaderOf(await client.SubscribeChannelAsync("article:election-night"));

        using var editor = node.Editor();
        (await editor.PutJsonAsync("/api/articles/election-night", new { headline = "Election night", url = "https://news.example/election" })).EnsureSuccessStatusCode();
        var first = await (await editor.PostJsonAsync("/api/articles/election-night/entries", new { text = "Polls close.\nCounting starts." })).Content.ReadFromJsonAsync<JsonElement>();
        var second = await (await editor.PostJsonAsync("/api/articles/election-night/entries", new { text = "First results", kind = "update" })).Content.ReadFromJsonAsync<JsonElement>();
        var firstId = first.GetProperty("id").GetString();
        var secondId = second.GetProperty("id").GetString();
        (await editor.PutJsonAsync($"/api/articles/election-night/entries/{firstId}", new { pinned = true })).EnsureSuccessStatusCode();
        (await editor.PutJsonAsync($"/api/articles/election-night/entries/{secondId}", new { text = "First results: turnout 64%" })).EnsureSuccessStatusCode();
        (await editor.PostJsonAsync("/api/articles/election-night/entries", new { text = "Typo fixed", kind = "correction" })).EnsureSuccessStatusCode();
        var third = await (await editor.PostJsonAsync("/api/articles/election-night/entries", new { text = "Wrong entry" })).Content.ReadFromJsonAsync<JsonElement>();
        (await editor.DeleteAsync($"/api/articles/election-night/entries/{third.GetProperty("id").GetString()}")).EnsureSuccessStatusCode();

        var events = await reader.EventsUntilAsync(8);
        Assert.Equal(
            ["article.published", "entry.posted", "entry.posted", "entry.pinned", "entry.edited", "entry.posted", "entry.posted", "entry.deleted"],
            events.Select(e => e.Type));

        var state = await node.Anonymous().GetFromJsonAsync<JsonElement>("/api/topics/article:election-night");
        var entries = state.GetProperty("snapshot").GetProperty("entries").EnumerateArray().ToArray();
        Assert.Equal(3, entries.Length);
        Assert.Equal(firstId, entries[0].GetProperty("id").GetString());
        Assert.True(entries[0].GetProperty("pinned").GetBoolean());
        Assert.Equal("correction", entries[1].GetProperty("kind").GetString());
        Assert.Equal("First results: turnout 64%", entries[2].GetProperty("text").GetString());
        Assert.Equal("Election night", state.GetProperty("snapshot").GetProperty("article").GetProperty("headline").GetString());
    }

    [Fact]
    public async Task Live_StartedUpdatedEnded_ReachesReaderAndSnapshotFollows()
    {
        var node = Node();
        var client = Track(await node.ClientAsync());
        var reader = new ChannelReaderOf(await client.SubscribeChannelAsync("live"));
        using var editor = node.Editor();

        (await editor.PutJsonAsync("/api/live", new { title = "Press conference", streamUrl = "https://video.example/a.m3u8" })).EnsureSuccessStatusCode();
        (await editor.PutJsonAsync("/api/live", new { title = "Press conference (Q&A)", streamUrl = "https://video.example/a.m3u8" })).EnsureSuccessStatusCode();
        (await editor.DeleteAsync("/api/live")).EnsureSuccessStatusCode();
        var again = await editor.DeleteAsync("/api/live");

        var events = await reader.EventsUntilAsync(3);
        Assert.Equal(["live.started", "live.updated", "live.ended"], events.Select(e => e.Type));
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        var state = await node.Anonymous().GetFromJsonAsync<JsonElement>("/api/topics/live");
        Assert.Equal(JsonValueKind.Null, state.GetProperty("snapshot").GetProperty("status").ValueKind);
    }

    [Fact]
    public async Task Idempotency_RepeatedPost_ReturnsFirstAnswerAndPublishesOnce()
    {
        var node = Node();
        using var editor = node.Editor();

        var first = await editor.PostJsonAsync("/api/breaking", new { headline = "Once" }, idempotencyKey: "push-1");
        var second = await editor.PostJsonAsync("/api/breaking", new { headline = "Once" }, idempotencyKey: "push-1");
        var conflicting = await editor.PostJsonAsync("/api/breaking", new { headline = "Different" }, idempotencyKey: "push-1");

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await second.Content.ReadAsStringAsync());
        Assert.NotNull(first.Headers.Location);
        Assert.Equal(first.Headers.Location, second.Headers.Location);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, conflicting.StatusCode);
        var state = await node.Anonymous().GetFromJsonAsync<JsonElement>("/api/topics/breaking");
        Assert.Equal(1, state.GetProperty("seq").GetInt64());
    }

    protected LiveNewsNode Node(Dictionary<string, string?>? settings = null, TimeProvider? time = null)
    {
        var node = new LiveNewsNode(store.Configuration, _prefix, settings, time);
        _owned.Add(node);
        return node;
    }

    protected T Track<T>(T disposable)
        where T : IAsyncDisposable => _owned.Add(disposable);

    internal static async Task<JsonElement[]> SubscribeAsync(HubConnection connection, params object[] requests) =>
        await Eventually.WithinAsync(connection.InvokeAsync<JsonElement[]>("Subscribe", requests), "Subscribe");
}

[Collection("redis")]
public sealed class RedisDeliveryTests(RedisFixture redis) : DeliveryTests<RedisFixture>(redis), IClassFixture<RedisFixture>;

[Collection("garnet")]
public sealed class GarnetDeliveryTests(GarnetFixture garnet) : DeliveryTests<GarnetFixture>(garnet), IClassFixture<GarnetFixture>;

[Collection("cluster")]
public sealed class RedisClusterDeliveryTests(RedisClusterFixture cluster) : DeliveryTests<RedisClusterFixture>(cluster), IClassFixture<RedisClusterFixture>;
