using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using LiveNews.Server.Tests.Infrastructure;

namespace LiveNews.Server.Tests.Social;

/// <summary>Preview, schedule, cancel and account health, through the editor API.</summary>
[Collection("redis")]
public sealed class ShareApiTests(RedisFixture redis) : ShareTestBase(redis), IClassFixture<RedisFixture>
{
    [Fact]
    public async Task Preview_EveryAccount_ShowsTheExactTextEachNetworkGets()
    {
        await PublishArticleAsync("preview", "Fire (update) at the harbour");
        using var editor = First.Editor();
        var accounts = AllAccounts.Where(a => a != "mastodon-badtoken").ToArray();
        var text = accounts.ToDictionary(a => a, a => a == "threads-main" ? "a.com b.com c.com d.com e.com f.com" : "Fire (update) at the harbour 🔥");

        var response = await editor.PostJsonAsync("/api/articles/preview/shares/preview", new { accounts, text });
        var previews = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("previews").EnumerateArray().ToDictionary(p => p.GetProperty("account").GetString()!);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(accounts.Length, previews.Count);
        var x = previews["x-main"];
        Assert.Equal("Fire (update) at the harbour 🔥\n\nhttps://news.example/preview?utm_source=x", x.GetProperty("text").GetString());
        Assert.Equal(29 + 2 + 2 + 23, x.GetProperty("length").GetInt32()); // text, the emoji as 2, the blank line, the link as 23
        Assert.Equal(280, x.GetProperty("limit").GetInt32());
        Assert.True(x.GetProperty("ok").GetBoolean());
        Assert.Equal(@"Fire \(update\) at the harbour 🔥", previews["linkedin-org"].GetProperty("text").GetString());
        Assert.False(previews["threads-main"].GetProperty("ok").GetBoolean());
        Assert.NotEmpty(previews["threads-main"].GetProperty("problems").EnumerateArray());
        Assert.Empty(Fake.Posts);
        Assert.Empty((await editor.GetFromJsonAsync<JsonElement>("/api/articles/preview/shares")).GetProperty("jobs").EnumerateArray());

        // What the network then gets is the previewed text.
        await ShareAndWaitAsync("preview", "x-main", text["x-main"]);
        Assert.Equal(x.GetProperty("text").GetString(), Assert.Single(Fake.To("/2/tweets")).Json.GetProperty("text").GetString());
    }

    [Fact]
    public async Task Share_WithAt_WaitsScheduledAndPostsAfterARestart()
    {
        await PublishArticleAsync("later", "Later");
        var at = DateTimeOffset.UtcNow.AddSeconds(3);
        using (var editor = First.Editor())
        {
            var response = await editor.PostJsonAsync("/api/articles/later/shares", new { accounts = new[] { "mastodon-main" }, at });
            var job = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("jobs")[0];
            Assert.Equal("scheduled", job.GetProperty("state").GetString());
            Assert.EndsWith("Z", job.GetProperty("scheduledAt").GetString());
        }

        await StopAsync(First);
        var restarted = Node();
        var posted = await WaitForTerminalAsync("later", "mastodon-main", node: restarted);

        Assert.Equal("posted", posted.GetProperty("state").GetString());
        Assert.True(posted.GetProperty("updatedAt").GetDateTimeOffset() >= at, "not posted before its time");
        Assert.Equal(1, Fake.PostsOn("mastodon"));
    }

    [Fact]
    public async Task Cancel_ScheduledShare_IsRemovedAndNeverPosted()
    {
        await PublishArticleAsync("cancel", "Cancel");
        await PublishArticleAsync("done", "Done");
        using var editor = First.Editor();
        var response = await editor.PostJsonAsync("/api/articles/cancel/shares", new { accounts = new[] { "mastodon-main" }, at = DateTimeOffset.UtcNow.AddHours(1) });
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("jobs")[0].GetProperty("id").GetString();
        var posted = await ShareAndWaitAsync("done", "mastodon-main");

        var cancelled = await editor.DeleteAsync($"/api/shares/{id}");
        var again = await editor.DeleteAsync($"/api/shares/{id}");
        var notScheduled = await editor.DeleteAsync($"/api/shares/{posted.GetProperty("id").GetString()}");
        var tooFar = await editor.PostJsonAsync("/api/articles/cancel/shares", new { accounts = new[] { "mastodon-main" }, at = DateTimeOffset.UtcNow.AddDays(60) });

        Assert.Equal(HttpStatusCode.OK, cancelled.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, notScheduled.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, tooFar.StatusCode);
        Assert.Empty((await editor.GetFromJsonAsync<JsonElement>("/api/articles/cancel/shares")).GetProperty("jobs").EnumerateArray());
        Assert.Equal(1, Fake.PostsOn("mastodon"));
    }

    [Fact]
    public async Task Accounts_AfterShares_ReportEachAccountsStateAndAMetric()
    {
        await PublishArticleAsync("health", "Health");
        Fake.Script("/v26.0/page-1/feed", Fault.AcceptThen(502));
        await ShareAndWaitAllAsync("health", ["mastodon-main", "mastodon-badtoken", "x-main", "facebook-page", "threads-main"]);
        using var editor = First.Editor();

        var accounts = (await editor.GetFromJsonAsync<JsonElement>("/api/social/accounts")).EnumerateArray().ToDictionary(a => a.GetProperty("name").GetString()!);
        var metrics = await First.Anonymous().GetStringAsync("/metrics");

        Assert.Equal(AllAccounts.Length, accounts.Count);
        Assert.Equal("ok", accounts["mastodon-main"].GetProperty("state").GetString());
        Assert.True(accounts["mastodon-main"].TryGetProperty("lastPostedAt", out _));
        Assert.Equal("expired", accounts["mastodon-badtoken"].GetProperty("state").GetString());
        Assert.Contains("401", accounts["mastodon-badtoken"].GetProperty("lastError").GetString());
        Assert.Equal("failing", accounts["facebook-page"].GetProperty("state").GetString());
        Assert.Equal("ok", accounts["x-main"].GetProperty("state").GetString());
        Assert.True(accounts["x-main"].GetProperty("expiresAt").GetDateTimeOffset() > DateTimeOffset.UtcNow);
        Assert.True(accounts["threads-main"].GetProperty("expiresAt").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddDays(50));
        Assert.Equal("ok", accounts["slack-desk"].GetProperty("state").GetString());
        Assert.Contains("livenews_social_account_state", metrics);
        Assert.DoesNotContain(FakeNetworks.Token, metrics);
    }
}
