using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LiveNews.Server.Tests.Social;

/// <summary>A request as the fake network received it.</summary>
public sealed record ReceivedRequest(string Method, string Path, string Query, IReadOnlyDictionary<string, string> Headers, string Body)
{
    public JsonElement Json => JsonDocument.Parse(Body).RootElement;

    public IReadOnlyDictionary<string, string> Form => Body.Split('&', StringSplitOptions.RemoveEmptyEntries)
        .Select(pair => pair.Split('=', 2))
        .ToDictionary(p => Uri.UnescapeDataString(p[0].Replace('+', ' ')), p => Uri.UnescapeDataString(p.Length > 1 ? p[1].Replace('+', ' ') : ""));
}

/// <summary>A scripted fault, consumed by the next request to its route.</summary>
public sealed record Fault(int Status = 0, string? Body = null, IReadOnlyDictionary<string, string>? Headers = null, bool HangBefore = false, bool HangAfterAccepting = false)
{
    public static Fault Answer(int status, string body = "", IReadOnlyDictionary<string, string>? headers = null) => new(status, body, headers);

    /// <summary>No answer, and nothing posted.</summary>
    public static Fault Hang => new(HangBefore: true);

    /// <summary>The post is made, then no answer comes: the outcome is unknown to the caller.</summary>
    public static Fault AcceptThenHang => new(HangAfterAccepting: true);
}

/// <summary>
/// One loopback HTTP server implementing the parts of each network's real API LiveNews calls, with their
/// auth checks, status codes, headers and dedupe rules, plus scripted faults.
/// </summary>
public sealed class FakeNetworks : IAsyncDisposable
{
    public const string Token = "fake-token-SECRET-4c7e9a";
    public const string BlueskyPassword = "app-pass-SECRET-91b2";

    /// <summary>The secret part of a webhook URL: Slack and Discord put it in the path.</summary>
    public const string WebhookSecret = "whsec-SECRET-5d0e";

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, ConcurrentQueue<Fault>> _faults = new();
    private readonly ConcurrentDictionary<string, string> _mastodonByKey = new();
    private readonly ConcurrentDictionary<string, string> _blueskyRecords = new();
    private readonly ConcurrentDictionary<string, byte> _xTexts = new();
    private readonly CancellationTokenSource _hangs = new();
    private int _ids;

