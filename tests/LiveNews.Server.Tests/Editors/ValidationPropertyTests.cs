using System.Xml;
using FsCheck.Xunit;
using LiveNews.Server.Editors;

namespace LiveNews.Server.Tests.Editors;

/// <summary>Whatever a client sends as a URL or a line of text, what passes validation is safe to show a reader.</summary>
public sealed class ValidationPropertyTests
{
    [Property(MaxTest = 2000)]
    public bool OptionalUrl_AnyInput_PassesOnlyAbsoluteHttpOrHttps(string? input)
    {
        var check = new Validation();
        var url = check.OptionalUrl("url", input);
        if (input is null)
        {
            return url is null && check.IsValid;
        }

        return check.IsValid
            ? Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            : url is null && check.Errors.ContainsKey("url");
    }

    [Property(MaxTest = 2000)]
    public bool Text_AnyInput_PassesNoControlCharactersAndRespectsTheLimit(string? input)
    {
        var check = new Validation();
        var text = check.Text("headline", input, 50);
        return check.IsValid == (text.Length is > 0 and <= 50 && !text.Any(char.IsControl));
    }

    [Property(MaxTest = 2000)]
    public bool Text_AnyInput_WhatPassesFitsAnXmlFeed(string? input)
    {
        var check = new Validation();
        var text = check.Text("headline", input, 50);
        return !check.IsValid || XmlConvert.VerifyXmlChars(text) == text;
    }

    [Fact]
    public void Text_NotACharacter_IsRefused()
    {
        // Built in code: an attribute's string would carry lone surrogates as U+FFFD.
        string[] inputs = ["Headline \uFFFE", "Headline \uFFFF", "lone \uD83D high surrogate", "lone \uDE00 low surrogate", "\uDE00\uD83D reversed pair", "ends high \uD83D"];
        foreach (var input in inputs)
        {
            var check = new Validation();

            check.Text("headline", input, 300, multiline: true);

            Assert.True(check.Errors.TryGetValue("headline", out var errors), $"'{input}' should be refused");
            Assert.Contains("must be text", Assert.Single(errors));
        }
    }

    [Fact]
    public void Text_EmojiAndOtherPairs_Pass()
    {
        var check = new Validation();

        var text = check.Text("headline", "Goal \uD83D\uDE00 \u00E9t\u00E9 \u4E2D\u6587", 300);

        Assert.True(check.IsValid);
        Assert.Equal("Goal \uD83D\uDE00 \u00E9t\u00E9 \u4E2D\u6587", text);
    }
}
