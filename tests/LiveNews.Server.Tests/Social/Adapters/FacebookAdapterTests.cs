using LiveNews.Server.Tests.Infrastructure;

namespace LiveNews.Server.Tests.Social.Adapters;

/// <summary>Facebook Pages: Graph error codes and usage headers decide, and nothing is resent after a lost answer.</summary>
[Collection("redis")]
public sealed class FacebookAdapterTests(RedisFixture redis) : ShareTestBase(redis), IClassFixture<RedisFixture>
{
    private const string Route = "/v26.0/page-1/feed";

    // 32: Platform limits; 80001: the Business Use Case limit for Pages, which page tokens are under.
    [Theory]
    [InlineData(32, "(#32) Page request limit reached")]
    [InlineData(80001, "(#80001) There have been too many calls to this Page account. Wait a bit and try again.")]
    public async Task Share_PageThrottled_WaitsForTheWindowTheUsageHeaderGives(int code, string message)
    {
        var article = $"throttle-{code}";
        await PublishArticleAsync(article, "Throttled");
        var before = DateTimeOffset.UtcNow;
        Fake.Script(Route, Fault.Answer(400, $$$"""{"error":{"message":"{{{message}}}","type":"OAuthException","code":{{{code}}}}}""",
            new Dictionary<string, string> { ["X-Business-Use-Case-Usage"] = """{"1234":[{"type":"pages","call_count":100,"total_cputime":20,"total_time":20,"estimated_time_to_regain_access":17}]}""" }));
        await Share(article);

        var job = await WaitForStateAsync(article, "facebook-page", "failed");

        var next = job.GetProperty("nextAttemptAt").GetDateTimeOffset();
        Assert.InRange(next - before, TimeSpan.FromMinutes(16.9), TimeSpan.FromMinutes(17.5));
        Assert.Single(Fake.To(Route));
    }

    [Fact]
    public async Task Share_PolicyBlock368_WaitsAndRetriesInsteadOfDying()
    {
        await PublishArticleAsync("blocked", "Blocked");
        var before = DateTimeOffset.UtcNow;
        Fake.Script(Route, Fault.Answer(400, """{"error":{"message":"It looks like you were misusing this feature","type":"OAuthException","code":368}}"""));
        await Share("blocked");

        var job = await WaitForStateAsync("blocked", "facebook-page", "failed");

        Assert.True(job.GetProperty("nextAttemptAt").GetDateTimeOffset() - before >= TimeSpan.FromMinutes(29));
        Assert.Contains("368", job.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Share_AcceptedThen502_IsUnconfirmedAndNotResent()
    {
        await PublishArticleAsync("proxy", "Proxy lost the answer");
        Fake.Script(Route, Fault.AcceptThen(502));

        var job = await ShareAndWaitAsync("proxy", "facebook-page");

        Assert.Equal("unconfirmed", job.GetProperty("state").GetString());
        Assert.Single(Fake.To(Route));
        Assert.Equal(1, Fake.PostsOn("facebook"));
    }

    private async Task Share(string article)
    {
        using var editor = First.Editor();
        (await editor.PostJsonAsync($"/api/articles/{article}/shares", new { accounts = new[] { "facebook-page" } })).EnsureSuccessStatusCode();
    }
}
