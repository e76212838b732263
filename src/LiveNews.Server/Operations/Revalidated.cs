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
