using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using LiveNews.Server.Bus;
using LiveNews.Server.Feeds;
using LiveNews.Server.Newsroom;
using LiveNews.Server.Operations;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace LiveNews.Server.Pages;

/// <summary>
/// <c>GET /articles/{id}</c>: the article and its entries as HTML made on the server, for readers without
/// JavaScript and for crawlers, with schema.org JSON-LD: a <c>LiveBlogPosting</c> while (or after) the
/// article was covered live, a <c>NewsArticle</c> otherwise. A small module script then keeps the page live
/// with <c>/livenews.js</c>. Read from the same snapshot and pages as every public read: a removed entry
/// is gone from the page and its markup at once.
/// </summary>
internal static class ArticlePages
{
    private const int PageSize = 20;
    private static readonly HtmlEncoder Html = HtmlEncoder.Default;

    public static IEndpointRouteBuilder MapArticlePages(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/articles/{id}", PageAsync)
            .WithTags("Pages").WithName("ArticlePage").AllowAnonymous()
            .RequireRateLimiting(Operations.RateLimiting.Public)
            .Produces(StatusCodes.Status200OK, contentType: "text/html");
        return endpoints;
    }

    // Reads of the snapshot and the page that a live blog changing in between sends round again, at most.
    private const int MaxReads = 5;

    private static async Task<Results<Utf8ContentHttpResult, StatusCodeHttpResult>> PageAsync(string id, string? before, HttpContext http, EventBus bus, IOptions<FeedOptions> options)
    {
        if (!Topic.IsValidArticleId(id) || (before is not null && !Slug.IsValid(before)))
        {
            return TypedResults.StatusCode(StatusCodes.Status404NotFound);
        }

        var topic = Topic.Article(id);
        if (await Revalidated.IsCurrentAsync(http, bus, topic, "html" + (before ?? "")))
        {
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        }

        // Two reads, the snapshot (the article, pinned entries, the ETag) and the page of entries: both must be of one
        // position, or an entry deleted (an article unpublished) between them would show from the older one.
        TopicRead read;
        TopicPage? page;
        var attempts = 0;
        do
        {
            if (++attempts > MaxReads)
            {
                http.Response.Headers.RetryAfter = "1";
                return TypedResults.StatusCode(StatusCodes.Status503ServiceUnavailable);
            }

            read = await bus.ReadAsync(topic, afterSeq: null, withSnapshot: true);
            page = read.State is null ? null : await bus.PageAsync(topic, before is null ? null : new PageCursor(before, null), PageSize);
        }
        while (page is not null && (page.Epoch != read.Epoch || page.Seq != read.Seq));

        if (page is not { HasState: true } || JsonSerializer.Deserialize<Article>(read.State!, LiveNewsJson.Stored) is not { } article)
        {
            return TypedResults.StatusCode(StatusCodes.Status404NotFound);
        }

        // Pinned entries head the first page; the rest are newest first, paged back with ?before=.
        var pinned = before is null ? FeedsApi.Items<Entry>(read).Where(e => e.Pinned).OrderByDescending(e => e.PostedAt).ToList() : [];
        var entries = page.Items.Select(item => JsonSerializer.Deserialize<Entry>(item, LiveNewsJson.Stored)).OfType<Entry>()
            .Where(e => !(before is null && e.Pinned)).ToList();
        var updated = pinned.Concat(entries).Select(e => e.EditedAt ?? e.PostedAt).Append(article.UpdatedAt).Max();
        if (Revalidated.IsCurrent(http, read, "html" + (before ?? "")))
        {
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        }

        var site = FeedsApi.SiteBase(http, options.Value);
        var url = site + FeedsApi.ArticlePage(id);
        var html = new StringBuilder(8192);
        html.Append("<!doctype html>\n<html lang=\"").Append(options.Value.Language).Append("\">\n<head>\n<meta charset=\"utf-8\">\n")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
            .Append("<title>").Append(Html.Encode(article.Headline)).Append("</title>\n")
            .Append("<link rel=\"canonical\" href=\"").Append(Html.Encode(url)).Append("\">\n")
            .Append("<link rel=\"alternate\" type=\"application/atom+xml\" href=\"").Append(Html.Encode(site + FeedsApi.ArticleAtom(id))).Append("\">\n");
        if (article.Summary is not null)
        {
            html.Append("<meta name=\"description\" content=\"").Append(Html.Encode(article.Summary)).Append("\">\n");
        }

        html.Append("<script type=\"application/ld+json\">").Append(Encoding.UTF8.GetString(StructuredData(article, url, pinned.Concat(entries), updated, options.Value.Title))).Append("</script>\n")
            .Append("</head>\n<body>\n<article id=\"article\" data-topic=\"").Append(Html.Encode(topic.Name)).Append("\">\n")
            .Append("<h1 id=\"headline\">").Append(Html.Encode(article.Headline)).Append("</h1>\n");
        if (article.LiveCoverage is { } coverage)
        {
            html.Append("<p id=\"coverage\">").Append(coverage.EndedAt is null ? "LIVE" : "Live coverage ended").Append("</p>\n");
        }

        if (article.Summary is not null)
        {
            html.Append("<p id=\"summary\">").Append(Html.Encode(article.Summary)).Append("</p>\n");
        }

        html.Append("<p><a id=\"original\" href=\"").Append(Html.Encode(article.Url)).Append("\">Full article</a> · ").Append(Time(article.PublishedAt)).Append("</p>\n");
        html.Append("<section aria-label=\"Pinned\"><ol id=\"pinned\">\n");
        foreach (var entry in pinned)
        {
            Entry(html, entry);
        }

        html.Append("</ol></section>\n<section aria-label=\"Updates\"><ol id=\"entries\">\n");
        foreach (var entry in entries)
        {
            Entry(html, entry);
        }

        html.Append("</ol>\n");
        if (page.Next is { } next)
        {
            html.Append("<p><a id=\"older\" rel=\"next\" href=\"").Append(Html.Encode(FeedsApi.ArticlePage(id) + "?before=" + Uri.EscapeDataString(next.ItemId))).Append("\">Older updates</a></p>\n");
        }

        html.Append("</section>\n</article>\n");
        if (before is null)
        {
            // Progressive enhancement: the page above is complete; with JavaScript it follows the topic.
            html.Append("<script type=\"module\" src=\"/live-article.js\"></script>\n");
        }

        html.Append("</body>\n</html>\n");
        return TypedResults.Text(Encoding.UTF8.GetBytes(html.ToString()), "text/html; charset=utf-8");
    }

