using System.Collections.Concurrent;
using LiveNews.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace LiveNews.Server.Tests.Feeds;

/// <summary>A WebSub hub on loopback: takes publish pings as a real hub does (form POST, 202) and keeps them.</summary>
public sealed class LoopbackHub : IAsyncDisposable
{
    private readonly WebApplication _app;

    private LoopbackHub(WebApplication app) => _app = app;

    public ConcurrentQueue<(string Mode, string Url, DateTime At)> Pings { get; } = new();

    public Uri Address => new(_app.Services.ListeningAddress() + "/");

    public int PingsOf(string url) => Pings.Count(p => p.Url == url);

    /// <summary>Requests that reached the hub, pings or not.</summary>
    public int Requests => Volatile.Read(ref _requests);

    private int _requests;

    /// <summary>Pings the hub did not answer (see <c>hangOn</c>).</summary>
    public int Hung => Volatile.Read(ref _hung);

    private int _hung;

    /// <summary>The most requests for one feed the hub was answering at the same time.</summary>
    public int MostAtOnceForOneFeed => Volatile.Read(ref _mostAtOnce);

    private int _mostAtOnce;
    private readonly ConcurrentDictionary<string, int> _answering = new();

    /// <summary>
    /// A hub; with <paramref name="refuseWith"/>, one that answers every request with that status (and the
    /// <c>Retry-After</c> seconds <paramref name="retryAfterSeconds"/>, when given); with <paramref name="hangOn"/>,
    /// one that answers a ping of a feed whose URL ends so only when the caller gives up.
    /// </summary>
    public static async Task<LoopbackHub> StartAsync(int? refuseWith = null, int? retryAfterSeconds = null, string? hangOn = null)
    {
        var app = LoopbackApp.Create();
        var hub = new LoopbackHub(app);
        app.MapPost("/", async (HttpRequest request) =>
        {
            Interlocked.Increment(ref hub._requests);
            var feed = (await request.ReadFormAsync())["hub.url"].ToString();
            if (hangOn is not null && feed.EndsWith(hangOn, StringComparison.Ordinal))
            {
                Interlocked.Increment(ref hub._hung);
                var atOnce = hub._answering.AddOrUpdate(feed, 1, (_, n) => n + 1);
                InterlockedMax(ref hub._mostAtOnce, atOnce);
                try
                {
                    await Task.Delay(Timeout.Infinite, request.HttpContext.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                }
                finally
                {
                    hub._answering.AddOrUpdate(feed, 0, (_, n) => n - 1);
                }

                return Results.Empty;
            }

            if (refuseWith is { } status)
            {
                if (retryAfterSeconds is { } seconds)
                {
                    request.HttpContext.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                }

                return Results.StatusCode(status);
            }

            var form = await request.ReadFormAsync();
            if (form["hub.mode"] != "publish" || string.IsNullOrEmpty(form["hub.url"]))
            {
                return Results.BadRequest();
            }

            hub.Pings.Enqueue((form["hub.mode"]!, form["hub.url"]!, DateTime.UtcNow));
            return Results.Accepted();
        });
        await app.StartAsync();
        return hub;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    private static void InterlockedMax(ref int most, int value)
    {
        var seen = Volatile.Read(ref most);
        while (value > seen && Interlocked.CompareExchange(ref most, value, seen) is var was && was != seen)
        {
            seen = was;
        }
    }
}
