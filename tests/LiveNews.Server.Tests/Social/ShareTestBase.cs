using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using LiveNews.Server.Social;
using LiveNews.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace LiveNews.Server.Tests.Social;

/// <summary>
/// What every sharing test stands on: fake networks on loopback, server nodes configured with one account per
/// network against one Redis, and helpers to publish, share and wait for a job to end.
/// </summary>
public abstract class ShareTestBase(RedisFixture redis) : IAsyncLifetime
{
    /// <summary>Every configured account, one per network and webhook kind, plus one with a bad token.</summary>
    protected static readonly string[] AllAccounts =
        ["mastodon-main", "mastodon-badtoken", "bluesky-main", "x-main", "facebook-page", "linkedin-org", "threads-main", "slack-desk", "discord-desk", "generic-desk"];

    private readonly RedisFixture _redis = redis;
    private readonly string _dataPath = Directory.CreateTempSubdirectory("livenews-social-").FullName;

    /// <summary>This test's key prefix in Redis.</summary>
    protected string Prefix { get; } = Eventually.Prefix();

    protected string RedisConfiguration => _redis.Configuration;

    protected Owned Owned { get; } = new();

    protected FakeNetworks Fake { get; private set; } = null!;

    /// <summary>The first node; tests may start more with <see cref="Node"/>.</summary>
    protected LiveNewsNode First { get; private set; } = null!;

    public virtual Task InitializeAsync()
    {
        Fake = new FakeNetworks();
        First = Node();
        return Task.CompletedTask;
    }

    public virtual async Task DisposeAsync()
    {
        await Owned.DisposeAsync();
        await Fake.DisposeAsync();
        Directory.Delete(_dataPath, recursive: true);
    }

    /// <summary>A node of this test's deployment (same Redis, key prefix and Data Protection keys).</summary>
    protected LiveNewsNode Node(CapturedLogs? logs = null, Action<Dictionary<string, string?>>? configure = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Social:PollInterval"] = "00:00:00.050",
            ["Social:LeaseDuration"] = "00:00:04",
            ["Social:UtmParameters:utm_source"] = "{network}",
            ["Store:DataPath"] = _dataPath,
        };
        if (logs is not null)
        {
            // Configuration filters win over the node's minimum level: ask for everything explicitly.
            settings["Logging:LogLevel:Default"] = "Trace";
            settings["Logging:LogLevel:Microsoft.AspNetCore"] = "Trace";
        }

        for (var i = 0; i < AllAccounts.Length; i++)
        {
            var name = AllAccounts[i];
            var network = name switch
            {
                "mastodon-main" or "mastodon-badtoken" => "mastodon",
                "slack-desk" or "discord-desk" or "generic-desk" => "webhook",
                _ => name[..name.IndexOf('-', StringComparison.Ordinal)],
            };
            var prefix = $"Social:Accounts:{i}:";
            settings[prefix + "Name"] = name;
            settings[prefix + "Network"] = network;
            settings[prefix + "BaseUrl"] = network == "webhook" ? Fake.BaseUrl + FakeNetworks.HookPath(name[..name.IndexOf('-', StringComparison.Ordinal)]) : Fake.BaseUrl;
            // Long enough for a prompt answer on a loaded 2-core CI machine (at 750 ms a first request to the fake
            // once timed out and read as unconfirmed), short enough that a hang and its retry fit in the run
            // budget the lease allows (80% of Social:LeaseDuration above, which is why both were raised together).
            settings[prefix + "Resilience:AttemptTimeout"] = "00:00:01.500";
            settings[prefix + "Resilience:BaseDelay"] = "00:00:00.010";
            settings[prefix + "Resilience:MaxRetries"] = "3";
            settings[prefix + "Resilience:BreakerMinimumThroughput"] = "20";
            settings[prefix + "Resilience:SettleAfterUnknown"] = "00:00:00.100";
            switch (network)
            {
                case "mastodon":
                    settings[prefix + "AccessToken"] = name == "mastodon-badtoken" ? "wrong-token" : FakeNetworks.Token;
                    break;
                case "bluesky":
                    settings[prefix + "Identifier"] = "news.example";
                    settings[prefix + "AppPassword"] = FakeNetworks.BlueskyPassword;
                    break;
                case "x":
                    settings[prefix + "ClientId"] = FakeNetworks.XClientId;
                    settings[prefix + "ClientSecret"] = FakeNetworks.XClientSecret;
                    settings[prefix + "RefreshToken"] = FakeNetworks.XFirstRefreshToken;
                    break;
                case "facebook":
                    settings[prefix + "AccessToken"] = FakeNetworks.Token;
                    settings[prefix + "AccountId"] = "page-1";
                    break;
                case "linkedin":
                    settings[prefix + "AccessToken"] = FakeNetworks.Token;
                    settings[prefix + "AccountId"] = "urn:li:organization:42";
                    break;
                case "threads":
                    settings[prefix + "AccessToken"] = FakeNetworks.Token;
                    settings[prefix + "AccountId"] = "user-1";
                    break;
                case "webhook":
                    settings[prefix + "WebhookKind"] = name[..name.IndexOf('-', StringComparison.Ordinal)];
                    break;
            }
        }

