using LiveNews.Server.Editors;
using System.Text.Json;
using LiveNews.Server.Bus;

namespace LiveNews.Server.Newsroom;

/// <summary>Live-blog entries, corrections and updates on <c>article:{id}</c>: post, edit, pin, delete.</summary>
internal static class EntriesApi
{
    private const int MaxTextLength = 10_000;

    private static readonly string[] Kinds = ["entry", "update", "correction"];

    public static void MapEntries(this RouteGroupBuilder editors)
    {
        editors.MapPost("/articles/{id}/entries", PostAsync).Accepts<EntryRequest>("application/json").WithName("PostEntry");
        editors.MapPut("/articles/{id}/entries/{entryId}", EditAsync).Accepts<EntryRequest>("application/json").WithName("EditEntry");
        editors.MapDelete("/articles/{id}/entries/{entryId}", DeleteAsync).WithName("DeleteEntry");
    }

    private static async Task<IResult> PostAsync(string id, HttpContext http, JsonBody body, Publisher publisher, TimeProvider time)
    {
        var check = new Validation();
        check.Id("id", id);
        var (request, problem) = await ReadAsync(http, body, check, requireText: true);
        if (problem is not null)
        {
            return problem;
        }

        var ids = EventIds.For(http);
        var entryId = ids.NextResourceId("e");
        var entry = new Entry(entryId, request!.Kind ?? "entry", request.Text!, request.Pinned ?? false, time.GetUtcNow(), null);
        var published = await publisher.CreateItemAsync(Topic.Article(id), ids, current =>
        {
            var json = Publisher.Serialize(entry);
            return new PlannedEvent("entry.posted", json, Change(entry, json, current));
        });
        if (published.NotFound)
        {
            return ArticlesApi.NotFound();
        }

        return published.Full
            ? TypedResults.Problem(
                statusCode: StatusCodes.Status409Conflict,
                title: "Too many entries",
                detail: "The article holds as many entries as it may (Newsroom:MaxEntriesPerArticle). Nothing was posted and no entry was dropped.")
            : TypedResults.Created($"/api/articles/{id}/entries/{entryId}", new WriteResult(entryId, [published.Envelope!]));
    }

    private static async Task<IResult> EditAsync(string id, string entryId, HttpContext http, JsonBody body, Publisher publisher, TimeProvider time)
    {
        if (!Topic.IsValidArticleId(id) || !Topic.IsValidArticleId(entryId))
        {
            return NotFound();
        }

        var (request, problem) = await ReadAsync(http, body, new Validation(), requireText: false);
        if (problem is not null)
        {
            return problem;
        }

        var now = time.GetUtcNow();
        var published = await publisher.ChangeItemAsync(Topic.Article(id), entryId, EventIds.For(http), current =>
        {
            if (current is null)
            {
                return null;
            }

            var previous = LiveNewsJson.Deserialize<Entry>(current)!;
            var contentChanged = (request!.Text is not null && request.Text != previous.Text) || (request.Kind is not null && request.Kind != previous.Kind);
            var entry = previous with
            {
                Text = request.Text ?? previous.Text,
                Kind = request.Kind ?? previous.Kind,
                Pinned = request.Pinned ?? previous.Pinned,
                EditedAt = contentChanged ? now : previous.EditedAt,
            };
            if (entry == previous)
            {
                return PlannedEvent.None; // A retried or repeated edit: readers have it already.
            }

            var type = contentChanged ? "entry.edited" : entry.Pinned ? "entry.pinned" : "entry.unpinned";
            var json = Publisher.Serialize(entry);
            return new PlannedEvent(type, json, Change(entry, json, current));
        });
        return published.NotFound ? NotFound() : TypedResults.Ok(new WriteResult(entryId, published.Envelope is { } envelope ? [envelope] : []));
    }

    private static async Task<IResult> DeleteAsync(string id, string entryId, HttpContext http, Publisher publisher)
    {
        if (!Topic.IsValidArticleId(id) || !Topic.IsValidArticleId(entryId))
        {
            return NotFound();
        }

        var published = await publisher.ChangeItemAsync(Topic.Article(id), entryId, EventIds.For(http), current =>
            current is null ? null : new PlannedEvent("entry.deleted", Publisher.Serialize(new Removed(entryId)), SnapshotChange.Remove(entryId, current, Takedown.Item) with { KeepsCursor = true }));
        return published.NotFound ? NotFound() : TypedResults.Ok(new WriteResult(entryId, [published.Envelope!]));
    }

    private static async Task<(EntryRequest?, IResult?)> ReadAsync(HttpContext http, JsonBody body, Validation check, bool requireText)
    {
        var (request, problem) = await body.ReadAsync<EntryRequest>(http.Request);
        if (problem is not null)
        {
            return (null, problem);
        }

        var text = requireText
            ? check.Text("text", request!.Text, MaxTextLength, multiline: true)
            : check.OptionalText("text", request!.Text, MaxTextLength, multiline: true);

        if (!requireText && request.Text is not null && text is null)
        {
            check.Add("text", "'text' must not be blank: leave it out to keep the entry's text.");
        }

        if (request.Kind is not null && !Kinds.Contains(request.Kind))
        {
            check.Add("kind", $"'kind' must be one of {string.Join(", ", Kinds)}.");
        }

        if (!requireText && request.Text is null && request.Kind is null && request.Pinned is null)
        {
            check.Add("body", "Give at least one of 'text', 'kind' or 'pinned'.");
        }

        return check.IsValid ? (request with { Text = text }, null) : (null, TypedResults.ValidationProblem(check.Errors));
    }

    // Entries keep the place of the event that posted them (its seq): unique, in posting order, unchanged by
    // edits and pins, so snapshots and pages agree and a page walk meets every entry once.
    private static SnapshotChange Change(Entry entry, string json, string? current) =>
        SnapshotChange.Upsert(entry.Id, json, 0, null, current) with { ScoreBySeq = true, Pinned = entry.Pinned, RequiresState = true };

    private static IResult NotFound() =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such entry", detail: "The article has no entry with this id.");
}
