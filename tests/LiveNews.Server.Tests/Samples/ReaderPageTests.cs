using System.Globalization;
using LiveNews.Server.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;
using Microsoft.Playwright;

namespace LiveNews.Server.Tests.Samples;

/// <summary>The sample reader page in a real browser, against real server nodes and Redis.</summary>
[Collection("browser")]
public sealed class ReaderPageTests(RedisFixture redis, BrowserFixture browser) : IClassFixture<RedisFixture>, IClassFixture<BrowserFixture>, IAsyncLifetime
{
    private readonly string _prefix = Eventually.Prefix();
    private readonly int _port = Ports.Free();
    private LiveNewsNode _node = null!;
    private IBrowserContext _context = null!;

    public async Task InitializeAsync()
    {
        _node = StartNode();
        _context = await browser.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1200, Height = 800 } });
    }

    public async Task DisposeAsync()
    {
        await _context.DisposeAsync();
        await _node.DisposeAsync();
    }

    [Fact]
    public async Task EditorPush_ShowsBannerAndLightsLiveBadge_ThenTheyGoAway()
    {
        var page = await OpenAsync("/");
        using var editor = _node.Editor();

        var pushed = await editor.PostJsonAsync("/api/breaking", new { headline = "<b>Bridge</b> closed after collision", url = "https://news.example/bridge" });
        await Assertions.Expect(page.Locator("#breaking")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#breaking-link")).ToHaveTextAsync("<b>Bridge</b> closed after collision");

        (await editor.PutJsonAsync("/api/live", new { title = "Mayor speaks", streamUrl = "https://video.example/mayor.m3u8" })).EnsureSuccessStatusCode();
        await Assertions.Expect(page.Locator("#live-badge")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#live-badge")).ToHaveAttributeAsync("href", "https://video.example/mayor.m3u8");
        (await editor.PutJsonAsync("/api/articles/bridge-closed", new { headline = "Bridge closed after collision", url = "https://news.example/bridge", section = "City" })).EnsureSuccessStatusCode();
        await Assertions.Expect(page.Locator("#latest li")).ToHaveCountAsync(1);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(RepositoryPaths.Screenshots, "reader-front-page.png") });

        var alertId = System.Text.Json.JsonDocument.Parse(await pushed.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString();
        (await editor.DeleteAsync($"/api/breaking/{alertId}")).EnsureSuccessStatusCode();
        (await editor.DeleteAsync("/api/live")).EnsureSuccessStatusCode();
        await Assertions.Expect(page.Locator("#breaking")).ToBeHiddenAsync();
        await Assertions.Expect(page.Locator("#live-badge")).ToBeHiddenAsync();
    }

    [Fact]
    public async Task ArticlePage_ServerRestarted_KeepsEveryEntryWithoutDuplicates()
    {
        using (var editor = _node.Editor())
        {
            (await editor.PutJsonAsync("/api/articles/storm-live", new { headline = "Storm: live updates", summary = "Follow the storm as it crosses the coast.", url = "https://news.example/storm" })).EnsureSuccessStatusCode();
        }

        var page = await OpenAsync("/?article=storm-live");
        await Assertions.Expect(page.Locator("#article-headline")).ToHaveTextAsync("Storm: live updates");
        await Assertions.Expect(page.Locator("#share-links a")).ToHaveCountAsync(8);
        await PostEntriesAsync(1, 5);
        await Assertions.Expect(page.Locator("#entries li")).ToHaveCountAsync(5);

        await _node.DisposeAsync();
        await Assertions.Expect(page.Locator("#connection")).ToHaveAttributeAsync("data-state", "reconnecting");
        _node = StartNode();
        await PostEntriesAsync(6, 10);

        await Assertions.Expect(page.Locator("#entries li")).ToHaveCountAsync(10, new() { Timeout = 30_000 });
        await Assertions.Expect(page.Locator("#connection")).ToHaveAttributeAsync("data-state", "live");
        var texts = await page.Locator("#entries .entry-text").AllTextContentsAsync();
        Assert.Equal(Enumerable.Range(1, 10).Reverse().Select(i => $"Update {i}"), texts);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(RepositoryPaths.Screenshots, "reader-article.png"), FullPage = true });
    }

    [Fact]
    public async Task ArticlePage_EntriesEditedPinnedDeleted_AppliedInPlaceAsText()
    {
        using var editor = _node.Editor();
        (await editor.PutJsonAsync("/api/articles/vote", new { headline = "Vote count", url = "https://news.example/vote" })).EnsureSuccessStatusCode();
        var page = await OpenAsync("/?article=vote");
        var first = await PostEntryAsync(editor, "vote", "<img src=x onerror=alert(1)> First count");
        var second = await PostEntryAsync(editor, "vote", "Second count");
        await Assertions.Expect(page.Locator("#entries li")).ToHaveCountAsync(2);

        (await editor.PutJsonAsync($"/api/articles/vote/entries/{first}", new { pinned = true })).EnsureSuccessStatusCode();
        await Assertions.Expect(page.Locator("#entries li").First).ToHaveAttributeAsync("data-entry-id", first);
        (await editor.PutJsonAsync($"/api/articles/vote/entries/{second}", new { text = "Second count (revised)" })).EnsureSuccessStatusCode();
        await Assertions.Expect(page.Locator($"[data-entry-id='{second}'] .entry-text")).ToHaveTextAsync("Second count (revised)");
        (await editor.DeleteAsync($"/api/articles/vote/entries/{second}")).EnsureSuccessStatusCode();
        await Assertions.Expect(page.Locator("#entries li")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("#entries img")).ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator("#entries .entry-text").First).ToHaveTextAsync("<img src=x onerror=alert(1)> First count");
    }

    // Takedowns are total: an article unpublished while its page is open leaves nothing of it there, entries held
    // behind the button and share links included, nor after a reload from the client's cached state.
    [Fact]
    public async Task ArticlePage_ArticleUnpublishedWhileOpen_NothingOfItStays_AlsoAfterAReload()
    {
        using var editor = _node.Editor();
        var page = await OpenScrolledAwayAsync(editor, "pulled", "PULLED-HEADLINE", i => $"PULLED-ENTRY {i}");
        await PostEntryAsync(editor, "pulled", "PULLED-ENTRY held");
        await Assertions.Expect(page.Locator("#new-updates")).ToHaveTextAsync("1 new update");

        (await editor.DeleteAsync("/api/articles/pulled")).EnsureSuccessStatusCode();

        await Assertions.Expect(page.Locator("#article-gone")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#entries li")).ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator("#new-updates")).ToBeHiddenAsync();
        await Assertions.Expect(page.Locator("#share-links a")).ToHaveCountAsync(0);
        Assert.DoesNotContain("PULLED-", await page.Locator("body").InnerTextAsync(), StringComparison.Ordinal);

        await page.ReloadAsync();
        await Assertions.Expect(page.Locator("#connection")).ToHaveAttributeAsync("data-state", "live");
        await Assertions.Expect(page.Locator("#article-gone")).ToBeVisibleAsync();
        Assert.DoesNotContain("PULLED-", await page.Locator("body").InnerTextAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ArticlePage_ReaderScrolledAway_NewEntriesWaitBehindTheButton()
    {
        using var editor = _node.Editor();
        var page = await OpenScrolledAwayAsync(editor, "marathon", "Marathon live", i => $"Kilometre {i}: the leaders pass the {i}th marker.");
        await PostEntryAsync(editor, "marathon", "Finish: a new course record.");

        await Assertions.Expect(page.Locator("#new-updates")).ToHaveTextAsync("1 new update");
        await Assertions.Expect(page.Locator("#entries li")).ToHaveCountAsync(25);
        await page.ClickAsync("#new-updates");
        await Assertions.Expect(page.Locator("#entries li")).ToHaveCountAsync(26);
        await Assertions.Expect(page.Locator("#entries .entry-text").First).ToHaveTextAsync("Finish: a new course record.");
        await Assertions.Expect(page.Locator("#new-updates")).ToBeHiddenAsync();
    }

    [Fact]
    public async Task ArticlePage_BadArticleId_SaysItCannotBeShownWhileLiveBreakingAndLatestWork()
    {
        var page = await OpenAsync("/?article=Bad_Id");
        using var editor = _node.Editor();

        await Assertions.Expect(page.Locator("#article-error")).ToHaveTextAsync("This article cannot be shown.");
        (await editor.PostJsonAsync("/api/breaking", new { headline = "Storm warning", url = "https://news.example/storm" })).EnsureSuccessStatusCode();
        (await editor.PutJsonAsync("/api/live", new { title = "Storm watch", streamUrl = "https://video.example/storm.m3u8" })).EnsureSuccessStatusCode();
        (await editor.PutJsonAsync("/api/articles/storm-warning", new { headline = "Storm warning for the coast", url = "https://news.example/storm" })).EnsureSuccessStatusCode();

        await Assertions.Expect(page.Locator("#breaking-link")).ToHaveTextAsync("Storm warning");
        await Assertions.Expect(page.Locator("#live-badge")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#latest li")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("#connection")).ToHaveAttributeAsync("data-state", "live");
        await Assertions.Expect(page.Locator("#entries li")).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task ArticlePage_ShowEarlierUpdates_PagesBackToTheFirstEntryEachShownOnceInOrder()
    {
        int[] pinned = [7, 64, 118];
        using (var editor = _node.Editor())
        {
            (await editor.PutJsonAsync("/api/articles/long-blog", new { headline = "Election night, as it happened", url = "https://news.example/election" })).EnsureSuccessStatusCode();
            for (var i = 1; i <= 130; i++)
            {
                await PostEntryAsync(editor, "long-blog", $"Entry {i}", pinned.Contains(i));
            }
        }

        var page = await OpenAsync("/?article=long-blog");
        await Assertions.Expect(page.Locator("#entries li")).ToHaveCountAsync(53); // the pinned, then the newest 50
        var clicks = await ShowEveryEarlierUpdateAsync(page);

        Assert.Equal(2, clicks);
        var expected = pinned.Reverse().Concat(Enumerable.Range(1, 130).Reverse().Except(pinned)).Select(i => $"Entry {i}");
        Assert.Equal(expected, await page.Locator("#entries .entry-text").AllTextContentsAsync());
        var ids = await page.Locator("#entries li").EvaluateAllAsync<string[]>("items => items.map(li => li.dataset.entryId)");
        Assert.Equal(130, ids.Distinct().Count());

        await page.EvaluateAsync("() => window.scrollTo(0, 0)"); // at the top, new entries show at once
        using (var editor = _node.Editor())
        {
            await PostEntryAsync(editor, "long-blog", "Entry 131");
        }

        await Assertions.Expect(page.Locator("#entries li")).ToHaveCountAsync(131);
        await Assertions.Expect(page.Locator("#entries .entry-text").Nth(3)).ToHaveTextAsync("Entry 131");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(RepositoryPaths.Screenshots, "reader-earlier-updates.png") });
    }

    [Fact]
    public async Task ArticlePage_EntriesPostedInTheSameMillisecond_ShownInCreationOrderLiveReloadedAndPaged()
    {
        // Frozen time: every entry gets the same postedAt, so only the server's order can place them.
        await _node.DisposeAsync();
        _node = StartNode(new FakeTimeProvider(DateTimeOffset.Parse("2026-11-29T08:15:02.123Z", CultureInfo.InvariantCulture)));
        using var editor = _node.Editor();
        (await editor.PutJsonAsync("/api/articles/same-ms", new { headline = "Results, all at once", url = "https://news.example/results" })).EnsureSuccessStatusCode();
        for (var i = 1; i <= 55; i++)
        {
            await PostEntryAsync(editor, "same-ms", $"Result {i}");
        }

        var page = await OpenAsync("/?article=same-ms");
        await Assertions.Expect(page.Locator("#entries li")).ToHaveCountAsync(50);
        await ShowEveryEarlierUpdateAsync(page);
        await page.EvaluateAsync("() => window.scrollTo(0, 0)"); // at the top, new entries show at once
        for (var i = 56; i <= 60; i++)
        {
            await PostEntryAsync(editor, "same-ms", $"Result {i}");
        }

        await Assertions.Expect(page.Locator("#entries li")).ToHaveCountAsync(60);
        var newestFirst = Enumerable.Range(1, 60).Reverse().Select(i => $"Result {i}").ToArray();
        Assert.Equal(newestFirst, await page.Locator("#entries .entry-text").AllTextContentsAsync());

        // A reload draws the tab's cached snapshot (the newest 50 when the page opened) and the 5 events since.
        await page.ReloadAsync();
        await Assertions.Expect(page.Locator("#connection")).ToHaveAttributeAsync("data-state", "live");
        await Assertions.Expect(page.Locator("#entries li")).ToHaveCountAsync(55);
        Assert.Equal(newestFirst[..55], await page.Locator("#entries .entry-text").AllTextContentsAsync());
    }

    [Fact]
    public async Task AllArticles_MoreArticles_PagesThroughEveryArticleNewestFirstAndFollowsPublishing()
    {
        using var editor = _node.Editor();
        var start = DateTimeOffset.Parse("2026-11-01T00:00:00Z", CultureInfo.InvariantCulture);
        for (var i = 1; i <= 60; i++)
        {
            (await editor.PutJsonAsync($"/api/articles/story-{i}", new { headline = $"Story {i}", url = $"https://news.example/{i}", section = i % 3 == 0 ? "Sport" : "World", publishedAt = start.AddMinutes(i) })).EnsureSuccessStatusCode();
        }

        var page = await OpenAsync("/?view=all");
        await Assertions.Expect(page.Locator("#all-list li")).ToHaveCountAsync(25);
        await MoreArticlesUntilTheEndAsync(page);

        Assert.Equal(Enumerable.Range(1, 60).Reverse().Select(i => $"Story {i}"), await page.Locator("#all-list a").AllTextContentsAsync());
        (await editor.PutJsonAsync("/api/articles/story-61", new { headline = "Story 61", url = "https://news.example/61", section = "World" })).EnsureSuccessStatusCode();
        (await editor.DeleteAsync("/api/articles/story-30")).EnsureSuccessStatusCode();
        await Assertions.Expect(page.Locator("#all-list a").First).ToHaveTextAsync("Story 61");
        await Assertions.Expect(page.Locator("#all-list li[data-article-id='story-30']")).ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator("#all-list li")).ToHaveCountAsync(60);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(RepositoryPaths.Screenshots, "reader-all-articles.png") });

        await page.FillAsync("#all-section", "Sport");
        await page.ClickAsync(".filter button");
        await Assertions.Expect(page.Locator("#all-heading")).ToHaveTextAsync("All Articles · Sport");
        await Assertions.Expect(page.Locator("#connection")).ToHaveAttributeAsync("data-state", "live");
        await MoreArticlesUntilTheEndAsync(page);
        var sport = Enumerable.Range(1, 60).Reverse().Where(i => i % 3 == 0 && i != 30).Select(i => $"Story {i}");
        Assert.Equal(sport, await page.Locator("#all-list a").AllTextContentsAsync());
    }

    /// <summary>Clicks "Show earlier updates" until it goes away; each click waits for its page.</summary>
    private static Task<int> ShowEveryEarlierUpdateAsync(IPage page) =>
        ClickUntilHiddenAsync(page, "#earlier-updates", "#entries li");

    private static Task<int> MoreArticlesUntilTheEndAsync(IPage page) =>
        ClickUntilHiddenAsync(page, "#all-more", "#all-list li");

    private static async Task<int> ClickUntilHiddenAsync(IPage page, string button, string items)
    {
        // The first page (or the snapshot) decides whether the button shows at all.
        await page.WaitForFunctionAsync("([items]) => document.querySelectorAll(items).length > 0", new[] { items });
        var clicks = 0;
        while (await page.Locator(button).IsVisibleAsync())
        {
            Assert.True(++clicks <= 20, $"{button} still shown after 20 clicks.");
            var count = await page.Locator(items).CountAsync();
            await page.ClickAsync(button);
            await page.WaitForFunctionAsync(
                "([button, items, count]) => document.querySelectorAll(items).length > count || document.querySelector(button).hidden",
                new object[] { button, items, count });
        }

        return clicks;
    }

    private async Task<IPage> OpenAsync(string path)
    {
        var page = await _context.NewPageAsync();
        await page.GotoAsync(new Uri(_node.BaseAddress, path).ToString());
        await Assertions.Expect(page.Locator("#connection")).ToHaveAttributeAsync("data-state", "live");
        return page;
    }

    // An article with 25 entries, open in a page scrolled to its end: a new entry waits behind the button.
    private async Task<IPage> OpenScrolledAwayAsync(HttpClient editor, string article, string headline, Func<int, string> text)
    {
        (await editor.PutJsonAsync($"/api/articles/{article}", new { headline, url = $"https://news.example/{article}" })).EnsureSuccessStatusCode();
        for (var i = 1; i <= 25; i++)
        {
            await PostEntryAsync(editor, article, text(i));
        }

        var page = await OpenAsync($"/?article={article}");
        await Assertions.Expect(page.Locator("#entries li")).ToHaveCountAsync(25);
        await page.EvaluateAsync("() => window.scrollTo(0, document.body.scrollHeight)");
        return page;
    }

    private async Task PostEntriesAsync(int from, int to)
    {
        using var editor = _node.Editor();
        for (var i = from; i <= to; i++)
        {
            await PostEntryAsync(editor, "storm-live", $"Update {i}");
        }
    }

    private static async Task<string> PostEntryAsync(HttpClient editor, string article, string text, bool pinned = false)
    {
        var response = await editor.PostJsonAsync($"/api/articles/{article}/entries", new { text, pinned });
        response.EnsureSuccessStatusCode();
        return System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
    }

    private LiveNewsNode StartNode(TimeProvider? time = null) =>
        new(redis.Configuration, _prefix, new() { ["Samples:Path"] = RepositoryPaths.SamplesWeb }, time, port: _port);
}