    private static void Entry(StringBuilder html, Entry entry) =>
        html.Append("<li id=\"entry-").Append(Html.Encode(entry.Id)).Append("\" class=\"entry ").Append(Html.Encode(entry.Kind)).Append("\">")
            .Append(Time(entry.PostedAt)).Append(' ')
            .Append("<p>").Append(Html.Encode(entry.Text)).Append("</p></li>\n");

    private static string Time(DateTimeOffset at)
    {
        var text = UtcTimestampConverter.ToText(at);
        return $"<time datetime=\"{text}\">{at.UtcDateTime:yyyy-MM-dd HH:mm} UTC</time>";
    }

    /// <summary>
    /// schema.org JSON-LD. The writer's default encoder escapes <c>&lt;</c>, <c>&gt;</c> and <c>&amp;</c> as
    /// <c>\u003C</c>…, so no value can close the <c>script</c> element it sits in.
    /// </summary>
    internal static byte[] StructuredData(Article article, string url, IEnumerable<Entry> entries, DateTimeOffset modified, string publisher)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.Default }))
        {
            json.WriteStartObject();
            json.WriteString("@context", "https://schema.org");
            json.WriteString("@type", article.LiveCoverage is null ? "NewsArticle" : "LiveBlogPosting");
            json.WriteString("headline", article.Headline);
            json.WriteString("url", url);
            json.WriteString("mainEntityOfPage", url);
            json.WriteString("datePublished", UtcTimestampConverter.ToText(article.PublishedAt));
            json.WriteString("dateModified", UtcTimestampConverter.ToText(modified));
            if (article.Summary is not null)
            {
                json.WriteString("description", article.Summary);
            }

            if (article.ImageUrl is not null)
            {
                json.WriteString("image", article.ImageUrl);
            }

            json.WriteStartObject("publisher");
            json.WriteString("@type", "Organization");
            json.WriteString("name", publisher);
            json.WriteEndObject();
            if (article.LiveCoverage is { } coverage)
            {
                json.WriteString("coverageStartTime", UtcTimestampConverter.ToText(coverage.StartedAt));
                if (coverage.EndedAt is { } ended)
                {
                    json.WriteString("coverageEndTime", UtcTimestampConverter.ToText(ended));
                }

                json.WriteStartArray("liveBlogUpdate");
                foreach (var entry in entries)
                {
                    json.WriteStartObject();
                    json.WriteString("@type", "BlogPosting");
                    json.WriteString("headline", FeedsApi.EntryTitle(entry));
                    json.WriteString("articleBody", entry.Text);
                    json.WriteString("datePublished", UtcTimestampConverter.ToText(entry.PostedAt));
                    if (entry.EditedAt is { } edited)
                    {
                        json.WriteString("dateModified", UtcTimestampConverter.ToText(edited));
                    }

                    json.WriteString("url", url + "#entry-" + entry.Id);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
            }

            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