    public FakeNetworks()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        _app = builder.Build();
        Map();
        _app.StartAsync().GetAwaiter().GetResult();
        BaseUrl = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
    }

    public string BaseUrl { get; }

    public ConcurrentQueue<ReceivedRequest> Requests { get; } = new();

    /// <summary>Posts that exist on the "network" (what readers of the network would see).</summary>
    public ConcurrentQueue<(string Network, string Id)> Posts { get; } = new();

    public int BlueskyAccessJwtVersion { get; set; } = 1;

    public int MastodonMaxCharacters { get; set; } = 500;

    /// <summary>The path of a webhook, secret included, as Slack (<c>/services/T/B/secret</c>) and Discord shape it.</summary>
    public static string HookPath(string kind) => $"/hooks/{kind}/T0001/B0001/{WebhookSecret}";

    public IEnumerable<ReceivedRequest> To(string pathPrefix) => Requests.Where(r => r.Path.StartsWith(pathPrefix, StringComparison.Ordinal));

    public int PostsOn(string network) => Posts.Count(p => p.Network == network);

    public void Script(string route, params Fault[] faults)
    {
        var queue = _faults.GetOrAdd(route, _ => new ConcurrentQueue<Fault>());
        foreach (var fault in faults)
        {
            queue.Enqueue(fault);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _hangs.CancelAsync();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _hangs.Dispose();
    }

    private void Map()
    {
        _app.MapGet("/api/v2/instance", () => Results.Json(new { configuration = new { statuses = new { max_characters = MastodonMaxCharacters, characters_reserved_per_url = 23 } } }));
        Route("POST", "/api/v1/statuses", "mastodon", request =>
        {
            if (request.Headers.GetValueOrDefault("Authorization") != $"Bearer {Token}")
            {
                return (Results.Json(new { error = "The access token is invalid" }, statusCode: 401), false);
            }

            var key = request.Headers.GetValueOrDefault("Idempotency-Key") ?? Guid.NewGuid().ToString();
            var isNew = false;
            var id = _mastodonByKey.GetOrAdd(key, _ => { isNew = true; return NextId(); });
            return (Results.Json(new { id, url = $"https://mastodon.example/@news/{id}" }), isNew);
        });

        Route("POST", "/xrpc/com.atproto.server.createSession", null, request =>
            request.Json.GetProperty("password").GetString() == BlueskyPassword
                ? (Results.Json(new { did = "did:plc:newsroom", handle = "news.example", accessJwt = $"access-{BlueskyAccessJwtVersion}", refreshJwt = "refresh-1" }), false)
                : (Results.Json(new { error = "AuthenticationRequired", message = "Invalid identifier or password" }, statusCode: 401), false));
        Route("POST", "/xrpc/com.atproto.server.refreshSession", null, request =>
            request.Headers.GetValueOrDefault("Authorization") == "Bearer refresh-1"
                ? (Results.Json(new { did = "did:plc:newsroom", handle = "news.example", accessJwt = $"access-{BlueskyAccessJwtVersion}", refreshJwt = "refresh-1" }), false)
                : (Results.Json(new { error = "ExpiredToken" }, statusCode: 400), false));
        Route("POST", "/xrpc/com.atproto.repo.createRecord", "bluesky", request =>
        {
            if (request.Headers.GetValueOrDefault("Authorization") != $"Bearer access-{BlueskyAccessJwtVersion}")
            {
                return (Results.Json(new { error = "ExpiredToken", message = "Token has expired" }, statusCode: 400), false);
            }

            var rkey = request.Json.GetProperty("rkey").GetString()!;
            if (!_blueskyRecords.TryAdd(rkey, request.Body))
            {
                return (Results.Json(new { error = "InvalidRequest", message = "Record already exists" }, statusCode: 400), false);
            }

            return (Results.Json(new { uri = $"at://did:plc:newsroom/app.bsky.feed.post/{rkey}", cid = "bafy" + rkey }), true);
        });

        Route("POST", "/2/tweets", "x", request =>
        {
            if (request.Headers.GetValueOrDefault("Authorization") != $"Bearer {Token}")
            {
                return (Results.Json(new { title = "Unauthorized", status = 401 }, statusCode: 401), false);
            }

            var text = request.Json.GetProperty("text").GetString()!;
            if (!_xTexts.TryAdd(text, 0))
            {
                return (Results.Json(new { detail = "You are not allowed to create a Tweet with duplicate content.", status = 403 }, statusCode: 403), false);
            }

            var id = NextId();
            return (Results.Json(new { data = new { id, text } }, statusCode: 201), true);
        });

        Route("POST", "/v21.0/page-1/feed", "facebook", request =>
            request.Form.GetValueOrDefault("access_token") == Token
                ? (Results.Json(new { id = $"page-1_{NextId()}" }), true)
                : (Results.Json(new { error = new { message = "Invalid OAuth access token.", type = "OAuthException", code = 190 } }, statusCode: 400), false));

        Route("POST", "/rest/posts", "linkedin", request =>
        {
            if (request.Headers.GetValueOrDefault("Authorization") != $"Bearer {Token}")
            {
                return (Results.Json(new { status = 401, message = "Invalid access token" }, statusCode: 401), false);
            }

            if (request.Headers.GetValueOrDefault("LinkedIn-Version") is null || request.Headers.GetValueOrDefault("X-Restli-Protocol-Version") != "2.0.0")
            {
                return (Results.Json(new { status = 426, message = "A version header is required" }, statusCode: 426), false);
            }

            return (new RestliCreated($"urn:li:share:{NextId()}"), true);
        });

        Route("POST", "/v1.0/user-1/threads", null, request =>
            request.Form.GetValueOrDefault("access_token") == Token
                ? (Results.Json(new { id = $"container-{NextId()}" }), false)
                : (Results.Json(new { error = new { message = "Invalid OAuth access token", code = 190 } }, statusCode: 400), false));
        Route("POST", "/v1.0/user-1/threads_publish", "threads", request => (Results.Json(new { id = $"thread-{NextId()}" }), true));

        Route("POST", HookPath("slack"), "slack", _ => (Results.Text("ok"), true));
        Route("POST", HookPath("discord"), "discord", request =>
            request.Query.Contains("wait=true", StringComparison.Ordinal) ? (Results.Json(new { id = NextId() }), true) : (Results.NoContent(), true));
        Route("POST", HookPath("generic"), "generic", _ => (Results.Ok(), true));
    }

    /// <summary>Maps a route that records requests, applies scripted faults, then answers; a true second value records a post.</summary>
    private void Route(string method, string path, string? network, Func<ReceivedRequest, (IResult Result, bool Posted)> handle)
    {
        _app.MapMethods(path, [method], async (HttpContext context) =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var received = new ReceivedRequest(method, context.Request.Path, context.Request.QueryString.Value ?? "",
                context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
                await reader.ReadToEndAsync());
            Requests.Enqueue(received);

            Fault? fault = null;
            if (_faults.TryGetValue(path, out var queue))
            {
                queue.TryDequeue(out fault);
            }

            if (fault is { HangBefore: true })
            {
                await HangAsync(context);
                return Results.Empty;
            }

            if (fault is { Status: > 0 })
            {
                foreach (var (name, value) in fault.Headers ?? new Dictionary<string, string>())
                {
                    context.Response.Headers[name] = value;
                }

                return Results.Text(fault.Body ?? "", "application/json", statusCode: fault.Status);
            }

            var (result, posted) = handle(received);
            if (posted && network is not null)
            {
                Posts.Enqueue((network, received.Body));
            }

            if (fault is { HangAfterAccepting: true })
            {
                await HangAsync(context);
                return Results.Empty;
            }

            return result;
        });
    }

    private async Task HangAsync(HttpContext context)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _hangs.Token);
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(30), linked.Token);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private string NextId() => Interlocked.Increment(ref _ids).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private sealed class RestliCreated(string id) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = 201;
            httpContext.Response.Headers["x-restli-id"] = id;
            return Task.CompletedTask;
        }
    }
}
