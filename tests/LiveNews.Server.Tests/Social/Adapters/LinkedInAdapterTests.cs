using LiveNews.Server.Tests.Infrastructure;

namespace LiveNews.Server.Tests.Social.Adapters;

/// <summary>LinkedIn against a fake that sunsets old versions (426) and cuts unescaped little text, as LinkedIn does.</summary>
[Collection("redis")]
public sealed class LinkedInAdapterTests(RedisFixture redis) : ShareTestBase(redis), IClassFixture<RedisFixture>
{
    [Fact]
    public async Task Share_DefaultVersion_IsStillServed()
    {
        await PublishArticleAsync("version", "Version");

        var job = await ShareAndWaitAsync("version", "linkedin-org");

        Assert.Equal("posted", job.GetProperty("state").GetString());
        Assert.True(string.CompareOrdinal(Assert.Single(Fake.To("/rest/posts")).Headers["LinkedIn-Version"], FakeNetworks.LinkedInOldestVersion) >= 0);
    }

    [Fact]
    public async Task Share_SunsetVersion_IsDeadWithReasonNamingTheSetting()
    {
        var node = Node(configure: s => s[Setting("linkedin-org") + "ApiVersion"] = "202411");
        await PublishArticleAsync("sunset", "Sunset");
        await StopAsync(First);

        using var editor = node.Editor();
        (await editor.PostJsonAsync("/api/articles/sunset/shares", new { accounts = new[] { "linkedin-org" } })).EnsureSuccessStatusCode();
        var job = await WaitForTerminalAsync("sunset", "linkedin-org", node: node);

        Assert.Equal("dead", job.GetProperty("state").GetString());
        var reason = job.GetProperty("reason").GetString()!;
        Assert.Contains(Setting("linkedin-org") + "ApiVersion", reason);
        Assert.Contains("426", reason);
    }

    [Fact]
    public async Task Share_ReservedCharacters_AreEscapedSoLinkedInShowsTheWholeText()
    {
        const string Text = "Fire (update): 3 dead #breaking @city_news [live] *now* ~ <b> {x} | a\\b";
        await PublishArticleAsync("fire", "Fire");

        var job = await ShareAndWaitAsync("fire", "linkedin-org", Text);

        Assert.Equal("posted", job.GetProperty("state").GetString());
        Assert.Equal(Text, Assert.Single(Fake.LinkedInShown));
    }
}
