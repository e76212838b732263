using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using LiveNews.Server.Tests.Infrastructure;
using Microsoft.Playwright;

namespace LiveNews.Server.Tests.Pages;

/// <summary><c>GET /articles/{id}</c>: complete without JavaScript, with schema.org markup crawlers read, and live with it.</summary>
[Collection("browser")]
public sealed partial class ArticlePagesTests(RedisFixture redis, BrowserFixture browser) : IClassFixture<RedisFixture>, IClassFixture<BrowserFixture>, IAsyncLifetime
{
    private const string BaseUrl = "https://live.news.example";
    private readonly string _prefix = Eventually.Prefix();
    private LiveNewsNode _node = null!;

    public Task InitializeAsync()
    {
        _node = new LiveNewsNode(redis.Configuration, _prefix, new() { ["Feeds:BaseUrl"] = BaseUrl });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public async Task Page_WithoutJavaScript_FirstPageOfEntriesAndValidLiveBlogPosting()
    {
        using var editor = _node.Editor();
        await PublishAsync(editor, "storm-live", new { startedAt = "2026-11-29T08:00:00Z" });
        var ids = new List<string>();
        for (var i = 1; i <= 24; i++)
        {
            ids.Add(await PostAsync(editor, "storm-live", $"Update {i}: wind <strong> & rain", pinned: i == 2));
        }

        (await editor.DeleteAsync($"/api/articles/storm-live/entries/{ids[23]}")).EnsureSuccessStatusCode();

        using var http = _node.Anonymous();
        using var response = await http.GetAsync("/articles/storm-live");
        response.EnsureSuccessStatusCode();
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.NotNull(response.Headers.ETag);
        Assert.Equal("public, no-cache", response.Headers.CacheControl?.ToString());
        var html = await response.Content.ReadAsStringAsync();

        // The pinned entry first, then the newest 20 others (the deleted one gone), then the link to older ones.
        var shown = EntryIds().Matches(html).Select(m => m.Groups[1].Value).ToList();
        var expected = new[] { ids[1] }.Concat(Enumerable.Range(0, 23).Reverse().Where(i => i != 1).Take(20).Select(i => ids[i])).ToList();
        Assert.Equal(expected, shown);
        Assert.DoesNotContain("Update 24", html);
        Assert.Contains("Update 23: wind &lt;strong&gt; &amp; rain", html);
        var older = OlderLink().Match(html);
        Assert.True(older.Success, "a link to the next page");
        var next = await http.GetStringAsync(WebUtility.HtmlDecode(older.Groups[1].Value));
        Assert.Equal([ids[2], ids[1], ids[0]], EntryIds().Matches(next).Select(m => m.Groups[1].Value).ToList());

        var data = StructuredData(html);
        Assert.Equal("https://schema.org", data.GetProperty("@context").GetString());
        Assert.Equal("LiveBlogPosting", data.GetProperty("@type").GetString());
        Assert.Equal("Storm: live", data.GetProperty("headline").GetString());
        Assert.Equal($"{BaseUrl}/articles/storm-live", data.GetProperty("url").GetString());
        Assert.Equal("2026-11-29T08:00:00.000Z", data.GetProperty("coverageStartTime").GetString());
        Assert.False(data.TryGetProperty("coverageEndTime", out _));
        foreach (var field in new[] { "datePublished", "dateModified" })
        {
            Assert.True(DateTimeOffset.TryParse(data.GetProperty(field).GetString(), out _), field);
        }

        var updates = data.GetProperty("liveBlogUpdate").EnumerateArray().ToList();
        Assert.Equal(expected.Count, updates.Count);
        foreach (var (update, id) in updates.Zip(expected))
        {
            Assert.Equal("BlogPosting", update.GetProperty("@type").GetString());
            Assert.False(string.IsNullOrEmpty(update.GetProperty("headline").GetString()));
            Assert.StartsWith("Update", update.GetProperty("articleBody").GetString());
            Assert.True(DateTimeOffset.TryParse(update.GetProperty("datePublished").GetString(), out _));
            Assert.EndsWith($"#entry-{id}", update.GetProperty("url").GetString());
        }

        // Ending the coverage puts its end in the markup.
        await PublishAsync(editor, "storm-live", new { startedAt = "2026-11-29T08:00:00Z", endedAt = "2026-11-29T20:00:00Z" });
        var ended = StructuredData(await http.GetStringAsync("/articles/storm-live"));
        Assert.Equal("2026-11-29T20:00:00.000Z", ended.GetProperty("coverageEndTime").GetString());
    }

    [Fact]
    public async Task Page_NoLiveCoverage_NewsArticle()
    {
        using var editor = _node.Editor();
        await PublishAsync(editor, "council-vote", null);
        using var http = _node.Anonymous();
        var data = StructuredData(await http.GetStringAsync("/articles/council-vote"));
        Assert.Equal("NewsArticle", data.GetProperty("@type").GetString());
        Assert.False(data.TryGetProperty("liveBlogUpdate", out _));
    }

    [Fact]
    public async Task Page_HostileText_EscapedInHtmlAndJsonLd()
    {
        using var editor = _node.Editor();
        (await editor.PutJsonAsync("/api/articles/hostile", new
        {
            headline = "</script><script>alert(1)</script>",
            url = "https://news.example/hostile",
            liveCoverage = new { startedAt = "2026-11-29T08:00:00Z" },
        })).EnsureSuccessStatusCode();
        await PostAsync(editor, "hostile", "<img src=x onerror=alert(2)>", pinned: false);
        using var http = _node.Anonymous();
        var html = await http.GetStringAsync("/articles/hostile");
        Assert.DoesNotContain("<script>alert", html);
        Assert.DoesNotContain("<img", html);
        // Parsing the script's text up to the first </script> proves no value closed the element early.
        Assert.Equal("</script><script>alert(1)</script>", StructuredData(html).GetProperty("headline").GetString());
    }

    [Fact]
    public async Task Page_UnpublishedOrUnknown_NotFound_AndUnchangedIsNotModified()
    {
        using var editor = _node.Editor();
        using var http = _node.Anonymous();
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/articles/never-published")).StatusCode);

        await PublishAsync(editor, "pulled", null);
        using var first = await http.GetAsync("/articles/pulled");
        using var again = new HttpRequestMessage(HttpMethod.Get, "/articles/pulled");
        again.Headers.IfNoneMatch.Add(first.Headers.ETag!);
        Assert.Equal(HttpStatusCode.NotModified, (await http.SendAsync(again)).StatusCode);

        (await editor.DeleteAsync("/api/articles/pulled")).EnsureSuccessStatusCode();
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/articles/pulled")).StatusCode);

        // Revalidated once pulled, with the tag from before or with "any copy": gone, and nothing to cache.
        foreach (var tag in new[] { first.Headers.ETag!.Tag, "*" })
        {
            using var stale = new HttpRequestMessage(HttpMethod.Get, "/articles/pulled");
            stale.Headers.TryAddWithoutValidation("If-None-Match", tag);
            using var answer = await http.SendAsync(stale);
            Assert.Equal(HttpStatusCode.NotFound, answer.StatusCode);
            Assert.Null(answer.Headers.ETag);
            Assert.Null(answer.Headers.CacheControl);
        }
    }

    [Fact]
    public async Task PublishArticle_CoverageEndsBeforeItStarts_ProblemNamesTheField()
    {
        using var editor = _node.Editor();
        using var response = await editor.PutJsonAsync("/api/articles/backwards", new
        {
            headline = "Backwards",
            url = "https://news.example/backwards",
            liveCoverage = new { startedAt = "2026-11-29T08:00:00Z", endedAt = "2026-11-29T07:00:00Z" },
        });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("errors").TryGetProperty("liveCoverage.endedAt", out _));
        using var http = _node.Anonymous();
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/articles/backwards")).StatusCode);
    }

