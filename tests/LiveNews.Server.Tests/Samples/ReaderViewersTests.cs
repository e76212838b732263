using LiveNews.Server.Tests.Infrastructure;
using Microsoft.Playwright;

namespace LiveNews.Server.Tests.Samples;

/// <summary>"N watching" on the sample reader page, in a real browser against a real node and Redis.</summary>
[Collection("browser")]
public sealed class ReaderViewersTests(RedisFixture redis, BrowserFixture browser) : IClassFixture<RedisFixture>, IClassFixture<BrowserFixture>, IAsyncLifetime
{
    private readonly string _prefix = Eventually.Prefix();
    private LiveNewsNode _node = null!;
    private IBrowserContext _context = null!;

    public async Task InitializeAsync()
    {
        _node = new LiveNewsNode(redis.Configuration, _prefix, new()
        {
            ["Samples:Path"] = RepositoryPaths.SamplesWeb,
            ["Realtime:ViewerCountInterval"] = "00:00:00.200",
        });
        _context = await browser.Browser.NewContextAsync();
    }

    public async Task DisposeAsync()
    {
        await _context.DisposeAsync();
        await _node.DisposeAsync();
    }

    [Fact]
    public async Task ReaderPage_ReadersComeAndGo_ShowsHowManyWatchBesideLiveAndOnTheLiveBlog()
    {
        using (var editor = _node.Editor())
        {
            (await editor.PutJsonAsync("/api/live", new { title = "Count night", streamUrl = "https://video.example/count.m3u8" })).EnsureSuccessStatusCode();
            (await editor.PutJsonAsync("/api/articles/count-night", new { headline = "Count night: live", url = "https://news.example/count" })).EnsureSuccessStatusCode();
        }

        var first = await OpenAsync("/");
        await Assertions.Expect(first.Locator("#live-viewers")).ToHaveTextAsync("1 watching");
        var second = await OpenAsync("/?article=count-night");
        await Assertions.Expect(first.Locator("#live-viewers")).ToHaveTextAsync("2 watching");
        await Assertions.Expect(second.Locator("#article-viewers")).ToHaveTextAsync("1 watching");
        await Assertions.Expect(first.Locator("#live-viewers")).ToBeVisibleAsync();

        await second.CloseAsync();
        await Assertions.Expect(first.Locator("#live-viewers")).ToHaveTextAsync("1 watching");
        Assert.Equal(0, await first.Locator("#live-viewers *").CountAsync());

        // Once the stream ends, the count goes with the badge.
        using (var editor = _node.Editor())
        {
            (await editor.DeleteAsync("/api/live")).EnsureSuccessStatusCode();
        }

        await Assertions.Expect(first.Locator("#live-badge")).ToBeHiddenAsync();
        await Assertions.Expect(first.Locator("#live-viewers")).ToBeHiddenAsync();
    }

    private async Task<IPage> OpenAsync(string path)
    {
        var page = await _context.NewPageAsync();
        await page.GotoAsync(new Uri(_node.BaseAddress, path).ToString());
        await Assertions.Expect(page.Locator("#connection")).ToHaveAttributeAsync("data-state", "live");
        return page;
    }
}
