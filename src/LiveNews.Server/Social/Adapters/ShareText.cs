using System.Globalization;
using System.Text;

namespace LiveNews.Server.Social.Adapters;

/// <summary>Fits a post's text and link within a network's length rules, trimming the text, never the link.</summary>
internal static class ShareText
{
    private const string Ellipsis = "…";

    /// <summary>
    /// <paramref name="text"/>, a blank line and <paramref name="link"/>, within <paramref name="max"/> as
    /// counted by <paramref name="length"/> (a link counts <paramref name="linkWeight"/> where the network says so).
    /// </summary>
    public static string WithLink(string text, string link, int max, Func<string, int> length, int? linkWeight = null)
    {
        var linkCost = (linkWeight ?? length(link)) + 2;
        return Fit(text.Trim(), max - linkCost, length) + "\n\n" + link;
    }

    /// <summary>Trims at a grapheme boundary (an emoji or an accented letter is never cut in half).</summary>
    public static string Fit(string text, int max, Func<string, int> length)
    {
        if (length(text) <= max)
        {
            return text;
        }

        var graphemes = StringInfo.GetTextElementEnumerator(text);
        var result = new StringBuilder();
        while (graphemes.MoveNext())
        {
            var next = result + (string)graphemes.Current + Ellipsis;
            if (length(next) > max)
            {
                break;
            }

            result.Append((string)graphemes.Current);
        }

        return result.ToString().TrimEnd() + Ellipsis;
    }

    public static int Graphemes(string text) => new StringInfo(text).LengthInTextElements;

    /// <summary>
    /// X's weighted length: most Latin, punctuation and general symbols count 1, other characters
    /// (CJK, emoji) count 2.
    /// </summary>
    public static int XWeighted(string text)
    {
        var total = 0;
        var graphemes = StringInfo.GetTextElementEnumerator(text);
        while (graphemes.MoveNext())
        {
            var element = (string)graphemes.Current;
            var rune = Rune.GetRuneAt(element, 0).Value;
            total += rune is <= 0x10FF or (>= 0x2000 and <= 0x200D) or (>= 0x2010 and <= 0x201F) or (>= 0x2032 and <= 0x2037) ? 1 : 2;
        }

        return total;
    }
}
