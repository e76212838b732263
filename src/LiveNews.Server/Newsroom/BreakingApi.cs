using LiveNews.Server.Editors;
using System.Text.Json;
using LiveNews.Server.Bus;

namespace LiveNews.Server.Newsroom;

/// <summary>Breaking alerts: push, update, retract. Expired alerts are removed by <see cref="BreakingExpiry"/>.</summary>
internal static class BreakingApi
{
    private static readonly TimeSpan MaxLifetime = TimeSpan.FromDays(7);

    public static void MapBreaking(this RouteGroupBuilder editors)
    {
        editors.MapPost("/breaking", PushAsync).Accepts<BreakingRequest>("application/json").WithName("PushBreaking");
        editors.MapPut("/breaking/{id}", UpdateAsync).Accepts<BreakingRequest>("application/json").WithName("UpdateBreaking");
        editors.MapDelete("/breaking/{id}", RetractAsync).WithName("RetractBreaking");
    }

    private static async Task<IResult> PushAsync(HttpContext http, JsonBody body, Publisher publisher, TimeProvider time)
    {
        var (request, problem) = await ReadAsync(http, body, time);
        if (problem is not null)
        {
            return problem;
        }

        var ids = EventIds.For(http);
        var id = ids.NextResourceId("b");
        var now = time.GetUtcNow();
        var alert = new BreakingAlert(id, request!.Headline!, request.Url, now, now, request.ExpiresAt);
        var published = await publisher.CreateItemAsync(Topic.Breaking, ids, current =>
        {
            var json = Publisher.Serialize(alert);
            return new PlannedEvent("breaking.published", json, SnapshotChange.Upsert(id, json, now.ToUnixTimeMilliseconds(), alert.ExpiresAt, current));
        });
        return published.Full
            ? TypedResults.Problem(
                statusCode: StatusCodes.Status409Conflict,
                title: "Too many active alerts",
                detail: "Retract or let expire an alert before pushing another. Nothing was published.")
            : TypedResults.Created($"/api/breaking/{id}", new WriteResult(id, [published.Envelope!]));
    }

    private static async Task<IResult> UpdateAsync(string id, HttpContext http, JsonBody body, Publisher publisher, TimeProvider time)
    {
        if (!Topic.IsValidArticleId(id))
        {
            return NotFound(id);
        }

        var (request, problem) = await ReadAsync(http, body, time);
        if (problem is not null)
        {
            return problem;
        }

        var now = time.GetUtcNow();
        var published = await publisher.ChangeItemAsync(Topic.Breaking, id, EventIds.For(http), current =>
        {
            if (current is null)
            {
                return null;
            }

            var previous = LiveNewsJson.Deserialize<BreakingAlert>(current)!;
            var alert = previous with { Headline = request!.Headline!, Url = request.Url, ExpiresAt = request.ExpiresAt, UpdatedAt = now };
            var json = Publisher.Serialize(alert);
            return new PlannedEvent("breaking.updated", json, SnapshotChange.Upsert(id, json, previous.PublishedAt.ToUnixTimeMilliseconds(), alert.ExpiresAt, current));
        });
        return published.NotFound ? NotFound(id) : TypedResults.Ok(new WriteResult(id, [published.Envelope!]));
    }

    private static async Task<IResult> RetractAsync(string id, HttpContext http, Publisher publisher)
    {
        if (!Topic.IsValidArticleId(id))
        {
            return NotFound(id);
        }

        // An alert that expired is gone from the snapshot, but history (which resume replays for a day) still
        // carries its text: a false alert found out after it expired is retracted all the same. An id history
        // does not carry either is answered missing by the publish, and 404 here.
        var data = Publisher.Serialize(new Removed(id));
        var published = await publisher.ChangeItemAsync(Topic.Breaking, id, EventIds.For(http), current =>
            new PlannedEvent("breaking.retracted", data, current is not null ? SnapshotChange.Remove(id, current, Takedown.Item) : SnapshotChange.TakeDownGone(id)));
        return published.NotFound ? NotFound(id) : TypedResults.Ok(new WriteResult(id, [published.Envelope!]));
    }

    private static async Task<(BreakingRequest?, IResult?)> ReadAsync(HttpContext http, JsonBody body, TimeProvider time)
    {
        var (request, problem) = await body.ReadAsync<BreakingRequest>(http.Request);
        if (problem is not null)
        {
            return (null, problem);
        }

        var check = new Validation();
        var headline = check.Text("headline", request!.Headline, 200);
        var url = check.EncodedUrl("url", request.Url);
        var now = time.GetUtcNow();
        if (request.ExpiresAt is { } expires && (expires <= now || expires > now + MaxLifetime))
        {
            check.Add("expiresAt", "'expiresAt' must be in the future and at most 7 days ahead.");
        }

        return check.IsValid
            ? (request with { Headline = headline, Url = url, ExpiresAt = request.ExpiresAt?.ToUniversalTime() }, null)
            : (null, TypedResults.ValidationProblem(check.Errors));
    }

    private static IResult NotFound(string id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such alert", detail: "There is no active breaking alert with this id.", extensions: new Dictionary<string, object?> { ["id"] = id.Length > 128 ? id[..128] : id });
}
