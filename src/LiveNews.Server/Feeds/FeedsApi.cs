using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Xml;
using LiveNews.Server.Bus;
using LiveNews.Server.Newsroom;
using LiveNews.Server.Operations;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace LiveNews.Server.Feeds;

/// <summary>
/// The newest articles as Atom (RFC 4287) and JSON Feed 1.1, and a live blog's entries as Atom, for feed
/// readers and aggregators. Read from the same snapshots as every other public read, so removed content is
/// never in a feed. The ETag is the topic's position: any change publishes an event.
/// </summary>
internal static class FeedsApi
{
    public const string LatestAtom = "/feeds/latest.atom";
    public const string LatestJson = "/feeds/latest.json";

    private const string AtomNamespace = "http://www.w3.org/2005/Atom";

    public static string ArticleAtom(string articleId) => $"/feeds/articles/{articleId}.atom";

    public static IEndpointRouteBuilder MapFeeds(this IEndpointRouteBuilder endpoints)
    {
        var feeds = endpoints.MapGroup("").WithTags("Feeds").AllowAnonymous().RequireRateLimiting(Operations.RateLimiting.Public);
        feeds.MapGet(LatestAtom, LatestAtomAsync).WithName("LatestAtom").Produces(StatusCodes.Status200OK, contentType: "application/atom+xml");
        feeds.MapGet(LatestJson, LatestJsonAsync).WithName("LatestJsonFeed").Produces(StatusCodes.Status200OK, contentType: "application/feed+json");
        feeds.MapGet("/feeds/articles/{id}.atom", ArticleAtomAsync).WithName("ArticleAtom").Produces(StatusCodes.Status200OK, contentType: "application/atom+xml");
        return endpoints;
    }

    private static async Task<Results<Utf8ContentHttpResult, StatusCodeHttpResult>> LatestAtomAsync(HttpContext http, EventBus bus, IOptions<FeedOptions> feed, IOptions<WebSubOptions> websub)
    {
        var site = SiteBase(http, feed.Value);
        var self = site + LatestAtom;
        Discovery(http, self, websub.Value);
        if (await Revalidated.IsCurrentAsync(http, bus, Topic.Latest, "atom"))
        {
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        }

        var (read, articles, updated) = await ReadLatestAsync(bus);
        if (Revalidated.IsCurrent(http, read, "atom"))
        {
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        }

        return Atom(feed.Value.Title, self, self, site + "/", updated, websub.Value, feed.Value.Title, feed.Value.Language, writer =>
        {
            foreach (var article in articles)
            {
                WriteEntry(writer, site + ArticlePage(article.Id), article.Headline, article.PublishedAt, article.UpdatedAt, article.Url, article.Summary, article.Section);
            }
        });
    }

