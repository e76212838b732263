using LiveNews.Server.Tests.Infrastructure;
using LiveNews.Server.Tests.Social;
using Microsoft.Playwright;

namespace LiveNews.Server.Tests.Samples;

/// <summary>The sample editor console driving a reader page open beside it, in a real browser.</summary>
[Collection("browser")]
public sealed class EditorConsoleTests(RedisFixture redis, BrowserFixture browser) : IClassFixture<RedisFixture>, IClassFixture<BrowserFixture>, IAsyncLifetime
{
    private readonly FakeNetworks _fake = new();
    private LiveNewsNode _node = null!;
    private IBrowserContext _context = null!;

    public async Task InitializeAsync()
    {
        _node = new LiveNewsNode(redis.Configuration, Eventually.Prefix(), new()
        {
            ["Samples:Path"] = RepositoryPaths.SamplesWeb,
            ["Social:PollInterval"] = "00:00:00.050",
            ["Social:Accounts:0:Name"] = "newsdesk-slack",
            ["Social:Accounts:0:Network"] = "webhook",
            ["Social:Accounts:0:WebhookKind"] = "slack",
            ["Social:Accounts:0:BaseUrl"] = _fake.BaseUrl + FakeNetworks.HookPath("slack"),
        });
        _context = await browser.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1200, Height = 900 } });
    }

    public async Task DisposeAsync()
    {
        await _context.DisposeAsync();
        await _node.DisposeAsync();
        await _fake.DisposeAsync();
    }

    [Fact]
    public async Task EditorConsole_EveryFlow_ReachesTheReaderPage()
    {
        var reader = await _context.NewPageAsync();
        await reader.GotoAsync(new Uri(_node.BaseAddress, "/").ToString());
        var console = await _context.NewPageAsync();
        var messages = new System.Collections.Concurrent.ConcurrentQueue<string>();
        console.Console += (_, m) => messages.Enqueue(m.Text);
        await console.GotoAsync(new Uri(_node.BaseAddress, "/editor.html").ToString());

        await console.FillAsync("#api-key", "wrong-key");
        await console.ClickAsync("#signin button");
        await Assertions.Expect(console.Locator("#signin-status")).ToHaveTextAsync("Unknown API key.");
        await console.FillAsync("#api-key", LiveNewsNode.EditorKey);
        await console.ClickAsync("#signin button");
        await Assertions.Expect(console.Locator("#signin-status")).ToHaveTextAsync("Signed in: this key may publish.");

        await console.FillAsync("#live-title-input", "Council meeting");
        await console.FillAsync("#live-stream", "https://video.example/council.m3u8");
        await console.ClickAsync("#live-form button[type=submit]");
        await Assertions.Expect(reader.Locator("#live-badge")).ToBeVisibleAsync();
        await Assertions.Expect(console.Locator("#live-now")).ToHaveTextAsync("LIVE: Council meeting");

        await console.FillAsync("#breaking-headline", "Council votes to close the bridge");
        await console.ClickAsync("#breaking-form button[type=submit]");
        await Assertions.Expect(reader.Locator("#breaking-link")).ToHaveTextAsync("Council votes to close the bridge");
        await Assertions.Expect(console.Locator("#active-alerts li")).ToHaveCountAsync(1);

        await console.FillAsync("#article-id", "council-vote");
        await console.FillAsync("#article-headline-input", "Council votes to close the bridge");
        await console.FillAsync("#article-summary-input", "The vote was 7 to 2.");
        await console.FillAsync("#article-url", "https://news.example/council-vote");
        await console.FillAsync("#article-section-input", "City");
        await console.ClickAsync("#article-form button[type=submit]");
        await Assertions.Expect(reader.Locator("#latest li a")).ToHaveTextAsync("Council votes to close the bridge");

        await console.FillAsync("#entry-article", "council-vote");
        await console.FillAsync("#entry-text", "The mayor abstained.");
        await console.ClickAsync("#entry-form button[type=submit]");
        await Assertions.Expect(console.Locator("#entry-status")).ToContainTextAsync("entry.posted");

        await console.FillAsync("#share-article", "council-vote");
        await console.FillAsync("#share-accounts", "newsdesk-slack");
        await console.ClickAsync("#share-preview-button");
        await Assertions.Expect(console.Locator("#share-previews li[data-account=newsdesk-slack] pre")).ToContainTextAsync("Council votes to close the bridge");
        Assert.Equal(0, _fake.PostsOn("slack"));
        await console.ClickAsync("#share-form button[type=submit]");
        try
        {
            await Assertions.Expect(console.Locator("#share-jobs li[data-state=posted]")).ToContainTextAsync("council-vote → newsdesk-slack: posted");
        }
        catch (PlaywrightException)
        {
            throw new InvalidOperationException($"jobs: {await console.InnerTextAsync("#share-jobs")} status: {await console.InnerTextAsync("#share-status")} console: {string.Join(" | ", messages)}");
        }
        Assert.Equal(1, _fake.PostsOn("slack"));
        await console.ClickAsync("#accounts-refresh");
        await Assertions.Expect(console.Locator("#social-accounts li[data-account=newsdesk-slack]")).ToHaveAttributeAsync("data-state", "ok");

        await console.FillAsync("#entry-text", "bad\u0001text");
        await console.ClickAsync("#entry-form button[type=submit]");
        await Assertions.Expect(console.Locator("#entry-status")).ToContainTextAsync("text:");
        await console.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(RepositoryPaths.Screenshots, "editor-console.png"), FullPage = true });

        await console.ClickAsync("#active-alerts button");
        await Assertions.Expect(reader.Locator("#breaking")).ToBeHiddenAsync();
        await console.ClickAsync("#live-end");
        await Assertions.Expect(reader.Locator("#live-badge")).ToBeHiddenAsync();

        var article = await _context.NewPageAsync();
        await article.GotoAsync(new Uri(_node.BaseAddress, "/?article=council-vote").ToString());
        await Assertions.Expect(article.Locator("#entries .entry-text")).ToHaveTextAsync("The mayor abstained.");
    }
}
