using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using LiveNews.Server.Tests.Infrastructure;

namespace LiveNews.Server.Tests.Social;

/// <summary>
/// A post that may have been made is never sent again blind: a node killed mid-post with a second node
/// running, and a run that would outlive its lease.
/// </summary>
[Collection("redis")]
public sealed class CrashSafetyTests(RedisFixture redis) : ShareTestBase(redis), IClassFixture<RedisFixture>
{
    private static readonly (string Account, string Network, string Route, string Expected)[] InFlight =
    [
        ("mastodon-main", "mastodon", "/api/v1/statuses", "posted"),
        ("bluesky-main", "bluesky", "/xrpc/com.atproto.repo.createRecord", "posted"),
        ("threads-main", "threads", "/v1.0/user-1/threads_publish", "posted"),
        ("x-main", "x", "/2/tweets", "unconfirmed"),
        ("facebook-page", "facebook", "/v26.0/page-1/feed", "unconfirmed"),
        ("linkedin-org", "linkedin", "/rest/posts", "unconfirmed"),
        ("slack-desk", "slack", FakeNetworks.HookPath("slack"), "unconfirmed"),
        ("discord-desk", "discord", FakeNetworks.HookPath("discord"), "unconfirmed"),
        ("generic-desk", "generic", FakeNetworks.HookPath("generic"), "unconfirmed"),
    ];

    [Fact]
    public async Task NodeKilledWhilePostsInFlight_SecondNode_EndsEachWithOnePostOrUnconfirmed()
    {
        // Attempts and runs outlast the kill, so every post is in flight when the node goes; the lease hands over.
        var slow = (Dictionary<string, string?> s) =>
        {
            s["Social:LeaseDuration"] = "00:00:08";
            foreach (var account in AllAccounts)
            {
                s[Setting(account) + "Resilience:AttemptTimeout"] = "00:00:10";
            }
        };
        await PublishArticleAsync("crash", "Crash mid-post");
        await StopAsync(First);
        var dying = Node(configure: slow);
        foreach (var (_, _, route, _) in InFlight)
        {
            Fake.Script(route, Fault.AcceptThenHang);
        }

        using (var editor = dying.Editor())
        {
            var accounts = InFlight.Select(f => f.Account).ToArray();
            Assert.Equal(HttpStatusCode.Accepted, (await editor.PostJsonAsync("/api/articles/crash/shares", new { accounts })).StatusCode);
        }

        await Eventually.TrueAsync(() => InFlight.All(f => Fake.PostsOn(f.Network) == 1), "every network made the post", seconds: 30);
        var survivor = Node(configure: slow);
        await StopAsync(dying);

        foreach (var (account, network, _, expected) in InFlight)
        {
            var job = await WaitForTerminalAsync("crash", account, node: survivor);
            Assert.True(expected == job.GetProperty("state").GetString(), $"{account}: {job}");
            Assert.Equal(1, Fake.PostsOn(network));
            if (expected == "unconfirmed")
            {
                Assert.True(job.GetProperty("reason").GetString()!.Contains("earlier attempt may have posted", StringComparison.Ordinal), $"{account}: {job}");
            }
        }

        Assert.Single(Fake.To("/v1.0/user-1/threads"), r => r.Method == "POST" && !r.Path.EndsWith("_publish", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RunLongerThanItsLease_IsCut_SoTwoNodesNeverSendOneJobAtOnce()
    {
        await PublishArticleAsync("lease", "Lease test");
        Node();

        // Four hanging attempts of 0.75 s take 3 s in-process, longer than the 2 s lease.
        Fake.Script("/api/v1/statuses", Fault.Hang, Fault.Hang, Fault.Hang, Fault.Hang, Fault.Hang, Fault.Hang);
        var job = await ShareAndWaitAsync("lease", "mastodon-main");

        Assert.Equal("posted", job.GetProperty("state").GetString());
        // Two nodes sending at once would overlap for most of an attempt (0.75 s); a cut request ends as its successor starts.
        Assert.True(Fake.MaxOverlap("/api/v1/statuses") < TimeSpan.FromMilliseconds(250), $"requests overlapped {Fake.MaxOverlap("/api/v1/statuses")}");
        Assert.True(job.GetProperty("attempts").GetInt32() >= 2, "the run was cut and the job taken again");
        Assert.Equal(1, Fake.PostsOn("mastodon"));
    }

    // A deploy while a try waits out a 429 in process: nothing is in flight, so the job goes back to the queue
    // with the 429's wait, not left mid-post for the next node to find in doubt (a webhook cannot be looked up:
    // that made it unconfirmed, though the only request had been refused).
    [Fact]
    public async Task NodeStoppedWhileATryWaitsOutA429_NextNodePostsItOnce()
    {
        var logs = new CapturedLogs();
        // A run budget (80% of the lease) well past the 429's wait: the try after it is never cut by the budget.
        var node = Node(logs, s => s["Social:LeaseDuration"] = "00:00:20");
        await PublishArticleAsync("deploy", "Deploy");
        await StopAsync(First);
        Fake.Script(FakeNetworks.HookPath("slack"), Fault.Answer(429, "rate_limited", new Dictionary<string, string> { ["Retry-After"] = "3" }));
        await ShareOnAsync(node, "deploy", "slack-desk");

        await Eventually.TrueAsync(() => logs.Lines.Any(l => l.Contains("[510]", StringComparison.Ordinal) && l.Contains("slack-desk", StringComparison.Ordinal)), "the try to wait out the 429");
        await StopAsync(node);
        var next = Node(configure: s => s["Social:LeaseDuration"] = "00:00:20");

        var job = await WaitForTerminalAsync("deploy", "slack-desk", node: next);
        Assert.Equal("posted", job.GetProperty("state").GetString());
        Assert.Equal(1, Fake.PostsOn("slack"));
        Assert.Equal(2, Fake.To(FakeNetworks.HookPath("slack")).Count());
    }

    [Fact]
    public async Task UnconfirmedJob_RetriedWithConfirmNotPosted_PostsOnceMore()
    {
        await PublishArticleAsync("confirm", "Confirm test");
        Fake.Script("/v26.0/page-1/feed", Fault.Hang);
        var unconfirmed = await ShareAndWaitAsync("confirm", "facebook-page");
        using var editor = First.Editor();

        var retry = await editor.PostJsonAsync($"/api/shares/{unconfirmed.GetProperty("id").GetString()}/retry", new { confirmNotPosted = true });
        var job = await WaitForStateAsync("confirm", "facebook-page", "posted"); // the retry counts its attempts from 0

        Assert.Equal("unconfirmed", unconfirmed.GetProperty("state").GetString());
        Assert.Equal(HttpStatusCode.Accepted, retry.StatusCode);
        Assert.Equal("posted", job.GetProperty("state").GetString());
        Assert.Equal(1, Fake.PostsOn("facebook"));
    }

    [Fact]
    public async Task ShareAgain_AfterUnconfirmed_IsConflict()
    {
        await PublishArticleAsync("again", "Again");
        Fake.Script(FakeNetworks.HookPath("slack"), Fault.AcceptThenHang);
        await ShareAndWaitAsync("again", "slack-desk");
        using var editor = First.Editor();

        var again = await editor.PostJsonAsync("/api/articles/again/shares", new { accounts = new[] { "slack-desk" } });

        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal("unconfirmed", (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("jobs")[0].GetProperty("state").GetString());
        Assert.Equal(1, Fake.PostsOn("slack"));
    }
}
