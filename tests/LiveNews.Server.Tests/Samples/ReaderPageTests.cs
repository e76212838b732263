using LiveNews.Server.Tests.Infrastructure;
using Microsoft.Playwright;

namespace LiveNews.Server.Tests.Samples;

/// <summary>The sample reader page in a real browser, against real server nodes and Redis.</summary>
[Collection("browser")]
public sealed class ReaderPageTests(RedisFixture redis, BrowserFixture browser) : IClassFixture<RedisFixture>, IClassFixture<BrowserFixture>, IAsyncLifetime
{
    private readonly string _prefix = Eventually.Prefix();
    private readonly int _port = RedisServer.FreePort();
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

    [Fact]
    public async Task ArticlePage_ReaderScrolledAway_NewEntriesWaitBehindTheButton()
    {
        using var editor = _node.Editor();
        (await editor.PutJsonAsync("/api/articles/marathon", new { headline = "Marathon live", url = "https://news.example/marathon" })).EnsureSuccessStatusCode();
        for (var i = 1; i <= 25; i++)
        {
            await PostEntryAsync(editor, "marathon", $"Kilometre {i}: the leaders pass the {i}th marker.");
        }

        var page = await OpenAsync("/?article=marathon");
        await Assertions.Expect(page.Locator("#entries li")).ToHaveCountAsync(25);
        await page.EvaluateAsync("() => window.scrollTo(0, document.body.scrollHeight)");
        await PostEntryAsync(editor, "marathon", "Finish: a new course record.");

        await Assertions.Expect(page.Locator("#new-updates")).ToHaveTextAsync("1 new update");
        await Assertions.Expect(page.Locator("#entries li")).ToHaveCountAsync(25);
        await page.ClickAsync("#new-updates");
        await Assertions.Expect(page.Locator("#entries li")).ToHaveCountAsync(26);
        await Assertions.Expect(page.Locator("#entries .entry-text").First).ToHaveTextAsync("Finish: a new course record.");
        await Assertions.Expect(page.Locator("#new-updates")).ToBeHiddenAsync();
    }

    private async Task<IPage> OpenAsync(string path)
    {
        var page = await _context.NewPageAsync();
        await page.GotoAsync(new Uri(_node.BaseAddress, path).ToString());
        await Assertions.Expect(page.Locator("#connection")).ToHaveAttributeAsync("data-state", "live");
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

    private static async Task<string> PostEntryAsync(HttpClient editor, string article, string text)
    {
        var response = await editor.PostJsonAsync($"/api/articles/{article}/entries", new { text });
        response.EnsureSuccessStatusCode();
        return System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
    }

    private LiveNewsNode StartNode() =>
        new(redis.Configuration, _prefix, new() { ["Samples:Path"] = RepositoryPaths.SamplesWeb }, port: _port);
}
