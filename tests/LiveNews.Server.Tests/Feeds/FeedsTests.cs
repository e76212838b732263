using System.Net;
using System.ServiceModel.Syndication;
using System.Text.Json;
using System.Xml;
using System.Xml.Linq;
using LiveNews.Server.Bus;
using LiveNews.Server.Feeds;
using LiveNews.Server.Store;
using LiveNews.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace LiveNews.Server.Tests.Feeds;

/// <summary>Atom and JSON feeds parse as what they claim to be, hold no removed content, and ping a WebSub hub once per change.</summary>
public abstract class FeedsTests<TStore>(TStore store) : IAsyncLifetime
    where TStore : IStoreFixture
{
    private static readonly XNamespace AtomNs = "http://www.w3.org/2005/Atom";
    private const string BaseUrl = "https://live.news.example";

    private readonly string _prefix = Eventually.Prefix();
    private readonly Owned _owned = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _owned.DisposeAsync();

    [Fact]
    public async Task LatestAtom_PublishedAndUnpublished_ValidAtomWithoutTheRemovedArticle()
    {
        var node = Node();
        using var editor = node.Editor();
        await PublishAsync(editor, "harbour-fire", "Harbour fire: ferries stopped", "Smoke over the harbour.");
        await PublishAsync(editor, "council-vote", "Council votes <yes> & more", null);
        await PublishAsync(editor, "pulled-story", "Story to be pulled", "Secret summary");
        (await editor.DeleteAsync("/api/articles/pulled-story")).EnsureSuccessStatusCode();

        using var http = node.Anonymous();
        using var response = await http.GetAsync("/feeds/latest.atom");
        response.EnsureSuccessStatusCode();
        Assert.Equal("application/atom+xml", response.Content.Headers.ContentType?.MediaType);
        var xml = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("pulled", xml, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Secret summary", xml);

        // System.ServiceModel.Syndication's Atom 1.0 reader, as a .NET feed reader would load it.
        using var reader = XmlReader.Create(new StringReader(xml));
        var feed = SyndicationFeed.Load(reader);
        Assert.Equal($"{BaseUrl}/feeds/latest.atom", feed.Id);
        Assert.Equal("LiveNews", feed.Title.Text);
        Assert.Contains(feed.Links, l => l.RelationshipType == "self" && l.Uri.ToString() == $"{BaseUrl}/feeds/latest.atom");
        Assert.DoesNotContain(feed.Links, l => l.RelationshipType == "hub");
        Assert.False(response.Headers.Contains("Link"));
        var items = feed.Items.ToList();
        Assert.Equal(["Council votes <yes> & more", "Harbour fire: ferries stopped"], items.Select(i => i.Title.Text));
        Assert.Equal($"{BaseUrl}/articles/harbour-fire", items[1].Id);
        Assert.Equal("https://news.example/harbour-fire", items[1].Links.Single().Uri.ToString());
        Assert.Equal("Smoke over the harbour.", items[1].Summary.Text);

        AssertRfc4287(XDocument.Parse(xml));
    }

    [Fact]
    public async Task Language_OfTheNewsroom_NamedByFeedsAndPages()
    {
        var node = Node(new() { ["Feeds:Language"] = "pt-BR" });
        using var editor = node.Editor();
        await PublishAsync(editor, "enchente", "Enchente no porto", null);
        using var http = node.Anonymous();

        var atom = XDocument.Parse(await http.GetStringAsync("/feeds/latest.atom"));
        var article = XDocument.Parse(await http.GetStringAsync("/feeds/articles/enchente.atom"));
        var json = JsonDocument.Parse(await http.GetStringAsync("/feeds/latest.json")).RootElement;
        var page = await http.GetStringAsync("/articles/enchente");

        Assert.Equal("pt-BR", atom.Root!.Attribute(XNamespace.Xml + "lang")?.Value);
        Assert.Equal("pt-BR", article.Root!.Attribute(XNamespace.Xml + "lang")?.Value);
        Assert.Equal("pt-BR", json.GetProperty("language").GetString());
        Assert.Contains("<html lang=\"pt-BR\">", page, StringComparison.Ordinal);
        Assert.ThrowsAny<Exception>(() => Node(new() { ["Feeds:Language"] = "Portuguese (Brazil)" }));
        Assert.ThrowsAny<Exception>(() => Node(new() { ["Feeds:Language"] = "" }));
    }

    [Fact]
    public async Task LatestJson_PublishedArticles_JsonFeed11WithRequiredFields()
    {
        var node = Node();
        using var editor = node.Editor();
        await PublishAsync(editor, "harbour-fire", "Harbour fire", "Smoke over the harbour.");
        await PublishAsync(editor, "pulled-story", "Story to be pulled", null);
        (await editor.DeleteAsync("/api/articles/pulled-story")).EnsureSuccessStatusCode();

        using var http = node.Anonymous();
        using var response = await http.GetAsync("/feeds/latest.json");
        Assert.Equal("application/feed+json", response.Content.Headers.ContentType?.MediaType);
        var feed = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("https://jsonfeed.org/version/1.1", feed.GetProperty("version").GetString());
        Assert.Equal("LiveNews", feed.GetProperty("title").GetString());
        Assert.Equal($"{BaseUrl}/feeds/latest.json", feed.GetProperty("feed_url").GetString());
        var item = Assert.Single(feed.GetProperty("items").EnumerateArray());
        Assert.Equal($"{BaseUrl}/articles/harbour-fire", item.GetProperty("id").GetString());
        Assert.Equal("https://news.example/harbour-fire", item.GetProperty("url").GetString());
        Assert.Equal("Smoke over the harbour.", item.GetProperty("content_text").GetString());
        Assert.EndsWith("Z", item.GetProperty("date_published").GetString());
        Assert.True(DateTimeOffset.TryParse(item.GetProperty("date_published").GetString(), out _));
    }

    [Fact]
    public async Task ArticleAtom_LiveBlog_EntriesNewestFirstWithoutDeletedOnes()
    {
        var node = Node();
        using var editor = node.Editor();
        await PublishAsync(editor, "storm-live", "Storm: live", null);
        var ids = new List<string>();
        foreach (var text in new[] { "Wind reaches 120 km/h", "Deleted rumour", "Coast road closed" })
        {
            var posted = await editor.PostJsonAsync("/api/articles/storm-live/entries", new { text }, Guid.NewGuid().ToString());
            posted.EnsureSuccessStatusCode();
            ids.Add(JsonDocument.Parse(await posted.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!);
        }

        (await editor.DeleteAsync($"/api/articles/storm-live/entries/{ids[1]}")).EnsureSuccessStatusCode();

        using var http = node.Anonymous();
        var xml = await http.GetStringAsync("/feeds/articles/storm-live.atom");
        Assert.DoesNotContain("rumour", xml);
        var feed = SyndicationFeed.Load(XmlReader.Create(new StringReader(xml)));
        Assert.Equal("Storm: live", feed.Title.Text);
        var items = feed.Items.ToList();
        Assert.Equal(["Coast road closed", "Wind reaches 120 km/h"], items.Select(i => ((TextSyndicationContent)i.Content).Text));
        Assert.Equal($"{BaseUrl}/articles/storm-live#entry-{ids[2]}", items[0].Links.Single().Uri.ToString());
        AssertRfc4287(XDocument.Parse(xml));

        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/feeds/articles/never-published.atom")).StatusCode);
        (await editor.DeleteAsync("/api/articles/storm-live")).EnsureSuccessStatusCode();
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/feeds/articles/storm-live.atom")).StatusCode);
    }

    // An entry's title is its text's first words, cut at 80 characters when there is no space to cut at: a cut
    // between an emoji's two halves made the feed and the page fail (500) while the entry was among the newest.
    [Fact]
    public async Task ArticleAtomAndPage_EntryOfEmojiWithoutSpaces_TitleCutBetweenCharacters()
    {
        var node = Node();
        using var editor = node.Editor();
        await PublishAsync(editor, "emoji-live", "Emoji: live", null);
        var text = string.Concat(Enumerable.Repeat("\U0001F534", 41));
        (await editor.PostJsonAsync("/api/articles/emoji-live/entries", new { text })).EnsureSuccessStatusCode();

        using var http = node.Anonymous();
        using var feed = await http.GetAsync("/feeds/articles/emoji-live.atom");
        Assert.Equal(HttpStatusCode.OK, feed.StatusCode);
        var title = SyndicationFeed.Load(XmlReader.Create(await feed.Content.ReadAsStreamAsync())).Items.Single().Title.Text;
        Assert.Equal(string.Concat(Enumerable.Repeat("\U0001F534", 39)) + "…", title);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/articles/emoji-live")).StatusCode);
    }

    [Theory]
    [InlineData("/feeds/latest.atom")]
    [InlineData("/feeds/latest.json")]
    public async Task Feed_IfNoneMatch_NotModifiedUntilAChange(string path)
    {
        var node = Node();
        using var editor = node.Editor();
        await PublishAsync(editor, "first", "First", null);
        using var http = node.Anonymous();
        using var first = await http.GetAsync(path);
        var etag = first.Headers.ETag!;
        // Kept by caches, but asked again before each use: a takedown is not served from a cache for a while.
        Assert.Equal("public, no-cache", first.Headers.CacheControl?.ToString());
        Assert.Null(first.Content.Headers.LastModified);

        using var again = new HttpRequestMessage(HttpMethod.Get, path);
        again.Headers.IfNoneMatch.Add(etag);
        Assert.Equal(HttpStatusCode.NotModified, (await http.SendAsync(again)).StatusCode);

        // As a compressing proxy hands it on: weak, and among others.
        using var weak = new HttpRequestMessage(HttpMethod.Get, path);
        weak.Headers.TryAddWithoutValidation("If-None-Match", $"\"other\", W/{etag.Tag}");
        Assert.Equal(HttpStatusCode.NotModified, (await http.SendAsync(weak)).StatusCode);

        await PublishAsync(editor, "second", "Second", null);
        using var changed = new HttpRequestMessage(HttpMethod.Get, path);
        changed.Headers.IfNoneMatch.Add(etag);
        using var answer = await http.SendAsync(changed);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.NotEqual(etag, answer.Headers.ETag);
    }

    [Fact]
    public async Task WebSub_TwoNodes_HubGetsOnePingPerChangedFeed()
    {
        var hub = _owned.Add(await LoopbackHub.StartAsync());
        // A window wide enough that the quick changes below fall in one, even on a busy machine.
        var settings = WebSubSettings(hub, coalesceWindow: "00:00:05");
        var nodeA = Node(settings);
        Node(settings);
        using var editor = nodeA.Editor();

        // Three quick changes of latest within the window: one ping per latest feed.
        await PublishAsync(editor, "one", "One", null);
        await PublishAsync(editor, "two", "Two", null);
        (await editor.DeleteAsync("/api/articles/two")).EnsureSuccessStatusCode();
        await Eventually.TrueAsync(() => hub.PingsOf($"{BaseUrl}/feeds/latest.atom") >= 1 && hub.PingsOf($"{BaseUrl}/feeds/latest.json") >= 1
            && hub.PingsOf($"{BaseUrl}/feeds/articles/one.atom") >= 1 && hub.PingsOf($"{BaseUrl}/feeds/articles/two.atom") >= 1, "the changed feeds pinged");

        // Later changes are new pings (the entry and "three" share a window); their arrival also shows that
        // nothing else of the first window was still on its way.
        await editor.PostUntilAcceptedAsync("/api/articles/one/entries", new { text = "An entry" }, "websub-entry");
        await PublishAsync(editor, "three", "Three", null);
        await Eventually.TrueAsync(() => hub.PingsOf($"{BaseUrl}/feeds/articles/one.atom") >= 2 && hub.PingsOf($"{BaseUrl}/feeds/latest.atom") >= 2
            && hub.PingsOf($"{BaseUrl}/feeds/latest.json") >= 2 && hub.PingsOf($"{BaseUrl}/feeds/articles/three.atom") >= 1, "the later changes' pings");

        Assert.All(hub.Pings, p => Assert.Equal("publish", p.Mode));
        Assert.True(hub.Pings.Count == 8, "pings: " + string.Join(", ", hub.Pings.Select(p => p.Url[BaseUrl.Length..] + "@" + p.At.ToString("HH:mm:ss.fff"))));
        Assert.Equal(2, hub.PingsOf($"{BaseUrl}/feeds/latest.atom"));
        Assert.Equal(2, hub.PingsOf($"{BaseUrl}/feeds/latest.json"));
        Assert.Equal(2, hub.PingsOf($"{BaseUrl}/feeds/articles/one.atom"));
        Assert.Equal(1, hub.PingsOf($"{BaseUrl}/feeds/articles/two.atom"));
        Assert.Equal(1, hub.PingsOf($"{BaseUrl}/feeds/articles/three.atom"));
        Assert.Equal(8, hub.Pings.Count);

        using var http = nodeA.Anonymous();
        var atom = XDocument.Parse(await http.GetStringAsync("/feeds/latest.atom"));
        Assert.Contains(atom.Root!.Elements(AtomNs + "link"), l => (string?)l.Attribute("rel") == "hub" && (string?)l.Attribute("href") == hub.Address.ToString());
        var json = JsonDocument.Parse(await http.GetStringAsync("/feeds/latest.json")).RootElement;
        Assert.Equal(hub.Address.ToString(), json.GetProperty("hubs")[0].GetProperty("url").GetString());

        // Discovery by Link headers, which WebSub requires whatever the format.
        foreach (var path in new[] { "/feeds/latest.atom", "/feeds/latest.json", "/feeds/articles/one.atom" })
        {
            using var response = await http.GetAsync(path);
            Assert.Equal($"<{hub.Address}>; rel=\"hub\", <{BaseUrl}{path}>; rel=\"self\"", string.Join(", ", response.Headers.GetValues("Link")));
        }
    }

    // The node dies once an article changed, before it queued the article feed's ping (here: an observer told
    // before the feeds' fails there). The ping queued before the change still reaches the hub, which then fetches
    // the change. (Dying there, the node never mirrors the article into latest: the mirror sweep does, later.)
    [Fact]
    public async Task WebSub_NodeDiesBetweenAChangeAndQueueingItsPing_TheHubIsPingedAnyway()
    {
        var hub = _owned.Add(await LoopbackHub.StartAsync());
        var node = Node(WebSubSettings(hub), services => services.Insert(0, ServiceDescriptor.Singleton<IPublishObserver, DiesAfterTheChange>()));
        using var editor = node.Editor();
        var published = await editor.PutJsonAsync("/api/articles/dying", new { headline = "Dying", url = "https://news.example/dying" });
        Assert.Equal(HttpStatusCode.InternalServerError, published.StatusCode);

        await Eventually.TrueAsync(() => hub.PingsOf($"{BaseUrl}/feeds/articles/dying.atom") == 1, "the article's feed pinged");
    }

    // A hub that refuses the ping itself (a wrong WebSub:Hub path, 404) would refuse it again: one request per
    // feed, then the queue lets it go, instead of four requests every WebSub:RetryAfter forever.
    [Fact]
    public async Task WebSub_HubRefusesThePing_DroppedAfterOneRequestNotRetried()
    {
        var hub = _owned.Add(await LoopbackHub.StartAsync(refuseWith: 404));
        var node = Node(WebSubSettings(hub, coalesceWindow: null, retryAfter: "00:00:01"));
        using var editor = node.Editor();
        await PublishAsync(editor, "refused", "Refused", null);
        var names = node.Services.GetRequiredService<RedisNames>();
        var database = await node.Services.GetRequiredService<RedisStore>().GetDatabaseAsync();

        await Eventually.TrueAsync(
            async () => hub.Requests >= 3 && await database.SortedSetLengthAsync(names.WebSubDue) == 0 && await database.SortedSetLengthAsync(names.WebSubLeased) == 0,
            "the three changed feeds asked once, and let go");
        Assert.Equal(3, hub.Requests);
    }

    // A hub that answers 429 with Retry-After is asked nothing more until then, by any node: not the three quick
    // retries, not the other feeds, not again after WebSub:RetryAfter. Every ping waits in the queue, none is lost.
    [Fact]
    public async Task WebSub_HubAsksToWait_NothingMoreFromAnyNodeUntilThenAndEveryPingKept()
    {
        var hub = _owned.Add(await LoopbackHub.StartAsync(refuseWith: 429, retryAfterSeconds: 120));
        var settings = WebSubSettings(hub, retryAfter: "00:00:01");
        var node = Node(settings);
        Node(settings);
        using var editor = node.Editor();
        var names = node.Services.GetRequiredService<RedisNames>();
        var database = await node.Services.GetRequiredService<RedisStore>().GetDatabaseAsync();
        var published = DateTimeOffset.UtcNow;
        await PublishAsync(editor, "throttled", "Throttled", null);

        await Eventually.TrueAsync(
            async () => hub.Requests >= 1 && await database.StringGetAsync(names.WebSubHubWait) is { HasValue: true } until
                && DateTimeOffset.FromUnixTimeMilliseconds((long)until) >= published.AddSeconds(115)
                && await database.SortedSetLengthAsync(names.WebSubLeased) == 0 && await database.SortedSetLengthAsync(names.WebSubDue) == 3,
            "the hub's wait recorded for every node, the three changed feeds in the queue");

        // Each node may have asked once before the first answer came back; after it, nobody takes a ping.
        Assert.InRange(hub.Requests, 1, 2);
        Assert.Empty((await node.Services.GetRequiredService<WebSubQueue>().TakeAsync(16)).Feeds);
        Assert.Equal(3, await database.SortedSetLengthAsync(names.WebSubDue));
    }

    // The hub's wait is every node's: while it lasts the queue hands out no ping, however due.
    [Fact]
    public async Task WebSubQueue_WhileTheHubWaits_NoPingIsTakenAndAfterwardsItIs()
    {
        // No hub set: the node's own worker does not run, the test takes from the queue as a node would.
        var node = Node(new() { ["WebSub:CoalesceWindow"] = "00:00:00.050" });
        var queue = node.Services.GetRequiredService<WebSubQueue>();
        var database = await node.Services.GetRequiredService<RedisStore>().GetDatabaseAsync();
        var names = node.Services.GetRequiredService<RedisNames>();
        await queue.AddAsync(["/feeds/waiting.atom"]);
        await queue.HubWaitsAsync(DateTimeOffset.UtcNow.AddMinutes(2));
        var due = DateTimeOffset.FromUnixTimeMilliseconds((long)(await database.SortedSetScoreAsync(names.WebSubDue, "/feeds/waiting.atom"))!);
        await Eventually.TrueAsync(() => DateTimeOffset.UtcNow > due.AddMilliseconds(100), "the ping due");

        Assert.Empty((await queue.TakeAsync(16)).Feeds);

        // A shorter wait another node heard later does not cut this one short.
        await queue.HubWaitsAsync(DateTimeOffset.UtcNow.AddSeconds(5));
        Assert.True(await database.KeyTimeToLiveAsync(names.WebSubHubWait) > TimeSpan.FromSeconds(100));

        await database.KeyDeleteAsync(names.WebSubHubWait); // the wait is over
        Assert.Equal(["/feeds/waiting.atom"], (await queue.TakeAsync(16)).Feeds);
    }

    // A hub that does not answer one feed: a node gives its ping up before its lease ends and puts it back, so
    // the node that takes it next never pings the feed while the first is still at it.
    [Fact]
    public async Task WebSub_HubHangs_NoFeedPingedByTwoNodesAtOnce()
    {
        var hub = _owned.Add(await LoopbackHub.StartAsync(hangOn: "/feeds/latest.atom"));
        var settings = WebSubSettings(hub, retryAfter: "00:00:01", leaseTime: "00:00:05");
        var node = Node(settings);
        Node(settings);
        using var editor = node.Editor();
        await PublishAsync(editor, "hanging", "Hanging", null);

        await Eventually.TrueAsync(() => hub.Hung >= 3, "the hanging feed pinged again after each ping was given up", seconds: 30);

        Assert.Equal(1, hub.MostAtOnceForOneFeed);
    }

    [Fact]
    public void Start_HubWithoutBaseUrl_RefusedNamingTheSetting()
    {
        var error = Assert.ThrowsAny<Exception>(() => new LiveNewsNode(store.Configuration, _prefix,
            new() { ["WebSub:Hub"] = "https://hub.example/", ["Feeds:BaseUrl"] = "" }));
        Assert.Contains("Feeds:BaseUrl", error.ToString());
    }

    /// <summary>RFC 4287's required elements: feed id, title, updated, author (or one per entry); entry id, title, updated.</summary>
    private static void AssertRfc4287(XDocument document)
    {
        var feed = document.Root!;
        Assert.Equal(AtomNs + "feed", feed.Name);
        foreach (var name in new[] { "id", "title", "updated" })
        {
            Assert.Single(feed.Elements(AtomNs + name));
        }

        Assert.True(Uri.IsWellFormedUriString(feed.Element(AtomNs + "id")!.Value, UriKind.Absolute));
        Assert.True(DateTimeOffset.TryParse(feed.Element(AtomNs + "updated")!.Value, out _));
        var feedAuthor = feed.Elements(AtomNs + "author").Any(a => a.Element(AtomNs + "name") is not null);
        foreach (var entry in feed.Elements(AtomNs + "entry"))
        {
            foreach (var name in new[] { "id", "title", "updated" })
            {
                Assert.Single(entry.Elements(AtomNs + name));
            }

            Assert.True(feedAuthor || entry.Elements(AtomNs + "author").Any());
            Assert.Contains(entry.Elements(AtomNs + "link"), l => (string?)l.Attribute("rel") is null or "alternate");
        }
    }

    private static async Task PublishAsync(HttpClient editor, string id, string headline, string? summary) =>
        (await editor.PutJsonAsync($"/api/articles/{id}", new { headline, summary, url = $"https://news.example/{id}" })).EnsureSuccessStatusCode();

    // A node pinging the loopback hub, looking for due pings every 50 ms; unset values keep their defaults.
    private static Dictionary<string, string?> WebSubSettings(LoopbackHub hub, string? coalesceWindow = "00:00:00.050", string? retryAfter = null, string? leaseTime = null)
    {
        var settings = new Dictionary<string, string?> { ["WebSub:Hub"] = hub.Address.ToString(), ["WebSub:PollInterval"] = "00:00:00.050" };
        foreach (var (name, value) in new[] { ("CoalesceWindow", coalesceWindow), ("RetryAfter", retryAfter), ("LeaseTime", leaseTime) })
        {
            if (value is not null)
            {
                settings["WebSub:" + name] = value;
            }
        }

        return settings;
    }

    private LiveNewsNode Node(Dictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null)
    {
        var all = new Dictionary<string, string?> { ["Feeds:BaseUrl"] = BaseUrl };
        foreach (var (key, value) in settings ?? [])
        {
            all[key] = value;
        }

        return _owned.Add(new LiveNewsNode(store.Configuration, _prefix, all, services: services));
    }

    /// <summary>Told first of every change, it fails once the change is made: the node dying there, for the observers after it.</summary>
    private sealed class DiesAfterTheChange : IPublishObserver
    {
        public Task ChangingAsync(Topic topic) => Task.CompletedTask;

        public Task ChangedAsync(Topic topic) => throw new InvalidOperationException("The node died here.");
    }
}

public sealed class RedisFeedsTests(RedisFixture store) : FeedsTests<RedisFixture>(store), IClassFixture<RedisFixture>;

/// <summary>The embedded store runs the queue's scripts too (it is the default deployment).</summary>
public sealed class GarnetFeedsTests(GarnetFixture store) : FeedsTests<GarnetFixture>(store), IClassFixture<GarnetFixture>;
