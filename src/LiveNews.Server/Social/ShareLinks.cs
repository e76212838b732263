using Microsoft.AspNetCore.WebUtilities;

namespace LiveNews.Server.Social;

/// <summary>Reader-side sharing: intent URLs for an article's share buttons, properly encoded.</summary>
internal static class ShareLinks
{
    /// <summary>The article URL with the configured UTM parameters (<c>{network}</c> in a value becomes the network).</summary>
    public static string Tagged(string url, IReadOnlyDictionary<string, string> utm, string network)
    {
        var tagged = url;
        foreach (var (name, value) in utm)
        {
            tagged = QueryHelpers.AddQueryString(tagged, name, value.Replace("{network}", network, StringComparison.Ordinal));
        }

        return tagged;
    }

    public static Dictionary<string, string> For(string url, string headline, IReadOnlyDictionary<string, string> utm)
    {
        string Link(string network) => Uri.EscapeDataString(Tagged(url, utm, network));
        var title = Uri.EscapeDataString(headline);
        return new Dictionary<string, string>
        {
            ["x"] = $"https://x.com/intent/post?text={title}&url={Link("x")}",
            ["facebook"] = $"https://www.facebook.com/sharer/sharer.php?u={Link("facebook")}",
            ["linkedin"] = $"https://www.linkedin.com/sharing/share-offsite/?url={Link("linkedin")}",
            ["reddit"] = $"https://www.reddit.com/submit?url={Link("reddit")}&title={title}",
            ["whatsapp"] = $"https://wa.me/?text={Uri.EscapeDataString($"{headline} {Tagged(url, utm, "whatsapp")}")}",
            ["telegram"] = $"https://t.me/share/url?url={Link("telegram")}&text={title}",
            ["bluesky"] = $"https://bsky.app/intent/compose?text={Uri.EscapeDataString($"{headline} {Tagged(url, utm, "bluesky")}")}",
            ["email"] = $"mailto:?subject={title}&body={Link("email")}",
        };
    }

    /// <summary>The path a reader appends to their own Mastodon instance (<c>https://their.instance</c> + path).</summary>
    public static string MastodonPath(string url, string headline, IReadOnlyDictionary<string, string> utm) =>
        $"/share?text={Uri.EscapeDataString($"{headline} {Tagged(url, utm, "mastodon")}")}";
}