    private static async Task<Results<Utf8ContentHttpResult, StatusCodeHttpResult>> LatestJsonAsync(HttpContext http, EventBus bus, IOptions<FeedOptions> feed, IOptions<WebSubOptions> websub)
    {
        var site = SiteBase(http, feed.Value);
        Discovery(http, site + LatestJson, websub.Value);
        if (await Revalidated.IsCurrentAsync(http, bus, Topic.Latest, "json"))
        {
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        }

        var (read, articles, _) = await ReadLatestAsync(bus);
        if (Revalidated.IsCurrent(http, read, "json"))
        {
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        }

        var buffer = new ArrayBufferWriter<byte>(4096);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("version", "https://jsonfeed.org/version/1.1");
            json.WriteString("title", feed.Value.Title);
            json.WriteString("home_page_url", site + "/");
            json.WriteString("language", feed.Value.Language);
            json.WriteString("feed_url", site + LatestJson);
            json.WriteStartArray("authors");
            json.WriteStartObject();
            json.WriteString("name", feed.Value.Title);
            json.WriteEndObject();
            json.WriteEndArray();
            if (websub.Value.Enabled)
            {
                json.WriteStartArray("hubs");
                json.WriteStartObject();
                json.WriteString("type", "WebSub");
                json.WriteString("url", websub.Value.Hub);
                json.WriteEndObject();
                json.WriteEndArray();
            }

            json.WriteStartArray("items");
            foreach (var article in articles)
            {
                json.WriteStartObject();
                json.WriteString("id", site + ArticlePage(article.Id));
                json.WriteString("url", article.Url);
                json.WriteString("title", article.Headline);
                json.WriteString("content_text", article.Summary ?? article.Headline);
                if (article.Summary is not null)
                {
                    json.WriteString("summary", article.Summary);
                }

                if (article.ImageUrl is not null)
                {
                    json.WriteString("image", article.ImageUrl);
                }

                json.WriteString("date_published", UtcTimestampConverter.ToText(article.PublishedAt));
                json.WriteString("date_modified", UtcTimestampConverter.ToText(article.UpdatedAt));
                if (article.Section is not null)
                {
                    json.WriteStartArray("tags");
                    json.WriteStringValue(article.Section);
                    json.WriteEndArray();
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return TypedResults.Text(buffer.WrittenSpan, "application/feed+json; charset=utf-8");
    }

    private static async Task<Results<Utf8ContentHttpResult, StatusCodeHttpResult>> ArticleAtomAsync(string id, HttpContext http, EventBus bus, IOptions<FeedOptions> feed, IOptions<WebSubOptions> websub)
    {
        if (!Topic.IsValidArticleId(id))
        {
            return TypedResults.StatusCode(StatusCodes.Status404NotFound);
        }

        var site = SiteBase(http, feed.Value);
        var self = site + ArticleAtom(id);
        Discovery(http, self, websub.Value);
        if (await Revalidated.IsCurrentAsync(http, bus, Topic.Article(id), "atom"))
        {
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        }

        var read = await bus.ReadAsync(Topic.Article(id), afterSeq: null, withSnapshot: true);
        if (read.State is null || JsonSerializer.Deserialize<Article>(read.State, LiveNewsJson.Stored) is not { } article)
        {
            http.Response.Headers.Link = default;
            return TypedResults.StatusCode(StatusCodes.Status404NotFound);
        }

        // Newest first; the snapshot holds the pinned entries and the newest ones (older ones page back).
        var entries = Items<Entry>(read).OrderByDescending(e => e.PostedAt).ThenByDescending(e => e.Id, StringComparer.Ordinal).ToList();
        var updated = entries.Select(e => e.EditedAt ?? e.PostedAt).Append(article.UpdatedAt).Max();
        if (Revalidated.IsCurrent(http, read, "atom"))
        {
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        }

        var page = site + ArticlePage(id);
        return Atom(article.Headline, self, self, page, updated, websub.Value, feed.Value.Title, feed.Value.Language, writer =>
        {
            foreach (var entry in entries)
            {
                var url = page + "#entry-" + entry.Id;
                WriteEntry(writer, url, EntryTitle(entry), entry.PostedAt, entry.EditedAt ?? entry.PostedAt, url, entry.Text, null, content: true);
            }
        });
    }

    private static async Task<(TopicRead Read, List<Article> Articles, DateTimeOffset Updated)> ReadLatestAsync(EventBus bus)
    {
        var read = await bus.ReadAsync(Topic.Latest, afterSeq: null, withSnapshot: true);
        var articles = Items<Article>(read);
        return (read, articles, articles.Select(a => a.UpdatedAt).DefaultIfEmpty(DateTimeOffset.UnixEpoch).Max());
    }

    /// <summary>The server-rendered page of an article.</summary>
    public static string ArticlePage(string articleId) => "/articles/" + articleId;

    /// <summary>Where links point: <c>Feeds:BaseUrl</c>, or the address this request came to.</summary>
    public static string SiteBase(HttpContext http, FeedOptions options) =>
        options.Base ?? $"{http.Request.Scheme}://{http.Request.Host}{http.Request.PathBase}";

    /// <summary>An entry has no headline: its kind and its text's first words.</summary>
    public static string EntryTitle(Entry entry)
    {
        var text = entry.Text.ReplaceLineEndings(" ");
        var cut = text.LastIndexOf(' ', Math.Min(79, text.Length - 1));
        var end = cut > 20 ? cut : 79;
        // Never between the two halves of a character beyond the BMP (an emoji): XML and JSON writers refuse half.
        end -= end < text.Length && char.IsLowSurrogate(text[end]) ? 1 : 0;
        var excerpt = text.Length <= 80 ? text : text[..end] + "…";
        return entry.Kind == "entry" ? excerpt : $"{CultureInfo.InvariantCulture.TextInfo.ToTitleCase(entry.Kind)}: {excerpt}";
    }

    public static List<T> Items<T>(TopicRead read) =>
        [.. read.Items.Select(item => JsonSerializer.Deserialize<T>(item.Json, LiveNewsJson.Stored)).OfType<T>()];

    /// <summary>
    /// WebSub discovery (W3C WebSub section 4): the hub and the feed's own URL as <c>Link</c> headers, which a
    /// subscriber must find whatever the format; the feed's body names them too.
    /// </summary>
    private static void Discovery(HttpContext http, string self, WebSubOptions websub)
    {
        if (websub.Enabled)
        {
            http.Response.Headers.Link = $"<{websub.Hub}>; rel=\"hub\", <{self}>; rel=\"self\"";
        }
    }


    private static Utf8ContentHttpResult Atom(string title, string id, string self, string alternate, DateTimeOffset updated, WebSubOptions websub, string author, string language, Action<XmlWriter> entries)
    {
        var buffer = new MemoryStream();
        using (var writer = XmlWriter.Create(buffer, new XmlWriterSettings { Encoding = new UTF8Encoding(false), Async = false }))
        {
            writer.WriteStartDocument();
            writer.WriteStartElement("feed", AtomNamespace);
            writer.WriteAttributeString("xml", "lang", null, language);
            writer.WriteElementString("id", AtomNamespace, id);
            writer.WriteElementString("title", AtomNamespace, title);
            writer.WriteElementString("updated", AtomNamespace, UtcTimestampConverter.ToText(updated));
            writer.WriteStartElement("author", AtomNamespace);
            writer.WriteElementString("name", AtomNamespace, author);
            writer.WriteEndElement();
            Link(writer, "self", self, "application/atom+xml");
            Link(writer, "alternate", alternate, "text/html");
            if (websub.Enabled)
            {
                Link(writer, "hub", websub.Hub!, null);
            }

            entries(writer);
            writer.WriteEndElement();
            writer.WriteEndDocument();
        }

        return TypedResults.Text(buffer.ToArray(), "application/atom+xml; charset=utf-8");
    }

    private static void WriteEntry(XmlWriter writer, string id, string title, DateTimeOffset published, DateTimeOffset updated, string link, string? text, string? category, bool content = false)
    {
        writer.WriteStartElement("entry", AtomNamespace);
        writer.WriteElementString("id", AtomNamespace, id);
        writer.WriteElementString("title", AtomNamespace, title);
        writer.WriteElementString("published", AtomNamespace, UtcTimestampConverter.ToText(published));
        writer.WriteElementString("updated", AtomNamespace, UtcTimestampConverter.ToText(updated));
        Link(writer, "alternate", link, null);
        if (text is not null)
        {
            writer.WriteStartElement(content ? "content" : "summary", AtomNamespace);
            writer.WriteAttributeString("type", "text");
            writer.WriteString(text);
            writer.WriteEndElement();
        }

        if (category is not null)
        {
            writer.WriteStartElement("category", AtomNamespace);
            writer.WriteAttributeString("term", category);
            writer.WriteEndElement();
        }

        writer.WriteEndElement();
    }

    private static void Link(XmlWriter writer, string rel, string href, string? type)
    {
        writer.WriteStartElement("link", AtomNamespace);
        writer.WriteAttributeString("rel", rel);
        writer.WriteAttributeString("href", href);
        if (type is not null)
        {
            writer.WriteAttributeString("type", type);
        }

        writer.WriteEndElement();
    }
}
