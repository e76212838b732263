using LiveNews.Server.Editors;
using System.Text.Json;
using LiveNews.Server.Bus;

namespace LiveNews.Server.Newsroom;

/// <summary><c>PUT /api/live</c> goes live or updates the status; <c>DELETE /api/live</c> ends it.</summary>
internal static class LiveApi
{
    public static void MapLive(this RouteGroupBuilder editors)
    {
        editors.MapPut("/live", GoLiveAsync).Accepts<GoLiveRequest>("application/json").WithName("GoLive");
        editors.MapDelete("/live", EndLiveAsync).WithName("EndLive");
    }

    private static async Task<IResult> GoLiveAsync(HttpContext http, JsonBody body, Publisher publisher, TimeProvider time)
    {
        var (request, problem) = await body.ReadAsync<GoLiveRequest>(http.Request);
        if (problem is not null)
        {
            return problem;
        }

        var check = new Validation();
        var title = check.Text("title", request!.Title, 200);
        var streamUrl = check.Url("streamUrl", request.StreamUrl);
        var posterUrl = check.OptionalUrl("posterUrl", request.PosterUrl);
        if (!check.IsValid)
        {
            return TypedResults.ValidationProblem(check.Errors);
        }

        var now = time.GetUtcNow();
        var published = await publisher.ChangeStateAsync(Topic.Live, EventIds.For(http), current =>
        {
            var previous = current is null ? null : LiveNewsJson.Deserialize<LiveStatus>(current);
            var status = new LiveStatus(title, streamUrl, posterUrl, previous?.StartedAt ?? now, now);
            var json = Publisher.Serialize(status);
            return new PlannedEvent(previous is null ? "live.started" : "live.updated", json, SnapshotChange.SetState(json, current));
        });
        return TypedResults.Ok(new WriteResult(null, [published.Envelope!]));
    }

    private static async Task<IResult> EndLiveAsync(HttpContext http, Publisher publisher, TimeProvider time)
    {
        var published = await publisher.ChangeStateAsync(Topic.Live, EventIds.For(http), current =>
        {
            if (current is null)
            {
                return null;
            }

            var status = LiveNewsJson.Deserialize<LiveStatus>(current)!;
            return new PlannedEvent("live.ended", Publisher.Serialize(new LiveEnded(status.StartedAt, time.GetUtcNow())), SnapshotChange.ClearState(current));
        });
        return published.NotFound
            ? TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not live", detail: "There is no live stream to end.")
            : TypedResults.Ok(new WriteResult(null, [published.Envelope!]));
    }
}
