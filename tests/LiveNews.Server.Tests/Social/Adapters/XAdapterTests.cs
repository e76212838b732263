using System.Text;
using LiveNews.Server.Bus;
using LiveNews.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace LiveNews.Server.Tests.Social.Adapters;

/// <summary>X with OAuth 2.0 user tokens that expire and a refresh token that rotates at every use.</summary>
[Collection("redis")]
public sealed class XAdapterTests(RedisFixture redis) : ShareTestBase(redis), IClassFixture<RedisFixture>
{
    [Fact]
    public async Task Share_FirstUse_RefreshesWithHttpBasicAndKeepsTheRotatedTokenEncrypted()
    {
        await PublishArticleAsync("first-x", "First on X");

        var job = await ShareAndWaitAsync("first-x", "x-main");

        Assert.Equal("posted", job.GetProperty("state").GetString());
        var refresh = Assert.Single(Fake.To("/2/oauth2/token"));
        Assert.Equal("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{FakeNetworks.XClientId}:{FakeNetworks.XClientSecret}")), refresh.Headers["Authorization"]);
        Assert.Equal(FakeNetworks.XFirstRefreshToken, refresh.Form["refresh_token"]);
        Assert.False(refresh.Form.ContainsKey("client_secret"));
        await using var redis = await ConnectionMultiplexer.ConnectAsync(RedisConfiguration);
        var stored = (string?)await redis.GetDatabase().StringGetAsync($"{Prefix}:{{shares}}:oauth:x-main");
        Assert.False(string.IsNullOrEmpty(stored));
        Assert.DoesNotContain(Fake.XRefreshToken, stored);
        Assert.DoesNotContain("x-access", stored);
    }

    [Fact]
    public async Task Share_DailyCapReached_WaitsForTheDailyResetNotTheWindowThatHasPassed()
    {
        await PublishArticleAsync("capped-x", "Capped on X");
        var now = DateTimeOffset.UtcNow;
        Fake.Script("/2/tweets", Fault.Answer(429, """{"title":"Too Many Requests","status":429}""", new Dictionary<string, string>
        {
            ["x-rate-limit-remaining"] = "0",
            ["x-rate-limit-reset"] = (now.ToUnixTimeSeconds() - 1).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["x-user-limit-24hour-remaining"] = "0",
            ["x-user-limit-24hour-reset"] = now.AddHours(6).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["x-app-limit-24hour-remaining"] = "1200",
            ["x-app-limit-24hour-reset"] = now.AddHours(20).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
        }));
        using (var editor = First.Editor())
        {
            (await editor.PostJsonAsync("/api/articles/capped-x/shares", new { accounts = new[] { "x-main" } })).EnsureSuccessStatusCode();
        }

        var job = await WaitForStateAsync("capped-x", "x-main", "failed");

        Assert.Single(Fake.To("/2/tweets"));
        Assert.InRange(job.GetProperty("nextAttemptAt").GetDateTimeOffset() - now, TimeSpan.FromHours(5.9), TimeSpan.FromHours(6.1));
    }

    [Fact]
    public async Task Share_TokenEndpointSlowerThanAnAttempt_NothingUnconfirmedAndTheRotatedTokenKept()
    {
        // X rotates the refresh token even if the caller has given up: a refresh cut by the post's 1.5 s timeout
        // lost the new one (every later refresh refused) and left the job unconfirmed though nothing was sent.
        await PublishArticleAsync("slow-token", "Slow token");
        await PublishArticleAsync("after-slow-token", "After the slow token");
        Fake.Script("/2/oauth2/token", Fault.Slow(TimeSpan.FromSeconds(2.5)));

        var job = await ShareAndWaitAsync("slow-token", "x-main");
        var after = await ShareAndWaitAsync("after-slow-token", "x-main");

        Assert.Equal("posted", job.GetProperty("state").GetString());
        Assert.Equal("posted", after.GetProperty("state").GetString());
        Assert.Equal(2, Fake.PostsOn("x"));
    }

    [Fact]
    public async Task Share_RefreshLockHeldElsewhereThenASlowTokenEndpoint_TheRotatedTokenIsKept()
    {
        // The wait for another node's refresh used most of the budget; the token request then ran into its end
        // after X had rotated the refresh token, which was lost: every later refresh refused, the account expired.
        var node = Node(configure: s =>
        {
            s["Social:TokenRefreshTimeout"] = "00:00:06";
            s["Social:LeaseDuration"] = "00:00:20";
        });
        await PublishArticleAsync("locked", "Locked");
        await StopAsync(First);
        await using (var admin = await ConnectionMultiplexer.ConnectAsync(RedisConfiguration))
        {
            var lockKey = node.Services.GetRequiredService<RedisNames>().ShareOAuthLock("x-main");
            await admin.GetDatabase().StringSetAsync(lockKey, "another-node", TimeSpan.FromSeconds(4));
        }

        Fake.Script("/2/oauth2/token", Fault.Slow(TimeSpan.FromSeconds(3)));
        await ShareOnAsync(node, "locked", "x-main");

        var job = await WaitForTerminalAsync("locked", "x-main", node: node);
        Assert.Equal("posted", job.GetProperty("state").GetString());
        Assert.Single(Fake.To("/2/oauth2/token"));
        Assert.Equal(1, Fake.PostsOn("x"));
    }

    [Fact]
    public async Task Share_AccessTokenExpired_RefreshesOnceWithTheRotatedTokenAndPosts()
    {
        await PublishArticleAsync("one", "One");
        await PublishArticleAsync("two", "Two");
        await ShareAndWaitAsync("one", "x-main");
        var rotated = Fake.XRefreshToken;
        Fake.ExpireXAccessTokens();

        var job = await ShareAndWaitAsync("two", "x-main");

        Assert.Equal("posted", job.GetProperty("state").GetString());
        var refreshes = Fake.To("/2/oauth2/token").ToList();
        Assert.Equal(2, refreshes.Count);
        Assert.Equal(rotated, refreshes[1].Form["refresh_token"]);
        Assert.Equal(3, Fake.To("/2/tweets").Count()); // one post, one 401, one post
        Assert.Equal(2, Fake.PostsOn("x"));
    }

    [Fact]
    public async Task Share_TokenAboutToExpire_IsRefreshedBeforeUse()
    {
        Fake.XTokenLifetimeSeconds = 120; // inside the five-minute margin
        await PublishArticleAsync("a", "A");
        await PublishArticleAsync("b", "B");

        await ShareAndWaitAsync("a", "x-main");
        await ShareAndWaitAsync("b", "x-main");

        Assert.Equal(2, Fake.To("/2/oauth2/token").Count());
        Assert.Equal(2, Fake.To("/2/tweets").Count()); // never a 401
    }

    [Fact]
    public async Task Share_AfterRestart_UsesTheRotatedRefreshTokenFromTheStore()
    {
        await PublishArticleAsync("before", "Before restart");
        await PublishArticleAsync("after", "After restart");
        await ShareAndWaitAsync("before", "x-main");
        await StopAsync(First);
        Fake.ExpireXAccessTokens();
        var restarted = Node();

        using var editor = restarted.Editor();
        (await editor.PostJsonAsync("/api/articles/after/shares", new { accounts = new[] { "x-main" } })).EnsureSuccessStatusCode();
        var job = await WaitForTerminalAsync("after", "x-main", node: restarted);

        // The configured refresh token was used up by the first refresh: only the stored one works now.
        Assert.Equal("posted", job.GetProperty("state").GetString());
        Assert.NotEqual(FakeNetworks.XFirstRefreshToken, Fake.To("/2/oauth2/token").Last().Form["refresh_token"]);
    }

    [Fact]
    public async Task Share_RefreshTokenRefused_IsDeadWithReasonNamingTheSetting()
    {
        var node = Node(configure: s => s[Setting("x-main") + "RefreshToken"] = "x-refresh-revoked");
        await PublishArticleAsync("revoked", "Revoked");
        await StopAsync(First);

        using var editor = node.Editor();
        (await editor.PostJsonAsync("/api/articles/revoked/shares", new { accounts = new[] { "x-main" } })).EnsureSuccessStatusCode();
        var job = await WaitForTerminalAsync("revoked", "x-main", node: node);

        Assert.Equal("dead", job.GetProperty("state").GetString());
        Assert.Contains(Setting("x-main") + "RefreshToken", job.GetProperty("reason").GetString());
        Assert.Empty(Fake.To("/2/tweets"));
    }
}
