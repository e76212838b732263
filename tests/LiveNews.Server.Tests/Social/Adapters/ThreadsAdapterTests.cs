using System.Net.Http.Json;
using System.Text.Json;
using LiveNews.Server.Tests.Infrastructure;

namespace LiveNews.Server.Tests.Social.Adapters;

/// <summary>Threads with containers that take a while to be ready, publish once, and a token that refreshes.</summary>
[Collection("redis")]
public sealed class ThreadsAdapterTests(RedisFixture redis) : ShareTestBase(redis), IClassFixture<RedisFixture>
{
    [Fact]
    public async Task Share_ContainerInProgress_PollsStatusUntilFinishedThenPublishesOnce()
    {
        Fake.ThreadsReadsBeforeFinished = 2;
        await PublishArticleAsync("slow", "Slow container");

        var job = await ShareAndWaitAsync("slow", "threads-main");

        Assert.Equal("posted", job.GetProperty("state").GetString());
        Assert.Equal(3, Fake.To("/v1.0/container-").Count(r => r.Method == "GET"));
        Assert.Single(Fake.To("/v1.0/user-1/threads_publish"));
        // The publish answers the post's id; its address is asked for after.
        Assert.StartsWith("thread-", job.GetProperty("remoteId").GetString(), StringComparison.Ordinal);
        Assert.Equal($"https://www.threads.net/@news.example/post/{job.GetProperty("remoteId").GetString()}", job.GetProperty("remoteUrl").GetString());
    }

    [Fact]
    public async Task Share_PublishAcceptedButNoAnswer_ReadsStatusAndCreatesNoSecondContainer()
    {
        await PublishArticleAsync("hang", "Hanging publish");
        Fake.Script("/v1.0/user-1/threads_publish", Fault.AcceptThenHang);

        var job = await ShareAndWaitAsync("hang", "threads-main");

        Assert.Equal("posted", job.GetProperty("state").GetString());
        Assert.Single(Fake.To("/v1.0/user-1/threads"), r => !r.Path.EndsWith("_publish", StringComparison.Ordinal));
        Assert.Single(Fake.To("/v1.0/user-1/threads_publish"));
        Assert.Equal(1, Fake.PostsOn("threads"));
    }

    [Fact]
    public async Task Share_LongLivedToken_IsRefreshedOnceAndTheNewOneUsed()
    {
        await PublishArticleAsync("t1", "T1");
        await PublishArticleAsync("t2", "T2");

        await ShareAndWaitAsync("t1", "threads-main");
        await ShareAndWaitAsync("t2", "threads-main");

        var refresh = Assert.Single(Fake.To("/refresh_access_token"));
        Assert.Contains("grant_type=th_refresh_token", refresh.Query);
        var creates = Fake.To("/v1.0/user-1/threads").Where(r => !r.Path.EndsWith("_publish", StringComparison.Ordinal)).ToList();
        Assert.All(creates, c => Assert.NotEqual(FakeNetworks.Token, c.Form["access_token"]));
    }

    [Fact]
    public async Task Share_ProfileOverItsDailyPosts_WaitsInsteadOfDying()
    {
        await PublishArticleAsync("quota", "Over quota");
        // Graph's throttling answer (code 4) on publish, as for the 251st post of 24 hours.
        Fake.Script("/v1.0/user-1/threads_publish", Fault.Answer(400, """{"error":{"message":"Application request limit reached","type":"OAuthException","code":4,"fbtrace_id":"A1"}}"""));
        using var editor = First.Editor();
        (await editor.PostJsonAsync("/api/articles/quota/shares", new { accounts = new[] { "threads-main" } })).EnsureSuccessStatusCode();

        var job = await WaitForStateAsync("quota", "threads-main", "failed");

        Assert.Contains("limits this account", job.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.True(job.GetProperty("nextAttemptAt").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddMinutes(50));
        Assert.Single(Fake.To("/v1.0/user-1/threads_publish"));
        var account = (await editor.GetFromJsonAsync<JsonElement>("/api/social/accounts")).EnumerateArray()
            .Single(a => a.GetProperty("name").GetString() == "threads-main");
        Assert.NotEqual("expired", account.GetProperty("state").GetString());
    }

    [Fact]
    public async Task Share_SixDistinctLinks_IsRefusedBeforeAnyCall()
    {
        await PublishArticleAsync("links", "Links");

        var job = await ShareAndWaitAsync("links", "threads-main", "a.com b.com https://c.com d.org e.net");

        Assert.Equal("dead", job.GetProperty("state").GetString());
        Assert.Contains("5", job.GetProperty("reason").GetString());
        Assert.Empty(Fake.To("/v1.0/user-1/threads"));
    }
}
