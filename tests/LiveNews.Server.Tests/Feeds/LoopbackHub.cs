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

    /// <summary>A hub; with <paramref name="refuseWith"/>, one that answers every request with that status.</summary>
    public static async Task<LoopbackHub> StartAsync(int? refuseWith = null)
    {
        var app = LoopbackApp.Create();
        var hub = new LoopbackHub(app);
        app.MapPost("/", async (HttpRequest request) =>
        {
            Interlocked.Increment(ref hub._requests);
            if (refuseWith is { } status)
            {
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
}
