using System.ComponentModel.DataAnnotations;

namespace LiveNews.Server.Feeds;

/// <summary>Atom and JSON feeds, and the server-rendered article pages. Bound from the <c>Feeds</c> section.</summary>
public sealed class FeedOptions
{
    public const string SectionName = "Feeds";

    /// <summary>The newsroom's name: feed titles and their author.</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Feeds:Title must not be empty.")]
    [StringLength(200, ErrorMessage = "Feeds:Title must be at most 200 characters.")]
    public string Title { get; set; } = "LiveNews";

    /// <summary>
    /// The language of the newsroom's articles, as a BCP 47 tag (<c>en</c>, <c>es</c>, <c>pt-BR</c>): the pages'
    /// <c>html lang</c>, the feeds' <c>xml:lang</c> and <c>language</c>, the <c>langs</c> of Bluesky posts and the
    /// <c>language</c> of Mastodon statuses, which those networks' language filters go by.
    /// </summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Feeds:Language must be a BCP 47 language tag such as en, es or pt-BR.")]
    [RegularExpression("^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$", ErrorMessage = "Feeds:Language must be a BCP 47 language tag such as en, es or pt-BR.")]
    public string Language { get; set; } = "en";

    /// <summary>
    /// The public address readers reach this service at (<c>https://live.news.example</c>): ids and links of
    /// feeds and pages, and the feed URLs WebSub pings name. Unset: the address of each request.
    /// </summary>
    public string? BaseUrl { get; set; }

    /// <summary><see cref="BaseUrl"/> parsed, without a trailing slash; null when unset.</summary>
    internal string? Base => string.IsNullOrEmpty(BaseUrl) ? null : BaseUrl.TrimEnd('/');
}

/// <summary>Announcing feed changes to a WebSub hub. Bound from the <c>WebSub</c> section.</summary>
public sealed class WebSubOptions
{
    public const string SectionName = "WebSub";

    /// <summary>The hub (<c>https://pubsubhubbub.appspot.com/</c>); unset: feeds name no hub and nothing is pinged.</summary>
    public string? Hub { get; set; }

    /// <summary>Changes of one feed within this window make one ping.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00", ErrorMessage = "WebSub:CoalesceWindow must be between 00:00:00.050 and 00:10:00.")]
    public TimeSpan CoalesceWindow { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a node holds a ping it took before another node may take it over.</summary>
    [Range(typeof(TimeSpan), "00:00:05", "01:00:00", ErrorMessage = "WebSub:LeaseTime must be between 00:00:05 and 01:00:00.")]
    public TimeSpan LeaseTime { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How often each node looks for pings that are due.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00", ErrorMessage = "WebSub:PollInterval must be between 00:00:00.010 and 00:01:00.")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>When a hub failed every attempt of a ping, the ping waits this long and is tried again.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00", ErrorMessage = "WebSub:RetryAfter must be between 00:00:01 and 01:00:00.")]
    public TimeSpan RetryAfter { get; set; } = TimeSpan.FromSeconds(30);

    internal bool Enabled => !string.IsNullOrEmpty(Hub);

    internal static bool IsHttpUrl(string? value) =>
        string.IsNullOrEmpty(value) || (Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && string.IsNullOrEmpty(uri.Query) && string.IsNullOrEmpty(uri.Fragment));
}
