using Microsoft.Playwright;

namespace LiveNews.Server.Tests.Infrastructure;

/// <summary>
/// Headless Debian Chromium driven by Playwright (never a browser Playwright downloads itself). Fails with
/// a clear message when Chromium is missing: the README's test command installs it.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    private const string ChromiumPath = "/usr/bin/chromium";
    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException($"{ChromiumPath} was not found. Install it (apt-get install -y chromium) or run the README's test command, which does.");
        }

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            // The machine has no network but loopback: keep Chromium from calling home.
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
    }
}

public static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();

    public static string SamplesWeb => Path.Combine(Root, "samples", "web");

    /// <summary>Where tests save screenshots (a CI artifact; not committed).</summary>
    public static string Screenshots
    {
        get
        {
            var path = Environment.GetEnvironmentVariable("LIVENEWS_SCREENSHOTS") ?? Path.Combine(Root, "artifacts", "screenshots");
            Directory.CreateDirectory(path);
            return path;
        }
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "LiveNews.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("LiveNews.sln not found above the test assembly.");
    }
}
