using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace LiveNews.Server.Social.Adapters;

/// <summary>Fits a post's text and link within a network's length rules, trimming the text, never the link.</summary>
internal static partial class ShareText
{
    /// <summary>What X and Mastodon count for any URL, whatever its length.</summary>
    public const int UrlWeight = 23;

    private const string Ellipsis = "…";

    // Top-level domains a scheme-less domain must end in to count as a link (twitter-text checks a full TLD
    // list; this keeps the country codes and the common generic ones, so "Node.js" is no link but "bbc.co.uk" is).
    private const string Tlds =
        "com|net|org|edu|gov|mil|int|info|biz|name|pro|aero|coop|museum|mobi|asia|tel|travel|jobs|app|dev|page|blog|news|online|site|store|tech|xyz|top|club|shop|live|media|social|world|today|life|space|website|cloud|digital|email|link|agency|studio|press|"
        + "ac|ad|ae|af|ag|ai|al|am|ao|aq|ar|as|at|au|aw|ax|az|ba|bb|bd|be|bf|bg|bh|bi|bj|bm|bn|bo|br|bs|bt|bw|by|bz|ca|cc|cd|cf|cg|ch|ci|ck|cl|cm|cn|co|cr|cu|cv|cw|cx|cy|cz|de|dj|dk|dm|do|dz|ec|ee|eg|er|es|et|eu|fi|fj|fk|fm|fo|fr|ga|gd|ge|gf|gg|gh|gi|gl|gm|gn|gp|gq|gr|gs|gt|gu|gw|gy|hk|hm|hn|hr|ht|hu|id|ie|il|im|in|io|iq|ir|is|it|je|jm|jo|jp|ke|kg|kh|ki|km|kn|kp|kr|kw|ky|kz|la|lb|lc|li|lk|lr|ls|lt|lu|lv|ly|ma|mc|md|me|mg|mh|mk|ml|mm|mn|mo|mp|mq|mr|ms|mt|mu|mv|mw|mx|my|mz|na|nc|ne|nf|ng|ni|nl|no|np|nr|nu|nz|om|pa|pe|pf|pg|ph|pk|pl|pm|pn|pr|ps|pt|pw|py|qa|re|ro|rs|ru|rw|sa|sb|sc|sd|se|sg|sh|si|sk|sl|sm|sn|so|sr|ss|st|su|sv|sx|sy|sz|tc|td|tf|tg|th|tj|tk|tl|tm|tn|to|tr|tt|tv|tw|tz|ua|ug|uk|us|uy|uz|va|vc|ve|vg|vi|vn|vu|wf|ws|ye|yt|za|zm|zw";

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

    public static int Utf8Bytes(string text) => Encoding.UTF8.GetByteCount(text);

    /// <summary>The links a network sees in a text: with a scheme, or a bare domain such as <c>example.com/path</c>.</summary>
    public static IEnumerable<string> Links(string text) => LinkPattern().Matches(text).Select(m => m.Value);

    /// <summary>
    /// X's weighted length, as twitter-text (config v3) counts it: the text NFC-normalised, every URL (bare
    /// domains included) 23, every emoji sequence 2, and every other code point 1 when it is in the ranges
    /// 0-4351, 8192-8205, 8208-8223, 8242-8247 and 2 otherwise (so each combining mark counts on its own).
    /// </summary>
    public static int XWeighted(string text)
    {
        // Under invariant globalization (this server's setting) only ASCII is normalised, so a decomposed
        // accent counts two: the text is cut a little shorter than X would, never longer.
        text = text.Normalize(NormalizationForm.FormC);
        var total = 0;
        var at = 0;
        foreach (Match link in LinkPattern().Matches(text))
        {
            total += XWeightedWithoutLinks(text[at..link.Index]) + UrlWeight;
            at = link.Index + link.Length;
        }

        return total + XWeightedWithoutLinks(text[at..]);
    }

    /// <summary>
    /// Threads' count for its 500 limit: "emojis are counted as the number of UTF-8 bytes"; other characters
    /// count one per code point.
    /// </summary>
    public static int ThreadsLength(string text)
    {
        var total = 0;
        var graphemes = StringInfo.GetTextElementEnumerator(text);
        while (graphemes.MoveNext())
        {
            var element = (string)graphemes.Current;
            total += IsEmoji(element) ? Encoding.UTF8.GetByteCount(element) : element.EnumerateRunes().Count();
        }

        return total;
    }

    /// <summary>
    /// LinkedIn's "little text" commentary: every reserved character is escaped with a backslash, or LinkedIn
    /// silently cuts the post at the first one.
    /// </summary>
    public static string LittleText(string text)
    {
        var escaped = new StringBuilder(text.Length + 8);
        foreach (var c in text)
        {
            if (c is '|' or '{' or '}' or '@' or '[' or ']' or '(' or ')' or '<' or '>' or '#' or '\\' or '*' or '_' or '~')
            {
                escaped.Append('\\');
            }

            escaped.Append(c);
        }

        return escaped.ToString();
    }

    /// <summary>Slack's control characters as HTML entities, so a headline can neither break a link nor mention <c>&lt;!channel&gt;</c>.</summary>
    public static string SlackEscape(string text) => text.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal);

    private static int XWeightedWithoutLinks(string text)
    {
        var total = 0;
        var graphemes = StringInfo.GetTextElementEnumerator(text);
        while (graphemes.MoveNext())
        {
            var element = (string)graphemes.Current;
            if (IsEmoji(element))
            {
                total += 2;
                continue;
            }

            foreach (var rune in element.EnumerateRunes())
            {
                total += rune.Value is <= 4351 or (>= 8192 and <= 8205) or (>= 8208 and <= 8223) or (>= 8242 and <= 8247) ? 1 : 2;
            }
        }

        return total;
    }

    /// <summary>An emoji sequence: pictographs, dingbats, flags, keycaps, or anything with the emoji presentation selector.</summary>
    private static bool IsEmoji(string grapheme)
    {
        foreach (var rune in grapheme.EnumerateRunes())
        {
            if (rune.Value is (>= 0x1F000 and <= 0x1FAFF) or (>= 0x2600 and <= 0x27BF) or (>= 0x2B00 and <= 0x2BFF) or 0xFE0F or 0x20E3)
            {
                return true;
            }
        }

        return false;
    }

    // A link ends before trailing punctuation, as twitter-text's does; it never starts inside a word, an
    // e-mail address or another link.
    [GeneratedRegex(@"(?<![\p{L}\p{N}_@.\-/])(?:https?://[^\s<>""]*[^\s<>"".,:;!?)'""]|(?:[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?\.)+(?:" + Tlds + @")(?![\p{L}\p{N}_\-])(?:[/?#][^\s<>""]*[^\s<>"".,:;!?)'""])?)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex LinkPattern();
}
