using LiveNews.Server.Tests.Infrastructure;

namespace LiveNews.Server.Tests.Social.Adapters;

/// <summary>Bluesky against a fake PDS that answers a repeated record key with 500, as the real one does.</summary>
[Collection("redis")]
public sealed class BlueskyAdapterTests(RedisFixture redis) : ShareTestBase(redis), IClassFixture<RedisFixture>
{
    [Fact]
    public async Task CreateRecord_AcceptedThen502_LooksRecordUpAndIsPostedWithoutSendingAgain()
    {
        await PublishArticleAsync("lost", "Lost answer");
        Fake.Script("/xrpc/com.atproto.repo.createRecord", Fault.AcceptThen(502));

        var job = await ShareAndWaitAsync("lost", "bluesky-main");

        Assert.Equal("posted", job.GetProperty("state").GetString());
        Assert.Single(Fake.To("/xrpc/com.atproto.repo.createRecord"));
        Assert.Single(Fake.To("/xrpc/com.atproto.repo.getRecord"));
        Assert.StartsWith("at://did:plc:newsroom/app.bsky.feed.post/", job.GetProperty("remoteId").GetString());
        Assert.Equal(1, Fake.PostsOn("bluesky"));
    }

    [Fact]
    public async Task CreateRecord_RepeatedKeyAnswers500_IsPostedNotDead()
    {
        await PublishArticleAsync("repeat", "Repeated key");
        Fake.Script("/xrpc/com.atproto.repo.createRecord", Fault.AcceptThenHang);

        var job = await ShareAndWaitAsync("repeat", "bluesky-main");

        // The second create meets the record the first one made: 500, then getRecord finds it.
        Assert.Equal("posted", job.GetProperty("state").GetString());
        Assert.Equal(2, Fake.To("/xrpc/com.atproto.repo.createRecord").Count());
        Assert.Equal(1, Fake.PostsOn("bluesky"));
    }

    [Fact]
    public async Task CreateRecord_500AndRecordAbsent_SendsAgainAndPosts()
    {
        await PublishArticleAsync("absent", "Absent record");
        Fake.Script("/xrpc/com.atproto.repo.createRecord", Fault.Answer(500, """{"error":"InternalServerError","message":"Internal Server Error"}"""));

        var job = await ShareAndWaitAsync("absent", "bluesky-main");

        Assert.Equal("posted", job.GetProperty("state").GetString());
        Assert.Equal(2, Fake.To("/xrpc/com.atproto.repo.createRecord").Count());
        Assert.Equal(1, Fake.PostsOn("bluesky"));
    }

    [Fact]
    public async Task SessionExpired_RefreshRefusedAndNewSession503_RetriedAndPosted()
    {
        await PublishArticleAsync("before", "Before the token expired");
        Assert.Equal("posted", (await ShareAndWaitAsync("before", "bluesky-main")).GetProperty("state").GetString());
        await PublishArticleAsync("after", "After the token expired");
        Fake.BlueskyAccessJwtVersion = 2;
        Fake.Script("/xrpc/com.atproto.server.refreshSession", Fault.Answer(400, """{"error":"ExpiredToken","message":"Token has expired"}"""));
        Fake.Script("/xrpc/com.atproto.server.createSession", Fault.Answer(503, """{"error":"Unavailable"}"""));

        var job = await ShareAndWaitAsync("after", "bluesky-main");

        Assert.Equal("posted", job.GetProperty("state").GetString());
        Assert.Equal(2, Fake.PostsOn("bluesky"));
        // Nothing was in doubt: no look-up of the record (a crash there left the job mid-post for another run to confirm).
        Assert.Empty(Fake.To("/xrpc/com.atproto.repo.getRecord"));
    }
}
