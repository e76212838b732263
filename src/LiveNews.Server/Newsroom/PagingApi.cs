using System.Buffers;
using System.Globalization;
using System.Text.Json;
using LiveNews.Server.Bus;
using LiveNews.Server.Editors;
using LiveNews.Server.Operations;
using Microsoft.AspNetCore.Http.HttpResults;

namespace LiveNews.Server.Newsroom;

/// <summary>
/// Public paging of what snapshots leave out: every entry of a live blog, every published article ("All
/// Articles"). Newest first, by cursor, so a walk meets every item exactly once while editors keep posting.
/// Each answer carries an ETag of the topic's position: any change publishes an event, so an unchanged
/// position means an unchanged page, and a CDN can revalidate cheaply.
/// </summary>
internal static class PagingApi
{
    private const int DefaultLimit = 20;
    private const int MaxLimit = 100;

    public static void MapPaging(this RouteGroupBuilder readers)
    {
        readers.MapGet("/articles/{id}/entries", EntriesAsync).WithName("GetEntries");
        readers.MapGet("/articles", ArticlesAsync).WithName("GetArticles");
    }

    private static async Task<Results<Utf8ContentHttpResult, StatusCodeHttpResult, ValidationProblem, ProblemHttpResult>> EntriesAsync(
        string id, string? before, int? limit, HttpContext http, EventBus bus)
    {
        var check = new Validation();
        if (!Slug.IsValid(id))
        {
            return ArticlesApi.NotFound();
        }

        if (before is not null && !Slug.IsValid(before))
        {
            check.Add("before", "'before' must be an entry id from a previous page's 'next'.");
        }

        var size = Limit(check, limit);
        if (!check.IsValid)
        {
            return TypedResults.ValidationProblem(check.Errors);
        }

        var page = await bus.PageAsync(Topic.Article(id), before is null ? null : new PageCursor(before, null), size);
        if (page is null)
        {
            // No such entry, or no article any more: unpublishing removes its entries, their order with them, so a
            // reader paging on from a page read before would be told the cursor was wrong.
            return (await bus.GetStateAtAsync(Topic.Article(id))).State is null
                ? ArticlesApi.NotFound()
                : TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["before"] = ["This article has no entry with this id."] });
        }

        return page.HasState ? Answer(http, "entries", page, page.Next?.ItemId) : ArticlesApi.NotFound();
    }

    private static async Task<Results<Utf8ContentHttpResult, StatusCodeHttpResult, ValidationProblem, ProblemHttpResult>> ArticlesAsync(
        string? before, int? limit, string? section, HttpContext http, EventBus bus)
    {
        var check = new Validation();
        PageCursor? cursor = null;
        if (before is not null)
        {
            cursor = ParseArticleCursor(before);
            if (cursor is null)
            {
                check.Add("before", "'before' must be the 'next' of a previous page.");
            }
        }

        if (section is not null && (section.Length is 0 or > 64 || section.Any(char.IsControl)))
        {
            check.Add("section", "'section' must be 1-64 characters.");
        }

        var size = Limit(check, limit);
        if (!check.IsValid)
        {
            return TypedResults.ValidationProblem(check.Errors);
        }

        var page = await bus.PageAsync(Topic.Latest, cursor, size, section is null ? null : ("section", section));
        return Answer(http, "articles", page!, page!.Next is { } next ? next.Score + "." + next.ItemId : null);
    }

    private static int Limit(Validation check, int? limit)
    {
        if (limit is < 1 or > MaxLimit)
        {
            check.Add("limit", $"'limit' must be between 1 and {MaxLimit}.");
        }

        return limit ?? DefaultLimit;
    }

    // An article's place in the index is its publication time (unix ms) and id: "{ms}.{id}".
    private static PageCursor? ParseArticleCursor(string cursor)
    {
        var dot = cursor.IndexOf('.', StringComparison.Ordinal);
        return dot > 0
            && long.TryParse(cursor.AsSpan(0, dot), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var score)
            && Slug.IsValid(cursor.AsSpan(dot + 1))
                ? new PageCursor(cursor[(dot + 1)..], score.ToString(CultureInfo.InvariantCulture))
                : null;
    }

    private static Results<Utf8ContentHttpResult, StatusCodeHttpResult, ValidationProblem, ProblemHttpResult> Answer(
        HttpContext http, string name, TopicPage page, string? next)
    {
        if (Revalidated.IsCurrent(http, Revalidated.TopicTag(page.Epoch, page.Seq)))
        {
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        }

        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray(name);
            foreach (var item in page.Items)
            {
                writer.WriteRawValue(item, skipInputValidation: true);
            }

            writer.WriteEndArray();
            writer.WriteString("next", next);
            writer.WriteEndObject();
        }

        return TypedResults.Text(buffer.WrittenSpan, "application/json; charset=utf-8");
    }
}
