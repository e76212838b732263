using System.Text.RegularExpressions;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using LiveNews.Server.Bus;

namespace LiveNews.Server.Tests.Bus;

/// <summary>Topic names decide Redis keys and channels: only the documented names may pass, whatever comes in.</summary>
public sealed partial class TopicPropertyTests
{
    private static readonly string[] Fixed = ["live", "breaking", "latest", "newsroom"];

    [Property(MaxTest = 2000)]
    public bool TryParse_AnyString_AcceptsExactlyTheDocumentedNames(string? name) => Check(name);

    [Property(MaxTest = 2000, Arbitrary = [typeof(NearTopics)])]
    public bool TryParse_NearlyValidNames_AcceptsExactlyTheDocumentedNames(string name) => Check(name);

    // Found by the property above in CI: a name with a final newline, which an oracle ending in $ accepted.
    [Theory]
    [InlineData("article:czzzb\n")]
    [InlineData("live\n")]
    public void TryParse_FinalNewline_IsRefused(string name) => Assert.True(Check(name) && !Topic.TryParse(name, out _, out _));

    private static bool Check(string? name)
    {
        var accepted = Topic.TryParse(name, out var topic, out var error);
        var expected = name is not null && (Fixed.Contains(name) || ArticleName().IsMatch(name));
        if (accepted != expected)
        {
            return false;
        }

        // An accepted name never carries Redis pattern or hash-tag characters into keys and channels.
        return accepted
            ? topic!.Value.Name == name && name!.IndexOfAny(['*', '?', '[', ']', '{', '}', ' ']) < 0
            : !string.IsNullOrEmpty(error) && !error.Any(char.IsControl);
    }

    // \z, not $: $ also matches before a final newline, which the oracle must not accept.
    [GeneratedRegex(@"^article:[a-z0-9-]{1,128}\z")]
    private static partial Regex ArticleName();

    public static class NearTopics
    {
        public static Arbitrary<string> Names()
        {
            var chars = Gen.Elements("abcz09-_*?[]{}:A É\n\u0000".ToCharArray());
            var suffix = Gen.Sized(size => Gen.ArrayOf(chars, Math.Min(size * 3, 140)).Select(c => new string(c)));
            var prefix = Gen.Elements("article:", "article", "Article:", "", "live", "breaking:", "article::");
            return Arb.From(prefix.SelectMany(p => suffix.Select(s => p + s)));
        }
    }
}
