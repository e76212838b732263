using LiveNews.Server.Bus;
using LiveNews.Server.Editors;
using LiveNews.Server.Realtime;

namespace LiveNews.Server.Newsroom;

/// <summary><c>GET /api/topics/{topic}</c>: a topic's snapshot over plain HTTP, for server-side rendering.</summary>
internal static class TopicsApi
{
    /// <summary>Every public read of the newsroom's content: topic snapshots and the paged entries and articles.</summary>
    public static void MapReads(this RouteGroupBuilder readers)
    {
        readers.MapGet("/topics/{topic}", GetAsync).WithName("GetTopic");
        readers.MapPaging();
    }

    private static async Task<IResult> GetAsync(string topic, HttpContext http, EventBus bus, ViewerCounts viewers, TimeProvider time)
    {
        if (!Topic.TryParse(topic, out var parsed, out var error))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown topic", detail: error);
        }

        if (!TopicAccess.CanRead(http.User, parsed.Value))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Editors only", detail: TopicAccess.Refusal(parsed.Value));
        }

        var read = await bus.ReadAsync(parsed.Value, afterSeq: null, withSnapshot: true);
        http.Response.Headers.CacheControl = "no-cache";
        return TypedResults.Ok(new TopicState(parsed.Value.Name, read.Epoch, read.Seq, Snapshot.Write(parsed.Value, read, time.GetUtcNow()), viewers.Of(parsed.Value)));
    }
}