    [Fact]
    public async Task Page_InChromium_UpdatesLiveOnceTheScriptRuns()
    {
        using var editor = _node.Editor();
        await PublishAsync(editor, "live-page", new { startedAt = "2026-11-29T08:00:00Z" });
        var first = await PostAsync(editor, "live-page", "First update", pinned: false);

        await using var context = await browser.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync(new Uri(_node.BaseAddress, "/articles/live-page").ToString());
        await Assertions.Expect(page.Locator($"#entry-{first}")).ToContainTextAsync("First update");
        await Assertions.Expect(page.Locator("html")).ToHaveAttributeAsync("data-live", "true");

        var second = await PostAsync(editor, "live-page", "Second <b>update</b>", pinned: false);
        await Assertions.Expect(page.Locator($"#entry-{second}")).ToContainTextAsync("Second <b>update</b>");
        await Assertions.Expect(page.Locator("#entries li").First).ToHaveIdAsync($"entry-{second}");

        (await editor.DeleteAsync($"/api/articles/live-page/entries/{first}")).EnsureSuccessStatusCode();
        await Assertions.Expect(page.Locator($"#entry-{first}")).ToHaveCountAsync(0);
        Assert.Equal(0, await page.Locator("#entries b").CountAsync());
    }

    [Fact]
    public async Task Page_EntryPostedBetweenRenderAndSubscribe_AppearsFromTheSubscriptionsSnapshot()
    {
        using var editor = _node.Editor();
        await PublishAsync(editor, "race-page", new { startedAt = "2026-11-29T08:00:00Z" });
        await PostAsync(editor, "race-page", "Rendered", pinned: false);

        // The page's HTML is made and in the browser; its client library is held until an entry was posted.
        await using var context = await browser.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        string missed;
        await using (await OpenHoldingClientLibraryAsync(page, new Uri(_node.BaseAddress, "/articles/race-page")))
        {
            missed = await PostAsync(editor, "race-page", "Posted while the page loaded", pinned: false);
        }

        await Assertions.Expect(page.Locator($"#entry-{missed}")).ToContainTextAsync("Posted while the page loaded");
        await Assertions.Expect(page.Locator("#entries li").First).ToHaveIdAsync($"entry-{missed}");
    }

