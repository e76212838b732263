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
    public static void MapArticles(this RouteGroupBuilder editors)
    {
        editors.MapPut("/articles/{id}", PublishAsync).Accepts<ArticleRequest>("application/json").WithName("PublishArticle");
        editors.MapDelete("/articles/{id}", UnpublishAsync).WithName("UnpublishArticle");
    }

    private static async Task<IResult> PublishAsync(string id, HttpContext http, JsonBody body, Publisher publisher, EventBus bus, LatestMirrors mirrors, TimeProvider time)
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
        var (onArticle, onLatest) = await ChangeThenMirrorAsync(id, ids, publisher, bus, mirrors, current =>
        {
            var previous = current is null ? null : LiveNewsJson.Deserialize<Article>(current);
            var article = new Article(id, headline, summary, url, imageUrl, section, request.PublishedAt?.ToUniversalTime() ?? previous?.PublishedAt ?? now, now,
                coverage ?? previous?.LiveCoverage);
            var json = Publisher.Serialize(article);
            return new PlannedEvent(previous is null ? "article.published" : "article.updated", json, SnapshotChange.SetState(json, current));
        });
        return TypedResults.Ok(new WriteResult(id, [onArticle.Envelope!, .. onLatest]));
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

    private static async Task<IResult> UnpublishAsync(string id, HttpContext http, Publisher publisher, EventBus bus, LatestMirrors mirrors)
    {
        if (!Topic.IsValidArticleId(id))
        {
            return NotFound();
        }

        var ids = EventIds.For(http);
        var data = Publisher.Serialize(new Removed(id));
        var (onArticle, onLatest) = await ChangeThenMirrorAsync(id, ids, publisher, bus, mirrors, current =>
            current is null ? null : new PlannedEvent("article.unpublished", data, SnapshotChange.TakeDown(current)));
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
    /// from a read of the article with its position, and <c>latest</c> refuses a copy read at an older position
    /// than the one it holds (<see cref="SnapshotChange.CopiedFrom"/>): the request that read last decides, so
    /// a slow, retried or racing request can neither list a story taken down meanwhile nor an older version.
    /// </summary>
    // The article's change, then its copy in latest, with the intent recorded before the change and again after it
    // (LatestMirrors): a request that dies between the two topics leaves the copy to the sweep.
    private static async Task<(Published OnArticle, RawJson[] OnLatest)> ChangeThenMirrorAsync(
        string id, EventIds ids, Publisher publisher, EventBus bus, LatestMirrors mirrors, Func<string?, PlannedEvent?> decide)
    {
        var intent = await mirrors.IntendAsync(id);
        var onArticle = await publisher.ChangeStateAsync(Topic.Article(id), ids, decide);
        var changed = await mirrors.IntendAsync(id);
        var onLatest = await MirrorInLatestAsync(id, ids, publisher, bus);
        await mirrors.DoneAsync(intent, changed);
        return (onArticle, onLatest);
    }

    private static async Task<RawJson[]> MirrorInLatestAsync(string id, EventIds ids, Publisher publisher, EventBus bus) =>
        await MirrorAsync(id, await bus.GetStateAtAsync(Topic.Article(id)), ids, publisher);

    /// <summary>Mirrors the article as it was read (its state, null once unpublished, and its position).</summary>
    internal static async Task<RawJson[]> MirrorAsync(string id, (string? State, TopicPosition Position) article, EventIds ids, Publisher publisher)
    {
        var onLatest = await publisher.ChangeItemAsync(Topic.Latest, id, ids, listed => Mirror(id, article.State, article.Position, listed));
        return onLatest.Envelope is { } envelope ? [envelope] : [];
    }

    // The event that makes the listed copy the article's state. When it is already, nothing is published but the
    // position is still recorded (atomically, as long as the listing is as read): else a slower request that read
    // the article before this one could list its older copy after, the article's first publish before a takedown.
    private static PlannedEvent Mirror(string id, string? article, TopicPosition position, string? listed)
    {
        if (article == listed)
        {
            // An article that was never published has no older copy on its way: nothing to record either.
            return article is null && position.Epoch.Length == 0
                ? PlannedEvent.None
                : PlannedEvent.RecordOnly(SnapshotChange.KeepCopy(id, listed, position));
        }

        if (article is null)
        {
            return new PlannedEvent("article.unpublished", Publisher.Serialize(new Removed(id)), SnapshotChange.Remove(id, listed!, Takedown.Item) with { CopiedFrom = position });
        }

        var publishedAt = LiveNewsJson.Deserialize<Article>(article)!.PublishedAt;
        return new PlannedEvent(listed is null ? "article.published" : "article.updated", article,
            SnapshotChange.Upsert(id, article, publishedAt.ToUnixTimeMilliseconds(), null, listed) with { CopiedFrom = position });
    }

    internal static ProblemHttpResult NotFound() =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such article", detail: "No published article has this id.");
}
