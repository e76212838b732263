using System.Net;
using System.Text.Json;
using LiveNews.Server.Bus;
using LiveNews.Server.Editors;
using LiveNews.Server.Newsroom;
using LiveNews.Server.Store;
using LiveNews.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace LiveNews.Server.Tests.Newsroom;

/// <summary>
/// What the newsroom keeps and what it gives back: every entry kept and paged, All Articles, takedowns that
/// leave no text in any public read, reads that write nothing. Runs against redis-server and the embedded store.
/// </summary>
public abstract class ContentTests<TStore>(TStore store) : IAsyncLifetime
    where TStore : IStoreFixture
{
    private readonly string _prefix = Eventually.Prefix();
    private readonly Owned _owned = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _owned.DisposeAsync();

    [Fact]
    public async Task Entries_ThousandWithTwentyPinned_AllPagedInOrderAndSnapshotHoldsPinnedAndNewest()
    {
        var node = Node();
        using var editor = node.Editor();
        await PublishArticleAsync(editor, "marathon");
        var posted = new List<string>();
        for (var i = 1; i <= 1000; i++)
        {
            posted.Add(await PostEntryAsync(editor, "marathon", $"Entry {i}", pinned: i % 50 == 0));
        }

        var pages = await WalkEntriesAsync(node.Anonymous(), "marathon", limit: 100);
        Assert.Equal(Enumerable.Reverse(posted), pages.Select(e => e.GetProperty("id").GetString()));
        Assert.Equal(20, pages.Count(e => e.GetProperty("pinned").GetBoolean()));

        var snapshot = (await ReadTopicAsync(node.Anonymous(), "article:marathon")).GetProperty("snapshot");
        var entries = snapshot.GetProperty("entries").EnumerateArray().ToArray();
        var pinned = entries.TakeWhile(e => e.GetProperty("pinned").GetBoolean()).Select(e => e.GetProperty("text").GetString());
        Assert.Equal(Enumerable.Range(1, 20).Reverse().Select(i => $"Entry {i * 50}"), pinned);
        var newest = entries.Skip(20).Select(e => e.GetProperty("text").GetString());
        Assert.Equal(Enumerable.Range(1, 1000).Reverse().Where(i => i % 50 != 0).Take(50).Select(i => $"Entry {i}"), newest);
        Assert.True(snapshot.GetProperty("more").GetBoolean());
    }

    // A body larger than a small declared one goes through the buffers that grow as it arrives: every byte kept,
    // whether declared or chunked (the text is 10,000 two-byte characters, about 20 KB).
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Entries_LongestTextInTwoByteCharacters_KeptWhole(bool declaredLength)
    {
        var node = Node();
        using var editor = node.Editor();
        await PublishArticleAsync(editor, "long-read");
        var text = string.Concat(Enumerable.Range(0, 10_000).Select(i => i % 100 == 99 ? 'Z' : 'é'));
        var body = new { text };

        var response = await editor.PostJsonAsync("/api/articles/long-read/entries", declaredLength ? JsonSerializer.Serialize(body) : body);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var page = await WalkEntriesAsync(node.Anonymous(), "long-read", limit: 10);
        Assert.Equal(text, Assert.Single(page).GetProperty("text").GetString());
    }

    // A takedown of an article that never was answers 404 and writes nothing, not even the position it read.
    [Fact]
    public async Task Unpublish_OfAnArticleThatNeverWas_Is404AndWritesNothing()
    {
        var node = Node();
        using var editor = node.Editor();
        var database = await node.Services.GetRequiredService<RedisStore>().GetDatabaseAsync();
        var names = node.Services.GetRequiredService<RedisNames>();

        Assert.Equal(HttpStatusCode.NotFound, (await editor.DeleteAsync("/api/articles/never-was")).StatusCode);

        Assert.False(await database.KeyExistsAsync(names.Topic(Topic.Latest).CopiedFrom("never-was")));
        Assert.False(await database.KeyExistsAsync(names.Topic(Topic.Latest).Meta));
    }

    [Fact]
    public async Task Entries_AtTheCeiling_NewOneRefusedWith409AndNoneDropped()
    {
        var node = Node(new() { ["Newsroom:MaxEntriesPerArticle"] = "5" });
        using var editor = node.Editor();
        await PublishArticleAsync(editor, "capped");
        for (var i = 1; i <= 5; i++)
        {
            await PostEntryAsync(editor, "capped", $"Kept {i}", pinned: i <= 3);
        }

        var refused = await editor.PostJsonAsync("/api/articles/capped/entries", new { text = "One too many" });
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Contains("Newsroom:MaxEntriesPerArticle", await refused.Content.ReadAsStringAsync());

        var entries = await WalkEntriesAsync(node.Anonymous(), "capped", limit: 2);
        Assert.Equal(Enumerable.Range(1, 5).Reverse().Select(i => $"Kept {i}"), entries.Select(e => e.GetProperty("text").GetString()));
        var snapshot = (await ReadTopicAsync(node.Anonymous(), "article:capped")).GetProperty("snapshot");
        Assert.Equal(5, snapshot.GetProperty("entries").GetArrayLength());
        Assert.False(snapshot.GetProperty("more").GetBoolean());
    }

    [Fact]
    public async Task Entries_PagedWhileEditorsPost_EveryEarlierEntryExactlyOnce()
    {
        var node = Node();
        using var editor = node.Editor();
        await PublishArticleAsync(editor, "busy");
        var before = new List<string>();
        for (var i = 1; i <= 120; i++)
        {
            before.Add(await PostEntryAsync(editor, "busy", $"Early {i}"));
        }

        using var reader = node.Anonymous();
        var seen = new List<string>();
        string? next = null;
        var late = 0;
        do
        {
            // Between every two pages, more entries arrive above the first page, and one is pinned.
            await PostEntryAsync(editor, "busy", $"Late {++late}", pinned: late % 3 == 0);
            var page = await GetJsonAsync(reader, $"/api/articles/busy/entries?limit=7{(next is null ? "" : "&before=" + next)}");
            seen.AddRange(page.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("id").GetString()!));
            next = page.GetProperty("next").GetString();
        }
        while (next is not null);

        Assert.Equal(seen.Count, seen.Distinct().Count());
        Assert.Equal(Enumerable.Reverse(before), seen.Where(before.Contains));
    }

    [Fact]
    public async Task Entries_CursorOfADeletedEntry_StillLeadsToTheRest()
    {
        var node = Node();
        using var editor = node.Editor();
        await PublishArticleAsync(editor, "cursor");
        var ids = new List<string>();
        for (var i = 1; i <= 6; i++)
        {
            ids.Add(await PostEntryAsync(editor, "cursor", $"Step {i}"));
        }

        using var reader = node.Anonymous();
        var first = await GetJsonAsync(reader, "/api/articles/cursor/entries?limit=3");
        var next = first.GetProperty("next").GetString()!;
        Assert.Equal(ids[3], next);
        (await editor.DeleteAsync($"/api/articles/cursor/entries/{next}")).EnsureSuccessStatusCode();

        var second = await GetJsonAsync(reader, $"/api/articles/cursor/entries?limit=3&before={next}");
        Assert.Equal(["Step 3", "Step 2", "Step 1"], second.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("text").GetString()));
        Assert.Equal(JsonValueKind.Null, second.GetProperty("next").ValueKind);
    }

    [Theory]
    [InlineData("limit=0")]
    [InlineData("limit=101")]
    [InlineData("before=Not_An_Id")]
    [InlineData("before=e-0000000000000000")]
    public async Task Entries_BadQuery_Is400NamingTheField(string query)
    {
        var node = Node();
        using var editor = node.Editor();
        await PublishArticleAsync(editor, "queries");
        var response = await node.Anonymous().GetAsync($"/api/articles/queries/entries?{query}");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(query.Split('=')[0], await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Entries_Unchanged_AnswersNotModifiedToItsETag()
    {
        var node = Node();
        using var editor = node.Editor();
        await PublishArticleAsync(editor, "etag");
        await PostEntryAsync(editor, "etag", "First");
        using var reader = node.Anonymous();
        var first = await reader.GetAsync("/api/articles/etag/entries");
        var etag = first.Headers.ETag!;
        Assert.Equal("public, no-cache", first.Headers.CacheControl!.ToString());

        using var again = new HttpRequestMessage(HttpMethod.Get, "/api/articles/etag/entries");
        again.Headers.IfNoneMatch.Add(etag);
        Assert.Equal(HttpStatusCode.NotModified, (await reader.SendAsync(again)).StatusCode);

        await PostEntryAsync(editor, "etag", "Second");
        using var changed = new HttpRequestMessage(HttpMethod.Get, "/api/articles/etag/entries");
        changed.Headers.IfNoneMatch.Add(etag);
        var answer = await reader.SendAsync(changed);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.NotEqual(etag, answer.Headers.ETag);
    }

    [Fact]
    public async Task Articles_MoreThanTheLatestFifty_AllPagedNewestFirstAndBySection()
    {
        var node = Node();
        using var editor = node.Editor();
        var start = DateTimeOffset.Parse("2026-11-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        for (var i = 1; i <= 130; i++)
        {
            // Pairs share a publication time: the cursor must still tell them apart.
            var publishedAt = start.AddMinutes(i / 2);
            await PublishArticleAsync(editor, $"story-{i}", section: i % 4 == 0 ? "Sport" : "World", publishedAt: publishedAt);
        }

        using var reader = node.Anonymous();
        var all = await WalkArticlesAsync(reader, "limit=17");
        Assert.Equal(130, all.Count);
        Assert.Equal(130, all.Distinct().Count());
        Assert.Equal(50, (await ReadTopicAsync(reader, "latest")).GetProperty("snapshot").GetProperty("articles").GetArrayLength());

        var sport = await WalkArticlesAsync(reader, "limit=5&section=sport");
        Assert.Equal(Enumerable.Range(1, 130).Where(i => i % 4 == 0).Select(i => $"story-{i}").Order(), sport.Order());

        (await editor.DeleteAsync("/api/articles/story-64")).EnsureSuccessStatusCode();
        Assert.DoesNotContain("story-64", await WalkArticlesAsync(reader, "limit=100"));
    }

    [Fact]
    public async Task Articles_SectionWithANonAsciiCapital_FoundByItsOwnSpelling()
    {
        var node = Node();
        using var editor = node.Editor();
        await PublishArticleAsync(editor, "budget", section: "Économie");
        await PublishArticleAsync(editor, "derby", section: "Sport");

        using var reader = node.Anonymous();

        Assert.Equal(["budget"], await WalkArticlesAsync(reader, "section=" + Uri.EscapeDataString("Économie")));
        Assert.Equal(["derby"], await WalkArticlesAsync(reader, "section=SPORT"));
    }

    [Fact]
    public async Task Unpublish_Article_NoPublicReadNorResumeFromZeroReturnsItsText()
    {
        var node = Node();
        using var editor = node.Editor();
        await PublishArticleAsync(editor, "embargoed", headline: "SECRET-HEADLINE leaked early");
        var first = await PostEntryAsync(editor, "embargoed", "SECRET-ENTRY one");
        await PostEntryAsync(editor, "embargoed", "SECRET-ENTRY two", pinned: true);

        var response = await editor.DeleteAsync("/api/articles/embargoed");
        response.EnsureSuccessStatusCode();

        await AssertGoneEverywhereAsync(node, "SECRET", "embargoed", ["article:embargoed", "latest"]);
        Assert.Equal(HttpStatusCode.NotFound, (await node.Anonymous().GetAsync("/api/articles/embargoed/entries")).StatusCode);
        // A reader paging on from a page read before: the article is gone, not the cursor wrong.
        Assert.Equal(HttpStatusCode.NotFound, (await node.Anonymous().GetAsync($"/api/articles/embargoed/entries?before={first}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await node.Anonymous().GetAsync("/api/articles/embargoed/share-links")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await editor.PostJsonAsync("/api/articles/embargoed/entries", new { text = "after" })).StatusCode);
    }

    [Fact]
    public async Task Unpublish_ThenRetryOfAPublishThatStoppedBeforeLatest_DoesNotListTheStoryAgain()
    {
        var node = Node();
        using var editor = node.Editor();

        // The publish stops between the two topics: its article is out, `latest` cannot be written.
        var stopped = await WhileLatestUnwritableAsync(node, () =>
            editor.PutJsonAsync("/api/articles/pulled", new { headline = "PULLED-STORY", url = "https://news.example/pulled" }, idempotencyKey: "cms-1"));
        Assert.False(stopped.IsSuccessStatusCode);
        (await editor.DeleteAsync("/api/articles/pulled")).EnsureSuccessStatusCode();

        var retried = await editor.PutJsonAsync("/api/articles/pulled", new { headline = "PULLED-STORY", url = "https://news.example/pulled" }, idempotencyKey: "cms-1");

        retried.EnsureSuccessStatusCode();
        await AssertGoneEverywhereAsync(node, "PULLED-STORY", null, ["latest"]);
        Assert.Empty((await ReadTopicAsync(node.Anonymous(), "latest")).GetProperty("snapshot").GetProperty("articles").EnumerateArray());
        Assert.Equal(HttpStatusCode.NotFound, (await editor.DeleteAsync("/api/articles/pulled")).StatusCode);
    }

    // The unpublish stops between the two topics and the CMS never retries it: the sweep of requests left
    // halfway unlists the story all the same, instead of leaving its headline on the "Most recent" list.
    [Fact]
    public async Task Unpublish_StoppedBeforeLatestAndNeverRetried_TheSweepUnlistsTheStory()
    {
        var node = Node(new() { ["Newsroom:MirrorRepairAfter"] = "00:00:00.200" });
        using var editor = node.Editor();
        await PublishArticleAsync(editor, "pulled", headline: "PULLED-STORY");

        var stopped = await WhileLatestUnwritableAsync(node, () => editor.DeleteAsync("/api/articles/pulled"));

        Assert.False(stopped.IsSuccessStatusCode);
        await Eventually.TrueAsync(
            async () => !(await ReadTopicAsync(node.Anonymous(), "latest")).GetRawText().Contains("PULLED-STORY", StringComparison.Ordinal),
            "the sweep to unlist the story");
        await AssertGoneEverywhereAsync(node, "PULLED-STORY", null, ["latest"]);
        var pending = node.Services.GetRequiredService<RedisNames>().LatestMirrorsPending;
        await Eventually.TrueAsync(async () => !await (await node.Services.GetRequiredService<RedisStore>().GetDatabaseAsync()).KeyExistsAsync(pending), "the request's record to go");
    }

    // A publish held up between reading its article and listing it (a pause, a slow network) while another
    // editor pulls the story: its copy, read before the takedown, must not list the story again, even briefly.
    [Fact]
    public async Task Unpublish_WhileAPublishWaitsToListWhatItRead_TheLateListingIsRefused()
    {
        var node = Node();
        using var editor = node.Editor();
        await PublishArticleAsync(editor, "pulled", headline: "PULLED-STORY");
        var readBeforeTakedown = await ReadArticleAsync(node, "pulled");

        (await editor.DeleteAsync("/api/articles/pulled")).EnsureSuccessStatusCode();
        var late = await MirrorLateAsync(node, "pulled", readBeforeTakedown);

        Assert.Empty(late);
        await AssertGoneEverywhereAsync(node, "PULLED-STORY", null, ["latest"]);
    }

    // The same for a story's first publish, not listed yet when the takedown comes: the takedown has nothing to
    // unlist, and must still leave its position for the late listing to be refused against.
    [Fact]
    public async Task Unpublish_BeforeTheFirstPublishListedTheStory_TheLateListingIsRefused()
    {
        var node = Node();
        using var editor = node.Editor();
        // The first publish stops before it lists the story.
        Assert.False((await WhileLatestUnwritableAsync(node, () =>
            editor.PutJsonAsync("/api/articles/early", new { headline = "EARLY-PULL", url = "https://news.example/early" }))).IsSuccessStatusCode);
        var readBeforeTakedown = await ReadArticleAsync(node, "early");

        (await editor.DeleteAsync("/api/articles/early")).EnsureSuccessStatusCode();
        var late = await MirrorLateAsync(node, "early", readBeforeTakedown);

        Assert.Empty(late);
        await AssertGoneEverywhereAsync(node, "EARLY-PULL", null, ["latest"]);
    }

    [Fact]
    public async Task Update_WhileAnEarlierPublishWaitsToListWhatItRead_LatestKeepsTheNewerVersion()
    {
        var node = Node();
        using var editor = node.Editor();
        await PublishArticleAsync(editor, "revised", headline: "FIRST-VERSION");
        var readBeforeUpdate = await ReadArticleAsync(node, "revised");

        await PublishArticleAsync(editor, "revised", headline: "SECOND-VERSION");
        var late = await MirrorLateAsync(node, "revised", readBeforeUpdate);

        Assert.Empty(late);
        var listed = (await ReadTopicAsync(node.Anonymous(), "latest")).GetProperty("snapshot").GetProperty("articles").EnumerateArray().Single();
        Assert.Equal("SECOND-VERSION", listed.GetProperty("headline").GetString());
    }

    // A failed attempt leaves no answer under its key to compare a reuse with: a CMS that sends a changed
    // article under the same key gets the change applied, not the failed attempt's events back.
    [Fact]
    public async Task Publish_AnotherBodyUnderTheKeyOfAnAttemptThatFailedAfterPublishing_IsApplied()
    {
        var node = Node();
        using var editor = node.Editor();

        // The first draft is published on its topic, then the write of `latest` fails: 5xx.
        var failed = await WhileLatestUnwritableAsync(node, () =>
            editor.PutJsonAsync("/api/articles/redrafted", new { headline = "FIRST-DRAFT", url = "https://news.example/redrafted" }, idempotencyKey: "cms-2"));
        Assert.True((int)failed.StatusCode >= 500, $"the first attempt failed with a 5xx, not {failed.StatusCode}");

        var second = await editor.PutJsonAsync("/api/articles/redrafted", new { headline = "SECOND-DRAFT", url = "https://news.example/redrafted" }, idempotencyKey: "cms-2");

        second.EnsureSuccessStatusCode();
        Assert.Contains("SECOND-DRAFT", await second.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains("SECOND-DRAFT", (await ReadTopicAsync(node.Anonymous(), "article:redrafted")).GetProperty("snapshot").GetRawText(), StringComparison.Ordinal);
        Assert.Contains("SECOND-DRAFT", (await ReadTopicAsync(node.Anonymous(), "latest")).GetProperty("snapshot").GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PublishesAndUnpublishesRacing_LatestListsExactlyTheArticlesThatArePublished()
    {
        var node = Node();
        using var first = node.Editor();
        using var second = node.Editor();
        var ids = Enumerable.Range(0, 20).Select(i => $"race-{i}").ToArray();
        foreach (var id in ids)
        {
            await PublishArticleAsync(first, id, headline: "v1");
        }

        await Task.WhenAll(ids.Select(async id =>
        {
            var update = first.PutJsonAsync($"/api/articles/{id}", new { headline = "v2", url = $"https://news.example/{id}" });
            var pull = second.DeleteAsync($"/api/articles/{id}");
            Assert.True((await update).IsSuccessStatusCode && (await pull).IsSuccessStatusCode);
        }));

        using var reader = node.Anonymous();
        var listed = (await ReadTopicAsync(reader, "latest")).GetProperty("snapshot").GetProperty("articles").EnumerateArray()
            .ToDictionary(a => a.GetProperty("id").GetString()!, a => a.GetProperty("headline").GetString());
        foreach (var id in ids)
        {
            var article = (await ReadTopicAsync(reader, $"article:{id}")).GetProperty("snapshot").GetProperty("article");
            var published = article.ValueKind == JsonValueKind.Object ? article.GetProperty("headline").GetString() : null;
            Assert.Equal(published, listed.GetValueOrDefault(id));
        }
    }

    // A false alert found out after it expired: it is gone from the snapshot, but resume would replay its
    // text for a day. Retracting it takes the text out; an id never pushed is still 404.
    [Fact]
    public async Task Retract_AlertThatExpired_TakesItsTextOutOfHistory()
    {
        var node = Node();
        using var editor = node.Editor();
        var pushed = await editor.PostJsonAsync("/api/breaking", new { headline = "FALSE-ALERT of a blast", expiresAt = DateTimeOffset.UtcNow.AddSeconds(1) });
        var id = JsonDocument.Parse(await pushed.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString();
        // Removed by the expiry sweep (reads leave it out as soon as its time passes, before the sweep). Waited for
        // in history through the node's bus: a hub connection per poll ran into the per-address connection limit.
        var bus = node.Services.GetRequiredService<EventBus>();
        await Eventually.TrueAsync(
            async () => (await bus.ReadAsync(Topic.Breaking, 0, withSnapshot: false)).Events
                .Any(e => System.Text.Encoding.UTF8.GetString(e.Utf8).Contains("\"type\":\"breaking.expired\"", StringComparison.Ordinal)),
            "the alert to expire");
        Assert.Contains(await ResumeFromZeroAsync(node, "breaking"), e => e.GetRawText().Contains("FALSE-ALERT", StringComparison.Ordinal));

        var retracted = await editor.DeleteAsync($"/api/breaking/{id}");

        retracted.EnsureSuccessStatusCode();
        await AssertGoneEverywhereAsync(node, "FALSE-ALERT", null, ["breaking"]);
        Assert.Equal("breaking.retracted", (await ResumeFromZeroAsync(node, "breaking")).Last().GetProperty("type").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await editor.DeleteAsync("/api/breaking/a-never-pushed")).StatusCode);
    }

    [Fact]
    public async Task Retract_Alert_NoPublicReadNorResumeFromZeroReturnsItsText()
    {
        var node = Node();
        using var editor = node.Editor();
        var kept = await editor.PostJsonAsync("/api/breaking", new { headline = "Kept alert" });
        var pushed = await editor.PostJsonAsync("/api/breaking", new { headline = "WRONG-ALERT about a death" });
        var id = JsonDocument.Parse(await pushed.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString();
        (await editor.PutJsonAsync($"/api/breaking/{id}", new { headline = "WRONG-ALERT updated" })).EnsureSuccessStatusCode();

        (await editor.DeleteAsync($"/api/breaking/{id}")).EnsureSuccessStatusCode();

        await AssertGoneEverywhereAsync(node, "WRONG-ALERT", null, ["breaking"]);
        var resumed = await ResumeFromZeroAsync(node, "breaking");
        Assert.Contains(resumed, e => e.GetProperty("data").GetProperty("headline").GetString() == "Kept alert");
        Assert.Equal(["breaking.published", "breaking.published", "breaking.updated", "breaking.retracted"], resumed.Select(e => e.GetProperty("type").GetString()));
        Assert.Equal([1L, 2, 3, 4], resumed.Select(e => e.GetProperty("seq").GetInt64()));
        Assert.True(resumed[1].GetProperty("data").GetProperty("removed").GetBoolean());
        Assert.Equal(id, resumed[1].GetProperty("data").GetProperty("id").GetString());
        kept.EnsureSuccessStatusCode();

        // Retracted already: 404, and no second retraction for readers (nor a push to every subscriber).
        Assert.Equal(HttpStatusCode.NotFound, (await editor.DeleteAsync($"/api/breaking/{id}")).StatusCode);
        var after = await ResumeFromZeroAsync(node, "breaking");
        Assert.Equal(resumed.Select(e => e.GetRawText()), after.Select(e => e.GetRawText()));
    }

    [Fact]
    public async Task Delete_Entry_NoPublicReadNorResumeFromZeroReturnsItsText()
    {
        var node = Node();
        using var editor = node.Editor();
        await PublishArticleAsync(editor, "blog");
        await PostEntryAsync(editor, "blog", "Fine entry");
        var wrong = await PostEntryAsync(editor, "blog", "LIBEL-TEXT about a person");
        (await editor.PutJsonAsync($"/api/articles/blog/entries/{wrong}", new { text = "LIBEL-TEXT edited", pinned = true })).EnsureSuccessStatusCode();

        (await editor.DeleteAsync($"/api/articles/blog/entries/{wrong}")).EnsureSuccessStatusCode();

        await AssertGoneEverywhereAsync(node, "LIBEL-TEXT", "blog", ["article:blog"]);
        var entries = await WalkEntriesAsync(node.Anonymous(), "blog", limit: 10);
        Assert.Equal(["Fine entry"], entries.Select(e => e.GetProperty("text").GetString()));
    }

    // A CMS that saves an entry again as it is (or retries an edit without an Idempotency-Key) changes nothing:
    // readers get no event for it.
    [Fact]
    public async Task Edit_Entry_ToWhatItAlreadyIs_PublishesNothing()
    {
        var node = Node();
        using var editor = node.Editor();
        await PublishArticleAsync(editor, "unchanged");
        var entry = await PostEntryAsync(editor, "unchanged", "As it was");

        foreach (var body in new object[] { new { pinned = false }, new { text = "As it was" }, new { text = "As it was", kind = "entry", pinned = false } })
        {
            var same = await editor.PutJsonAsync($"/api/articles/unchanged/entries/{entry}", body);
            Assert.Equal(HttpStatusCode.OK, same.StatusCode);
            Assert.Equal(0, JsonDocument.Parse(await same.Content.ReadAsStringAsync()).RootElement.GetProperty("events").GetArrayLength());
        }

        (await editor.PutJsonAsync($"/api/articles/unchanged/entries/{entry}", new { pinned = true })).EnsureSuccessStatusCode();
        var resumed = await ResumeFromZeroAsync(node, "article:unchanged");
        Assert.Equal(["article.published", "entry.posted", "entry.pinned"], resumed.Select(e => e.GetProperty("type").GetString()));
    }

    [Fact]
    public async Task Reads_OfUnknownTopics_WriteNothingAndFirstPublishStillReachesTheSubscriber()
    {
        // No viewer-count interval within the test: its first one adds the node index key, which is not a read's.
        var node = Node(new() { ["RateLimits:PublicRequestsPerMinute"] = "100000", ["Realtime:ViewerCountInterval"] = "00:05:00" });
        var redis = await ConnectionMultiplexer.ConnectAsync(store.Configuration + ",allowAdmin=true");
        await using var _ = redis;
        var server = redis.GetServer(redis.GetEndPoints()[0]);
        using (var editor = node.Editor())
        {
            await PublishArticleAsync(editor, "known");
        }

        var keysBefore = await server.DatabaseSizeAsync();
        using var reader = node.Anonymous();
        var connection = Track(await node.ConnectAsync());
        for (var i = 0; i < 500; i++)
        {
            (await reader.GetAsync($"/api/topics/article:rnd{i}")).EnsureSuccessStatusCode();
            Assert.Equal(HttpStatusCode.NotFound, (await reader.GetAsync($"/api/articles/rnd{i}/entries")).StatusCode);
        }

        for (var i = 0; i < 500; i += 25)
        {
            var requests = Enumerable.Range(i, 25).Select(n => new { topic = $"article:sub{n}" }).ToArray();
            var results = await connection.InvokeAsync<JsonElement[]>("Subscribe", requests);
            Assert.All(results, r => Assert.Equal(0, r.GetProperty("seq").GetInt64()));
            await connection.InvokeAsync("Unsubscribe", requests.Select(r => r.topic).ToArray());
        }

        Assert.Equal(keysBefore, await server.DatabaseSizeAsync());

        var client = Track(await node.ClientAsync());
        var updates = new ChannelReaderOf(await client.SubscribeChannelAsync("article:fresh"));
        using (var editor = node.Editor())
        {
            await PublishArticleAsync(editor, "fresh", headline: "Fresh story");
        }

        var first = Assert.Single(await updates.EventsUntilAsync(1));
        Assert.Equal(1, first.Seq);
        Assert.Equal("article.published", first.Type);
    }

    [Fact]
    public async Task StoredDocuments_WithAFieldFromANewerVersion_StayReadableAndUpdatable()
    {
        var node = Node();
        using var editor = node.Editor();
        await PublishArticleAsync(editor, "rolling", headline: "Before");
        var entryId = await PostEntryAsync(editor, "rolling", "Entry before");

        // What a newer node might have written: the same documents with a field this version does not know.
        var redis = await ConnectionMultiplexer.ConnectAsync(store.Configuration);
        await using var _ = redis;
        var db = redis.GetDatabase();
        var stateKey = $"{_prefix}:{{article:rolling}}:state";
        var itemsKey = $"{_prefix}:{{article:rolling}}:items";
        await db.StringSetAsync(stateKey, ((string)(await db.StringGetAsync(stateKey))!).TrimEnd('}') + ",\"futureField\":{\"x\":1}}");
        await db.HashSetAsync(itemsKey, entryId, ((string)(await db.HashGetAsync(itemsKey, entryId))!).TrimEnd('}') + ",\"futureField\":[1,2]}");

        (await editor.PutJsonAsync("/api/articles/rolling", new { headline = "After", url = "https://news.example/rolling" })).EnsureSuccessStatusCode();
        (await editor.PutJsonAsync($"/api/articles/rolling/entries/{entryId}", new { text = "Entry after" })).EnsureSuccessStatusCode();
        var snapshot = (await ReadTopicAsync(node.Anonymous(), "article:rolling")).GetProperty("snapshot");
        Assert.Equal("After", snapshot.GetProperty("article").GetProperty("headline").GetString());
        Assert.Equal("Entry after", snapshot.GetProperty("entries")[0].GetProperty("text").GetString());
    }

    private async Task AssertGoneEverywhereAsync(LiveNewsNode node, string text, string? articleId, string[] topics)
    {
        using var reader = node.Anonymous();
        var answers = new List<string>();
        foreach (var topic in topics.Concat(["latest", "breaking", "live"]).Distinct())
        {
            answers.Add(await reader.GetStringAsync($"/api/topics/{topic}"));
            answers.AddRange((await ResumeFromZeroAsync(node, topic)).Select(e => e.GetRawText()));
            answers.Add((await SubscribeAsync(node, new { topic })).GetRawText());
        }

        answers.Add(await reader.GetStringAsync("/api/articles?limit=100"));
        if (articleId is not null)
        {
            answers.Add(await (await reader.GetAsync($"/api/articles/{articleId}/entries?limit=100")).Content.ReadAsStringAsync());
            answers.Add(await (await reader.GetAsync($"/api/articles/{articleId}/share-links")).Content.ReadAsStringAsync());
        }

        Assert.All(answers, answer => Assert.DoesNotContain(text, answer, StringComparison.Ordinal));
    }

    private async Task<JsonElement[]> ResumeFromZeroAsync(LiveNewsNode node, string topic)
    {
        var snapshot = await SubscribeAsync(node, new { topic });
        var result = await SubscribeAsync(node, new { topic, epoch = snapshot.GetProperty("epoch").GetString(), seq = 0 });
        Assert.True(result.GetProperty("recovered").GetBoolean() || snapshot.GetProperty("seq").GetInt64() == 0);
        return [.. result.GetProperty("events").EnumerateArray()];
    }

    private async Task<JsonElement> SubscribeAsync(LiveNewsNode node, object request)
    {
        var connection = Track(await node.ConnectAsync());
        var results = await Eventually.WithinAsync(connection.InvokeAsync<JsonElement[]>("Subscribe", new[] { request }), "Subscribe");
        return results[0];
    }

    private static async Task<List<JsonElement>> WalkEntriesAsync(HttpClient reader, string articleId, int limit)
    {
        var all = new List<JsonElement>();
        string? next = null;
        do
        {
            var page = await GetJsonAsync(reader, $"/api/articles/{articleId}/entries?limit={limit}{(next is null ? "" : "&before=" + next)}");
            var entries = page.GetProperty("entries").EnumerateArray().ToArray();
            Assert.InRange(entries.Length, 1, limit);
            all.AddRange(entries);
            next = page.GetProperty("next").GetString();
        }
        while (next is not null);

        return all;
    }

    private static async Task<List<string>> WalkArticlesAsync(HttpClient reader, string query)
    {
        var ids = new List<string>();
        var times = new List<DateTimeOffset>();
        string? next = null;
        do
        {
            var page = await GetJsonAsync(reader, $"/api/articles?{query}{(next is null ? "" : "&before=" + Uri.EscapeDataString(next))}");
            foreach (var article in page.GetProperty("articles").EnumerateArray())
            {
                ids.Add(article.GetProperty("id").GetString()!);
                times.Add(article.GetProperty("publishedAt").GetDateTimeOffset());
            }

            next = page.GetProperty("next").GetString();
        }
        while (next is not null);

        Assert.Equal(times.OrderDescending(), times);
        return ids;
    }

    private static async Task<JsonElement> GetJsonAsync(HttpClient client, string path)
    {
        var response = await client.GetAsync(path);
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
    }

    // Runs a request while `latest` cannot be written (its meta key holds a string), so an article's publish
    // stops between its two topics: the article is out, its listing is not.
    private static async Task<HttpResponseMessage> WhileLatestUnwritableAsync(LiveNewsNode node, Func<Task<HttpResponseMessage>> request)
    {
        var database = await node.Services.GetRequiredService<RedisStore>().GetDatabaseAsync();
        var latestMeta = node.Services.GetRequiredService<RedisNames>().Topic(Topic.Latest).Meta;
        await database.StringSetAsync(latestMeta, "not a hash");
        try
        {
            return await request();
        }
        finally
        {
            await database.KeyDeleteAsync(latestMeta);
        }
    }

    // An article as a publish reads it to list it in `latest`: its state and its position.
    private static Task<(string? State, TopicPosition Position)> ReadArticleAsync(LiveNewsNode node, string id) =>
        node.Services.GetRequiredService<EventBus>().GetStateAtAsync(Topic.Article(id));

    // The listing of that read, made late: what a publish held up between its read and its write would do.
    private static Task<RawJson[]> MirrorLateAsync(LiveNewsNode node, string id, (string? State, TopicPosition Position) read) =>
        ArticlesApi.MirrorAsync(id, read, EventIds.For(new DefaultHttpContext()), node.Services.GetRequiredService<Publisher>());

    private static Task<JsonElement> ReadTopicAsync(HttpClient client, string topic) => GetJsonAsync(client, $"/api/topics/{topic}");

    private static async Task PublishArticleAsync(HttpClient editor, string id, string headline = "A story", string? section = null, DateTimeOffset? publishedAt = null) =>
        (await editor.PutJsonAsync($"/api/articles/{id}", new { headline, url = $"https://news.example/{id}", section, publishedAt })).EnsureSuccessStatusCode();

    private static async Task<string> PostEntryAsync(HttpClient editor, string articleId, string text, bool pinned = false)
    {
        var response = await editor.PostJsonAsync($"/api/articles/{articleId}/entries", new { text, pinned });
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
    }

    private LiveNewsNode Node(Dictionary<string, string?>? settings = null) => Track(new LiveNewsNode(store.Configuration, _prefix, settings));

    private T Track<T>(T disposable)
        where T : IAsyncDisposable => _owned.Add(disposable);
}

[Collection("redis")]
public sealed class RedisContentTests(RedisFixture redis) : ContentTests<RedisFixture>(redis), IClassFixture<RedisFixture>;

[Collection("garnet")]
public sealed class GarnetContentTests(GarnetFixture garnet) : ContentTests<GarnetFixture>(garnet), IClassFixture<GarnetFixture>;