    [Fact]
    public async Task Page_EntryDeletedBetweenRenderAndSubscribe_IsTakenAway_OlderEntriesKept()
    {
        // A snapshot of the newest two entries: the page shows older ones the subscription never lists.
        await using var node = new LiveNewsNode(redis.Configuration, Eventually.Prefix(), new() { ["Newsroom:SnapshotEntries"] = "2" });
        using var editor = node.Editor();
        await PublishAsync(editor, "race-delete", new { startedAt = "2026-11-29T08:00:00Z" });
        var older = await PostAsync(editor, "race-delete", "Older than the snapshot", pinned: false);
        await PostAsync(editor, "race-delete", "In the snapshot", pinned: false);
        var kept = await PostAsync(editor, "race-delete", "Kept", pinned: false);
        var deleted = await PostAsync(editor, "race-delete", "Deleted while the page loaded", pinned: false);
        var deletedPinned = await PostAsync(editor, "race-delete", "Pinned, deleted while the page loaded", pinned: true);

        await using var context = await browser.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        await using (await OpenHoldingClientLibraryAsync(page, new Uri(node.BaseAddress, "/articles/race-delete")))
        {
            await Assertions.Expect(page.Locator($"#entry-{deleted}")).ToHaveCountAsync(1);
            foreach (var id in new[] { deleted, deletedPinned })
            {
                (await editor.DeleteAsync($"/api/articles/race-delete/entries/{id}")).EnsureSuccessStatusCode();
            }
        }

        await Assertions.Expect(page.Locator($"#entry-{deleted}")).ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator($"#entry-{deletedPinned}")).ToHaveCountAsync(0);
        // Nor in the page's structured data, made with the page.
        Assert.DoesNotContain("deleted while the page loaded", await page.ContentAsync(), StringComparison.OrdinalIgnoreCase);
        await Assertions.Expect(page.Locator($"#entry-{kept}")).ToContainTextAsync("Kept");
        await Assertions.Expect(page.Locator($"#entry-{older}")).ToContainTextAsync("Older than the snapshot");
        await Assertions.Expect(page.Locator("#entries li")).ToHaveCountAsync(3);
    }

    // Unpublished after the page was made, before its script subscribed: the subscription's snapshot has no
    // article, and the page keeps nothing of it.
    [Fact]
    public async Task Page_ArticleUnpublishedBetweenRenderAndSubscribe_NothingOfItStays()
    {
        using var editor = _node.Editor();
        await PublishAsync(editor, "race-pulled", new { startedAt = "2026-11-29T08:00:00Z" });
        await PostAsync(editor, "race-pulled", "PULLED-ENTRY", pinned: false);
        await PostAsync(editor, "race-pulled", "PULLED-PINNED", pinned: true);

        await using var context = await browser.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        await using (await OpenHoldingClientLibraryAsync(page, new Uri(_node.BaseAddress, "/articles/race-pulled")))
        {
            await Assertions.Expect(page.Locator("#entries li")).ToHaveCountAsync(1);
            (await editor.DeleteAsync("/api/articles/race-pulled")).EnsureSuccessStatusCode();
        }

        await Assertions.Expect(page.Locator("#article")).ToHaveTextAsync("This article is no longer available.");
        // Nowhere in the document: not in its title, description or structured data either.
        var document = await page.ContentAsync();
        Assert.DoesNotContain("PULLED-", document, StringComparison.Ordinal);
        Assert.DoesNotContain("Storm: live", document, StringComparison.Ordinal);
    }

    // The page shows the newest 20 entries; the subscription's snapshot holds up to 50. Those beyond the page
    // stay on the next page ("Older updates"), and what comes live goes on top: the order is the server's.
    [Fact]
    public async Task Page_MoreEntriesThanAPage_KeepsTheServersOrderOnceTheScriptRuns()
    {
        using var editor = _node.Editor();
        await PublishAsync(editor, "long-page", new { startedAt = "2026-11-29T08:00:00Z" });
        var ids = new List<string>();
        for (var i = 1; i <= 25; i++)
        {
            ids.Add(await PostAsync(editor, "long-page", $"Update {i}", pinned: false));
        }

        await using var context = await browser.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync(new Uri(_node.BaseAddress, "/articles/long-page").ToString());
        await Assertions.Expect(page.Locator("html")).ToHaveAttributeAsync("data-live", "true");
        var live = await PostAsync(editor, "long-page", "Update 26", pinned: false);
        await Assertions.Expect(page.Locator($"#entry-{live}")).ToHaveCountAsync(1);

        var shown = await page.Locator("#entries li").EvaluateAllAsync<string[]>("items => items.map(item => item.id)");
        Assert.Equal([$"entry-{live}", .. Enumerable.Range(5, 20).Reverse().Select(i => $"entry-{ids[i]}")], shown);
    }

    /// <summary>
    /// Opens the page with its client library held back: once this returns, the server's HTML is in the browser
    /// and nothing is subscribed; disposing lets the library load and waits for the page.
    /// </summary>
    private static async Task<IAsyncDisposable> OpenHoldingClientLibraryAsync(IPage page, Uri url)
    {
        var requested = new TaskCompletionSource();
        var release = new TaskCompletionSource();
        await page.RouteAsync("**/livenews.js", async route =>
        {
            requested.TrySetResult();
            await release.Task;
            await route.ContinueAsync();
        });
        var navigation = page.GotoAsync(url.ToString());
        await requested.Task.WaitAsync(TimeSpan.FromSeconds(20));
        return new Released(async () =>
        {
            release.SetResult();
            await navigation;
        });
    }

    private sealed class Released(Func<Task> release) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await release();
    }

    private static JsonElement StructuredData(string html)
    {
        var match = JsonLd().Match(html);
        Assert.True(match.Success, "a JSON-LD script");
        return JsonDocument.Parse(match.Groups[1].Value).RootElement;
    }

    private static async Task PublishAsync(HttpClient editor, string id, object? liveCoverage) =>
        (await editor.PutJsonAsync($"/api/articles/{id}", liveCoverage is null
            ? new { headline = "Storm: live", url = $"https://news.example/{id}" }
            : (object)new { headline = "Storm: live", url = $"https://news.example/{id}", liveCoverage })).EnsureSuccessStatusCode();

    private static async Task<string> PostAsync(HttpClient editor, string article, string text, bool pinned)
    {
        using var response = await editor.PostJsonAsync($"/api/articles/{article}/entries", new { text, pinned }, Guid.NewGuid().ToString());
        response.EnsureSuccessStatusCode();
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
    }

    [GeneratedRegex("<li id=\"entry-([a-z0-9-]+)\"")]
    private static partial Regex EntryIds();

    [GeneratedRegex("<a id=\"older\" rel=\"next\" href=\"([^\"]+)\"")]
    private static partial Regex OlderLink();

    [GeneratedRegex("<script type=\"application/ld\\+json\">(.*?)</script>", RegexOptions.Singleline)]
    private static partial Regex JsonLd();
}
