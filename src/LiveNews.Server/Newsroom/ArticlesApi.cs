using LiveNews.Server.Editors;
using System.Text.Json;
using LiveNews.Server.Bus;
using Microsoft.AspNetCore.Http.HttpResults;

namespace LiveNews.Server.Newsroom;

/// <summary>
/// Articles: publishing or updating one changes <c>article:{id}</c> (its state) and <c>latest</c> (the
/// newest articles), which mirrors the article's state. Each topic is changed atomically; a retry under the
/// same Idempotency-Key completes a request that failed between the two without publishing anything twice.
/// </summary>
internal static class ArticlesApi
{
    // Rounds of mirroring an article into `latest` while editors keep changing it (see MirrorInLatestAsync).
    private const int MaxMirrorRounds = 8;

    public static void MapArticles(this RouteGroupBuilder editors)
    {
        editors.MapPut("/articles/{id}", PublishAsync).Accepts<ArticleRequest>("application/json").WithName("PublishArticle");
        editors.MapDelete("/articles/{id}", UnpublishAsync).WithName("UnpublishArticle");
    }

    private static async Task<IResult> PublishAsync(string id, HttpContext http, JsonBody body, Publisher publisher, EventBus bus, TimeProvider time, ILoggerFactory loggers)
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

        return TypedResults.Ok(new WriteResult(id, [onArticle.Envelope!, .. await MirrorInLatestAsync(id, ids, publisher, bus, loggers)]));
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

    private static async Task<IResult> UnpublishAsync(string id, HttpContext http, Publisher publisher, EventBus bus, ILoggerFactory loggers)
    {
        if (!Topic.IsValidArticleId(id))
        {
            return NotFound();
        }

        var ids = EventIds.For(http);
        var data = Publisher.Serialize(new Removed(id));
        var onArticle = await publisher.ChangeStateAsync(Topic.Article(id), ids, current =>
            current is null ? null : new PlannedEvent("article.unpublished", data, SnapshotChange.TakeDown(current)));
        var onLatest = await MirrorInLatestAsync(id, ids, publisher, bus, loggers);
        if (onArticle.NotFound)
        {
            // Unpublished already; a listing left behind (a request that stopped between the two topics) goes now.
            return onLatest.Length == 0 ? NotFound() : TypedResults.Ok(new WriteResult(id, onLatest));
        }

        return TypedResults.Ok(new WriteResult(id, [onArticle.Envelope!, .. onLatest]));
    }

    /// <summary>
    /// Makes <c>latest</c> list the article as its own topic holds it now (or not at all once unpublished), and
    /// returns what that published there. Every request that changes an article mirrors it after its change,
    /// then reads the article again and mirrors once more if it moved meanwhile: the request that mirrors last
    /// saw the article's final state. So a retried or racing publish cannot bring back a story taken down, and
    /// racing updates cannot leave an older version listed.
    /// </summary>
    private static async Task<RawJson[]> MirrorInLatestAsync(string id, EventIds ids, Publisher publisher, EventBus bus, ILoggerFactory loggers)
    {
        var published = new List<RawJson>();
        var article = await bus.GetStateAsync(Topic.Article(id));
        for (var round = 0; round < MaxMirrorRounds; round++)
        {
            var mirrored = article;
            var onLatest = await publisher.ChangeItemAsync(Topic.Latest, id, ids, listed => Mirror(id, mirrored, listed));
            if (onLatest.Envelope is { } envelope)
            {
                published.Add(envelope);
            }

            article = await bus.GetStateAsync(Topic.Article(id));
            if (article == mirrored)
            {
                return [.. published];
            }
        }

        // Still moving: other requests changed the article after this one, and each mirrors it after its change,
        // so the last of them leaves `latest` right. This request's own change is made: no error for it.
        NewsroomLog.LatestStillMoving(loggers.CreateLogger(typeof(ArticlesApi)), id, MaxMirrorRounds);
        return [.. published];
    }

    // The event that makes the listed copy the article's state; null when it is already.
    private static PlannedEvent? Mirror(string id, string? article, string? listed)
    {
        if (article is null)
        {
            return listed is null ? null : new PlannedEvent("article.unpublished", Publisher.Serialize(new Removed(id)), SnapshotChange.Remove(id, listed, Takedown.Item));
        }

        if (article == listed)
        {
            return null;
        }

        var publishedAt = LiveNewsJson.Deserialize<Article>(article)!.PublishedAt;
        return new PlannedEvent(listed is null ? "article.published" : "article.updated", article,
            SnapshotChange.Upsert(id, article, publishedAt.ToUnixTimeMilliseconds(), null, listed));
    }

    internal static ProblemHttpResult NotFound() =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such article", detail: "No published article has this id.");
}
