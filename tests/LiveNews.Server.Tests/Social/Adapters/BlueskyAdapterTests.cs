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
    public async Task RecordMadeAnswerLost_LookUpsFailDuringAnOutage_JobWaitsAndIsFoundPostedOnceThePdsAnswers()
    {
        await PublishArticleAsync("outage", "PDS outage");
        Fake.Script("/xrpc/com.atproto.repo.createRecord", Fault.AcceptThen(502));
        // More failed look-ups than the first run makes (one per try: 1 + MaxRetries 3), so the confirmation of a
        // later run meets the outage too: that is no reason to hand the job to an editor.
        Fake.Script("/xrpc/com.atproto.repo.getRecord", [.. Enumerable.Repeat(Fault.Answer(502, """{"error":"upstream"}"""), 6)]);

        var job = await ShareAndWaitAsync("outage", "bluesky-main");

        Assert.Equal("posted", job.GetProperty("state").GetString());
        Assert.Equal(1, Fake.PostsOn("bluesky"));
        Assert.True(Fake.To("/xrpc/com.atproto.repo.getRecord").Count() > 6);
    }

    [Fact]
    public async Task RecordMadeAnswerLost_LookUpsAnswerUnreadablePages_JobEndsPostedNotStuckMidPost()
    {
        await PublishArticleAsync("proxy", "Proxy page");
        Fake.Script("/xrpc/com.atproto.repo.createRecord", Fault.AcceptThen(502));
        // A proxy's page with 200, ten times: a job left mid-post (taken again only as each 4 s lease ends) would
        // not get through them within the wait.
        Fake.Script("/xrpc/com.atproto.repo.getRecord", [.. Enumerable.Repeat(Fault.Answer(200, "<html>gateway</html>"), 10)]);

        var job = await ShareAndWaitAsync("proxy", "bluesky-main");

        Assert.Equal("posted", job.GetProperty("state").GetString());
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