        configure?.Invoke(settings);
        var node = new LiveNewsNode(_redis.Configuration, Prefix, settings, logs: logs);
        Owned.Add(node);
        return node;
    }

    /// <summary>
    /// Stops a node the way a deploy does: its share worker is cancelled mid-post (the request in flight is
    /// abandoned, the job left in <c>posting</c>), then the node goes. Disposing alone leaves the worker running.
    /// </summary>
    protected static async Task StopAsync(LiveNewsNode node)
    {
        await node.Services.GetRequiredService<ShareWorker>().StopAsync(CancellationToken.None);
        await node.DisposeAsync();
    }

    /// <summary>The setting prefix of an account (<c>Social:Accounts:3:</c>).</summary>
    protected static string Setting(string account) => $"Social:Accounts:{Array.IndexOf(AllAccounts, account)}:";

    protected async Task PublishArticleAsync(string id, string headline, string? summary = null)
    {
        using var editor = First.Editor();
        (await editor.PutJsonAsync($"/api/articles/{id}", new { headline, summary, url = $"https://news.example/{id}" })).EnsureSuccessStatusCode();
    }

    protected async Task<JsonElement> ShareAndWaitAsync(string articleId, string account, string? text = null) =>
        (await ShareAndWaitAllAsync(articleId, [account], text))[0];

    protected async Task<JsonElement[]> ShareAndWaitAllAsync(string articleId, string[] accounts, string? text = null)
    {
        using var editor = First.Editor();
        var body = text is null ? (object)new { accounts } : new { accounts, text = accounts.ToDictionary(a => a, _ => text) };
        var response = await editor.PostJsonAsync($"/api/articles/{articleId}/shares", body, idempotencyKey: Guid.NewGuid().ToString());
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var jobs = new List<JsonElement>();
        foreach (var account in accounts)
        {
            jobs.Add(await WaitForTerminalAsync(articleId, account));
        }

        return [.. jobs];
    }

    /// <summary>Shares the article to the accounts through <paramref name="node"/>'s editor API, without waiting for the jobs.</summary>
    protected static async Task ShareOnAsync(LiveNewsNode node, string articleId, params string[] accounts)
    {
        using var editor = node.Editor();
        (await editor.PostJsonAsync($"/api/articles/{articleId}/shares", new { accounts })).EnsureSuccessStatusCode();
    }

    /// <summary>Polls the job list until the account's job for the article is posted, dead or unconfirmed after an attempt.</summary>
    protected async Task<JsonElement> WaitForTerminalAsync(string articleId, string account, LiveNewsNode? node = null, int seconds = 30)
    {
        using var editor = (node ?? First).Editor();
        JsonElement job = default;
        await Eventually.TrueAsync(async () =>
        {
            job = await JobAsync(editor, articleId, account);
            return job.ValueKind == JsonValueKind.Object
                && job.GetProperty("state").GetString() is "posted" or "dead" or "unconfirmed"
                && job.GetProperty("attempts").GetInt32() > 0;
        }, $"share of {articleId} to {account} to end", seconds);
        return job;
    }

    /// <summary>Polls until the account's job for the article is in <paramref name="state"/>.</summary>
    protected async Task<JsonElement> WaitForStateAsync(string articleId, string account, string state, LiveNewsNode? node = null)
    {
        using var editor = (node ?? First).Editor();
        JsonElement job = default;
        await Eventually.TrueAsync(async () =>
        {
            job = await JobAsync(editor, articleId, account);
            return job.ValueKind == JsonValueKind.Object && job.GetProperty("state").GetString() == state;
        }, $"share of {articleId} to {account} to be {state}", 30);
        return job;
    }

    /// <summary>The newest job of the account for the article (default when there is none).</summary>
    protected static async Task<JsonElement> JobAsync(HttpClient editor, string articleId, string account)
    {
        var list = await editor.GetFromJsonAsync<JsonElement>($"/api/articles/{articleId}/shares");
        return list.GetProperty("jobs").EnumerateArray().LastOrDefault(j => j.GetProperty("account").GetString() == account);
    }
}
