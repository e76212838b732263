using LiveNews.Server.Tests.Infrastructure;

namespace LiveNews.Server.Tests.Social.Adapters;

/// <summary>Slack and Discord: what an editor or a headline writes cannot ping a channel or break the link.</summary>
[Collection("redis")]
public sealed class WebhookAdapterTests(RedisFixture redis) : ShareTestBase(redis), IClassFixture<RedisFixture>
{
    [Fact]
    public async Task Slack_ControlCharactersInTextAndHeadline_AreEscaped()
    {
        await PublishArticleAsync("qa", "Q&A: <b> > all | more");

        await ShareAndWaitAsync("qa", "slack-desk", "Heads up <!channel> & <@U123>");

        var text = Assert.Single(Fake.To("/hooks/slack")).Json.GetProperty("text").GetString()!;
        Assert.Equal("Heads up &lt;!channel&gt; &amp; &lt;@U123&gt;\n<https://news.example/qa?utm_source=webhook|Q&amp;A: &lt;b&gt; &gt; all | more>", text);
    }

    [Fact]
    public async Task Discord_Mentions_AreNotParsed()
    {
        await PublishArticleAsync("ping", "Ping");

        await ShareAndWaitAsync("ping", "discord-desk", "@everyone @here look");

        var body = Assert.Single(Fake.To("/hooks/discord")).Json;
        Assert.Empty(body.GetProperty("allowed_mentions").GetProperty("parse").EnumerateArray());
    }

    [Fact]
    public async Task Discord_TextLongerThanAMessage_IsTrimmedAndTheLinkKept()
    {
        await PublishArticleAsync("long", "Long read");

        var job = await ShareAndWaitAsync("long", "discord-desk", string.Join(' ', Enumerable.Repeat("word", 420)));

        Assert.Equal("posted", job.GetProperty("state").GetString());
        var content = Assert.Single(Fake.To("/hooks/discord")).Json.GetProperty("content").GetString()!;
        Assert.InRange(content.Length, 1900, 2000);
        Assert.EndsWith("\nhttps://news.example/long?utm_source=webhook", content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Slack_500_IsUnconfirmedAndNotResent()
    {
        await PublishArticleAsync("rollup", "Rollup");
        Fake.Script(FakeNetworks.HookPath("slack"), Fault.AcceptThen(500));

        var job = await ShareAndWaitAsync("rollup", "slack-desk");

        Assert.Equal("unconfirmed", job.GetProperty("state").GetString());
        Assert.Single(Fake.To("/hooks/slack"));
    }
}
