using LiveNews.Server.Editors;
using System.Text.Json;
using LiveNews.Server.Bus;
using Microsoft.AspNetCore.Http.HttpResults;

namespace LiveNews.Server.Newsroom;

/// <summary>
/// Articles: publishing or updating one changes <c>article:{id}</c> (its state) and <c>latest</c> (the
/// newest articles). Each topic is changed atomically; a retry under the same Idempotency-Key completes a
/// request that failed between the two without publishing anything twice.
/// </summary>
internal static class ArticlesApi
{
    public static void MapArticles(this RouteGroupBuilder editors)
    {
        editors.MapPut("/articles/{id}", PublishAsync).Accepts<ArticleRequest>("application/json").WithName("PublishArticle");
        editors.MapDelete("/articles/{id}", UnpublishAsync).WithName("UnpublishArticle");
    }

    private static async Task<IResult> PublishAsync(string id, HttpContext http, JsonBody body, Publisher publisher, TimeProvider time)
    {
        var check = new Validation();
        check.Id("id", id);
        if (!check.IsValid)
        {
            return TypedResults.ValidationProblem(check.Errors);
        }

        var (request, problem) = await body.ReadAsync<ArticleRequest>(http.Request);
        if (problem is not null)
        {
            return problem;
        }

        var headline = check.Text("headline", request!.Headline, 300);
        var summary = check.OptionalText("summary", request.Summary, 2000);
        var url = check.Url("url", request.Url);
        var imageUrl = check.OptionalUrl("imageUrl", request.ImageUrl);
        var section = check.OptionalText("section", request.Section, 64);
        var coverage = Coverage(check, request.LiveCoverage);
        if (!check.IsValid)
        {
            return TypedResults.ValidationProblem(check.Errors);
        }

        var now = time.GetUtcNow();
        var ids = EventIds.For(http);
        var onArticle = await publisher.ChangeStateAsync(Topic.Article(id), ids, current =>
        {
            var previous = current is null ? null : LiveNewsJson.Deserialize<Article>(current);
            var article = new Article(id, headline, summary, url, imageUrl, section, request.PublishedAt?.ToUniversalTime() ?? previous?.PublishedAt ?? now, now,
                coverage ?? previous?.LiveCoverage);
            var json = Publisher.Serialize(article);
            return new PlannedEvent(previous is null ? "article.published" : "article.updated", json, SnapshotChange.SetState(json, current));
        });

        // `latest` gets the article as the first event carried it: on a replayed request that is the
        // original, not what this attempt would have built.
        using var envelope = JsonDocument.Parse(onArticle.Envelope!.Utf8);
        var type = envelope.RootElement.GetProperty("type").GetString()!;
        var data = envelope.RootElement.GetProperty("data");
        var stored = data.GetRawText();
        var publishedAt = data.GetProperty("publishedAt").GetDateTimeOffset();
        var onLatest = await publisher.ChangeItemAsync(Topic.Latest, id, ids, current =>
            new PlannedEvent(type, stored, SnapshotChange.Upsert(id, stored, publishedAt.ToUnixTimeMilliseconds(), null, current)));
        return TypedResults.Ok(new WriteResult(id, [onArticle.Envelope, onLatest.Envelope!]));
    }

    // Absent: the coverage stays as it was (like publishedAt), so an edit of the headline does not end it.
    private static LiveCoverage? Coverage(Validation check, LiveCoverageRequest? request)
    {
        if (request is null)
        {
            return null;
        }

        if (request.StartedAt is not { } started)
        {
            check.Add("liveCoverage.startedAt", "'liveCoverage.startedAt' is required: when the live coverage began.");
            return null;
        }

        if (request.EndedAt is { } ended && ended <= started)
        {
            check.Add("liveCoverage.endedAt", "'liveCoverage.endedAt' must be after 'liveCoverage.startedAt'.");
            return null;
        }

        return new LiveCoverage(started.ToUniversalTime(), request.EndedAt?.ToUniversalTime());
    }

    private static async Task<IResult> UnpublishAsync(string id, HttpContext http, Publisher publisher)
    {
        if (!Topic.IsValidArticleId(id))
        {
            return NotFound();
        }

        var ids = EventIds.For(http);
        var data = Publisher.Serialize(new Removed(id));
        var onArticle = await publisher.ChangeStateAsync(Topic.Article(id), ids, current =>
            current is null ? null : new PlannedEvent("article.unpublished", data, SnapshotChange.TakeDown(current)));
        if (onArticle.NotFound)
        {
            return NotFound();
        }

        var onLatest = await publisher.ChangeItemAsync(Topic.Latest, id, ids, current =>
            current is null ? null : new PlannedEvent("article.unpublished", data, SnapshotChange.Remove(id, current, Takedown.Item)));
        return TypedResults.Ok(new WriteResult(id, onLatest.NotFound ? [onArticle.Envelope!] : [onArticle.Envelope!, onLatest.Envelope!]));
    }

    internal static ProblemHttpResult NotFound() =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such article", detail: "No published article has this id.");
}
