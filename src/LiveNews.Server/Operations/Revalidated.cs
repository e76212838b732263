using LiveNews.Server.Bus;

namespace LiveNews.Server.Operations;

/// <summary>
/// How public reads that carry a topic's position as their ETag (feeds, pages, paging) may be cached: a cache
/// keeps them but asks again before each use (<c>no-cache</c>), and gets a 304 while the topic has not moved.
/// With a lifetime instead, a CDN or browser went on showing a taken-down entry or article for that long
/// without asking; takedowns are total.
/// </summary>
internal static class Revalidated
{
    public const string CacheControl = "public, no-cache";

    /// <summary>
    /// The ETag of a read of a topic at a position: any change of the topic publishes an event, which moves it. A
    /// <paramref name="variant"/> tells apart the forms read from the same topic (Atom, JSON, a page).
    /// </summary>
    public static string TopicTag(string epoch, long seq, string? variant = null) =>
        variant is null ? $"\"{epoch}.{seq}\"" : $"\"{epoch}.{seq}.{variant}\"";

    /// <summary>
    /// Sets ETag and Cache-Control for a form of a topic's read; true when the client's copy is current. No
    /// Last-Modified: the newest time among the items left goes back when the newest is taken down, and a cache
    /// answering <c>If-Modified-Since</c> on its own would then keep the taken-down copy.
    /// </summary>
    public static bool IsCurrent(HttpContext http, TopicRead read, string variant) =>
        IsCurrent(http, TopicTag(read.Epoch, read.Seq, variant));

    /// <summary>
    /// True (with the ETag and Cache-Control set) when the request's copy is current, judged from the topic's
    /// position alone (two fields in Redis), before the whole snapshot is read: with <c>no-cache</c>, caches ask on
    /// every use, and most answers are 304s. A copy has this tag only from a 200 of that position, and any change
    /// since moved it; <c>*</c> (any copy) is left to the full read, which knows whether there is one to have.
    /// </summary>
    public static async Task<bool> IsCurrentAsync(HttpContext http, EventBus bus, Topic topic, string variant)
    {
        if (http.Request.Headers.IfNoneMatch.Count == 0)
        {
            return false;
        }

        var head = await bus.ReadAsync(topic, afterSeq: null, withSnapshot: false);
        var etag = TopicTag(head.Epoch, head.Seq, variant);
        return head.Seq > 0 && Matches(http.Request, etag, orAny: false) && IsCurrent(http, etag);
    }

    /// <summary>
    /// Sets the ETag and Cache-Control; true when the request's <c>If-None-Match</c> holds that tag (<see cref="Matches"/>).
    /// </summary>
    public static bool IsCurrent(HttpContext http, string etag)
    {
        var headers = http.Response.Headers;
        headers.ETag = etag;
        headers.CacheControl = CacheControl;
        return Matches(http.Request, etag, orAny: true);
    }

    /// <summary>
    /// True when the request's <c>If-None-Match</c> holds <paramref name="etag"/>, or <c>*</c> when
    /// <paramref name="orAny"/>. The weak comparison RFC 9110 asks of <c>If-None-Match</c>: a proxy that compresses
    /// the answer (nginx's gzip) hands the client the tag as <c>W/"…"</c>.
    /// </summary>
    public static bool Matches(HttpRequest request, string etag, bool orAny)
    {
        foreach (var value in request.Headers.IfNoneMatch)
        {
            foreach (var tag in (value ?? "").Split(',', StringSplitOptions.TrimEntries))
            {
                if ((orAny && tag == "*") || (tag.StartsWith("W/", StringComparison.Ordinal) ? tag[2..] : tag) == etag)
                {
                    return true;
                }
            }
        }

        return false;
    }
}
