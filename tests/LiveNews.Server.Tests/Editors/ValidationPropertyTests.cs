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
}
