using LiveNews.Server.Social.Adapters;

namespace LiveNews.Server.Tests.Social.Adapters;

/// <summary>How each network counts a post's length.</summary>
public sealed class ShareTextTests
{
    [Theory]
    [InlineData("Breaking", 8)]
    [InlineData("नमस्ते", 6)] // Devanagari: each combining sign is a code point of its own
    [InlineData("e\u0301", 2)] // twitter-text counts é once, but invariant globalization cannot normalise: one too many, never too few
    [InlineData("日本", 4)]
    [InlineData("👨‍👩‍👧", 2)] // one emoji sequence
    [InlineData("1️⃣", 2)] // keycap
    [InlineData("\r\n", 2)]
    [InlineData("example.com", 23)]
    [InlineData("Read bbc.co.uk/news now", 5 + 23 + 4)]
    [InlineData("see https://news.example/a-very-long-path?with=query.", 4 + 23 + 1)]
    [InlineData("Node.js and e.g. U.S.", 21)] // not links
    [InlineData("mail news@example.com", 21)] // an address is no link
    public void XWeighted_Text_CountsAsTwitterTextDoes(string text, int expected) =>
        Assert.Equal(expected, ShareText.XWeighted(text));

    [Theory]
    [InlineData("Fire", 4)]
    [InlineData("🔥", 4)]
    [InlineData("a🔥b", 6)]
    [InlineData("👍🏽", 8)]
    [InlineData("Zürich", 6)]
    public void ThreadsLength_Text_CountsEmojiAsUtf8Bytes(string text, int expected) =>
        Assert.Equal(expected, ShareText.ThreadsLength(text));

    [Fact]
    public void LittleText_ReservedCharacters_AreEscaped() =>
        Assert.Equal(@"Fire \(update\): \#1 \@city\_news \| \~ \* \[a\] \{b\} \<c\> \\", ShareText.LittleText(@"Fire (update): #1 @city_news | ~ * [a] {b} <c> \"));

    [Fact]
    public void SlackEscape_ControlCharacters_BecomeEntities() =>
        Assert.Equal("&lt;!channel&gt; &amp; more", ShareText.SlackEscape("<!channel> & more"));
}
