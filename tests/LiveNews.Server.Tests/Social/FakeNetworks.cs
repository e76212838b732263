using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using LiveNews.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace LiveNews.Server.Tests.Social;

/// <summary>A request as the fake network received it.</summary>
public sealed record ReceivedRequest(string Method, string Path, string Query, IReadOnlyDictionary<string, string> Headers, string Body)
{
    public JsonElement Json => JsonDocument.Parse(Body).RootElement;

    public IReadOnlyDictionary<string, string> Form => Parse(Body);

    public IReadOnlyDictionary<string, string> QueryValues => Parse(Query.TrimStart('?'));

    private static Dictionary<string, string> Parse(string encoded) => encoded.Split('&', StringSplitOptions.RemoveEmptyEntries)
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

    /// <summary>The post is made, then the answer is a 5xx (a proxy that lost the real answer).</summary>
    public static Fault AcceptThen(int status) => new(status, """{"error":"upstream"}""") { AfterAccepting = true };

    /// <summary>The request waits for <paramref name="release"/>, then is answered as usual (the post is made).</summary>
    public static Fault HeldUntil(Task release) => new() { Release = release };

    /// <summary>The request is answered as usual after <paramref name="delay"/>, even if the caller gave up meanwhile (a slow network).</summary>
    public static Fault Slow(TimeSpan delay) => new() { Delay = delay };

    public bool AfterAccepting { get; init; }

    public Task? Release { get; init; }

    public TimeSpan? Delay { get; init; }
}

/// <summary>
/// One loopback HTTP server implementing the parts of each network's real API LiveNews calls, with their
/// auth checks, status codes, headers and dedupe rules as documented (and as the networks' own source
/// shows where the documents are silent), plus scripted faults:
/// <list type="bullet">
/// <item>Bluesky answers a repeated record key with 500 InternalServerError (the PDS does), and serves getRecord.</item>
/// <item>X accepts only user access tokens it issued, which expire; its token endpoint wants HTTP Basic from
/// the confidential client and rotates the refresh token at every use (the old one stops working).</item>
/// <item>LinkedIn answers a sunset <c>LinkedIn-Version</c> with 426 NONEXISTENT_VERSION, and cuts the
/// commentary at the first unescaped reserved character, still answering 201.</item>
/// <item>A Threads container is IN_PROGRESS for a while; publishing it before FINISHED fails with code 24 /
/// subcode 4279009; a container publishes once; long-lived tokens refresh.</item>
/// </list>
/// </summary>
public sealed class FakeNetworks : IAsyncDisposable
{
    public const string Token = "fake-token-SECRET-4c7e9a";
    public const string BlueskyPassword = "app-pass-SECRET-91b2";

    /// <summary>The secret part of a webhook URL: Slack and Discord put it in the path.</summary>
    public const string WebhookSecret = "whsec-SECRET-5d0e";

    public const string XClientId = "x-client-id";
    public const string XClientSecret = "x-client-SECRET-e21f";
    public const string XFirstRefreshToken = "x-refresh-SECRET-0";

    /// <summary>The oldest LinkedIn-Version still served (LinkedIn keeps each monthly version about a year).</summary>
    public const string LinkedInOldestVersion = "202512";

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, ConcurrentQueue<Fault>> _faults = new();
    private readonly ConcurrentDictionary<string, string> _mastodonByKey = new();
    private readonly ConcurrentDictionary<string, string> _blueskyRecords = new();
    private readonly ConcurrentDictionary<string, byte> _xTexts = new();
    private readonly ConcurrentDictionary<string, byte> _xAccessTokens = new();
    private readonly ConcurrentDictionary<string, byte> _threadsTokens = new() { [Token] = 0 };
    private readonly ConcurrentDictionary<string, Container> _containers = new();
    private readonly CancellationTokenSource _hangs = new();
    private readonly ConcurrentQueue<(string Route, long Start, long End)> _spans = new();
    private readonly Lock _xRefresh = new();
    private string _xRefreshToken = XFirstRefreshToken;
    private int _ids;

    public FakeNetworks()
    {
        _app = LoopbackApp.Create(LogLevel.Warning);
        Map();
        _app.StartAsync().GetAwaiter().GetResult();
        BaseUrl = _app.Services.ListeningAddress();
    }

    public string BaseUrl { get; }

    public ConcurrentQueue<ReceivedRequest> Requests { get; } = new();

    /// <summary>Posts that exist on the "network" (what readers of the network would see): network and text or body.</summary>
    public ConcurrentQueue<(string Network, string Id)> Posts { get; } = new();

    public int BlueskyAccessJwtVersion { get; set; } = 1;

    public int MastodonMaxCharacters { get; set; } = 500;

    /// <summary>How many status reads a new Threads container answers IN_PROGRESS before FINISHED.</summary>
    public int ThreadsReadsBeforeFinished { get; set; } = 1;

    /// <summary>Seconds an X access token lives (X: two hours).</summary>
    public int XTokenLifetimeSeconds { get; set; } = 7200;

    /// <summary>The refresh token X would accept now (it rotates at every refresh).</summary>
    public string XRefreshToken
    {
        get
        {
            lock (_xRefresh)
            {
                return _xRefreshToken;
            }
        }
    }

    /// <summary>The Threads long-lived tokens the fake accepts (the configured one, and every refreshed one).</summary>
    public IReadOnlyCollection<string> ThreadsTokens => [.. _threadsTokens.Keys];

    /// <summary>Every X access token issued so far (all are secrets).</summary>
    public IReadOnlyCollection<string> XAccessTokens => [.. _xAccessTokens.Keys];

    /// <summary>Every X refresh token issued so far, the first one included (all are secrets).</summary>
    public ConcurrentQueue<string> XRefreshTokens { get; } = new([XFirstRefreshToken]);

    /// <summary>The LinkedIn commentaries as LinkedIn shows them (cut at an unescaped reserved character).</summary>
    public ConcurrentQueue<string> LinkedInShown { get; } = new();

    public static string HookPath(string kind) => $"/hooks/{kind}/T0001/B0001/{WebhookSecret}";

    public IEnumerable<ReceivedRequest> To(string pathPrefix) => Requests.Where(r => r.Path.StartsWith(pathPrefix, StringComparison.Ordinal));

    public int PostsOn(string network) => Posts.Count(p => p.Network == network);

    /// <summary>The longest time two requests to <paramref name="route"/> were open together (two nodes sending one job).</summary>
    public TimeSpan MaxOverlap(string route)
    {
        var spans = _spans.Where(s => s.Route == route).OrderBy(s => s.Start).ToList();
        var longest = 0L;
        for (var i = 0; i < spans.Count; i++)
        {
            for (var j = i + 1; j < spans.Count && spans[j].Start < spans[i].End; j++)
            {
                longest = Math.Max(longest, Math.Min(spans[i].End, spans[j].End) - spans[j].Start);
            }
        }

        return System.Diagnostics.Stopwatch.GetElapsedTime(0, longest);
    }

    /// <summary>Every X access token stops working, as they do two hours after they were issued.</summary>
    public void ExpireXAccessTokens() => _xAccessTokens.Clear();

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
        MapMastodon();
        MapBluesky();
        MapX();

        Route("POST", "/v26.0/page-1/feed", "facebook", request =>
            request.Form.GetValueOrDefault("access_token") == Token
                ? (Results.Json(new { id = $"page-1_{NextId()}" }), true)
                : (Results.Json(new { error = new { message = "Invalid OAuth access token.", type = "OAuthException", code = 190 } }, statusCode: 400), false));

        MapLinkedIn();
        MapThreads();

        Route("POST", HookPath("slack"), "slack", _ => (Results.Text("ok"), true));
        Route("POST", HookPath("discord"), "discord", request =>
            request.Query.Contains("wait=true", StringComparison.Ordinal) ? (Results.Json(new { id = NextId() }), true) : (Results.NoContent(), true));
        Route("POST", HookPath("generic"), "generic", _ => (Results.Ok(), true));
    }

    private void MapMastodon()
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
    }

    private void MapBluesky()
    {
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
                // The PDS does not map the MST's "There is already a value at key" error: it is a 500.
                return (Results.Json(new { error = "InternalServerError", message = "Internal Server Error" }, statusCode: 500), false);
            }

            return (Results.Json(new { uri = $"at://did:plc:newsroom/app.bsky.feed.post/{rkey}", cid = "bafy" + rkey }), true);
        });
        Route("GET", "/xrpc/com.atproto.repo.getRecord", null, request =>
        {
            var rkey = request.QueryValues.GetValueOrDefault("rkey") ?? "";
            return _blueskyRecords.TryGetValue(rkey, out var body)
                ? (Results.Json(new { uri = $"at://did:plc:newsroom/app.bsky.feed.post/{rkey}", cid = "bafy" + rkey, value = JsonDocument.Parse(body).RootElement.GetProperty("record") }), false)
                : (Results.Json(new { error = "RecordNotFound", message = $"Could not locate record: at://did:plc:newsroom/app.bsky.feed.post/{rkey}" }, statusCode: 400), false);
        });
    }

    private void MapX()
    {
        Route("POST", "/2/oauth2/token", null, request =>
        {
            var basic = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{XClientId}:{XClientSecret}"));
            if (request.Headers.GetValueOrDefault("Authorization") != basic)
            {
                return (Results.Json(new { error = "unauthorized_client", error_description = "Missing valid authorization header" }, statusCode: 401), false);
            }

            var form = request.Form;
            lock (_xRefresh)
            {
                if (form.GetValueOrDefault("grant_type") != "refresh_token" || form.GetValueOrDefault("refresh_token") != _xRefreshToken)
                {
                    return (Results.Json(new { error = "invalid_request", error_description = "Value passed for the token was invalid." }, statusCode: 400), false);
                }

                var n = NextId();
                var access = $"x-access-SECRET-{n}";
                _xRefreshToken = $"x-refresh-SECRET-{n}";
                XRefreshTokens.Enqueue(_xRefreshToken);
                _xAccessTokens[access] = 0;
                return (Results.Json(new { token_type = "bearer", expires_in = XTokenLifetimeSeconds, access_token = access, scope = "tweet.write users.read tweet.read offline.access", refresh_token = _xRefreshToken }), false);
            }
        });
        Route("POST", "/2/tweets", "x", request =>
        {
            var auth = request.Headers.GetValueOrDefault("Authorization") ?? "";
            if (!auth.StartsWith("Bearer ", StringComparison.Ordinal) || !_xAccessTokens.ContainsKey(auth[7..]))
            {
                return (Results.Json(new { title = "Unauthorized", type = "about:blank", status = 401, detail = "Unauthorized" }, statusCode: 401), false);
            }

            var text = request.Json.GetProperty("text").GetString()!;
            if (!_xTexts.TryAdd(text, 0))
            {
                return (Results.Json(new { detail = "You are not allowed to create a Tweet with duplicate content.", title = "Forbidden", status = 403 }, statusCode: 403), false);
            }

            var id = NextId();
            return (Results.Json(new { data = new { id, text } }, statusCode: 201), true);
        });
    }

    private void MapLinkedIn()
    {
        Route("POST", "/rest/posts", "linkedin", request =>
        {
            if (request.Headers.GetValueOrDefault("Authorization") != $"Bearer {Token}")
            {
                return (Results.Json(new { status = 401, message = "Invalid access token" }, statusCode: 401), false);
            }

            var version = request.Headers.GetValueOrDefault("LinkedIn-Version");
            if (version is null || request.Headers.GetValueOrDefault("X-Restli-Protocol-Version") != "2.0.0")
            {
                return (Results.Json(new { status = 400, message = "A version header is required" }, statusCode: 400), false);
            }

            if (string.CompareOrdinal(version, LinkedInOldestVersion) < 0)
            {
                return (Results.Json(new { status = 426, code = "NONEXISTENT_VERSION", message = $"Requested version {version} is not active" }, statusCode: 426), false);
            }

            LinkedInShown.Enqueue(LittleTextShown(request.Json.GetProperty("commentary").GetString()!));
            return (new RestliCreated($"urn:li:share:{NextId()}"), true);
        });
    }

    private void MapThreads()
    {
        Route("POST", "/v1.0/user-1/threads", null, request =>
        {
            if (!_threadsTokens.ContainsKey(request.Form.GetValueOrDefault("access_token") ?? ""))
            {
                return (Results.Json(new { error = new { message = "Invalid OAuth access token", code = 190 } }, statusCode: 400), false);
            }

            var id = $"container-{NextId()}";
            _containers[id] = new Container(request.Form["text"]);
            return (Results.Json(new { id }), false);
        });
        Route("GET", "/v1.0/{container}", null, request =>
        {
            var id = request.Path["/v1.0/".Length..];
            if (id.StartsWith("thread-", StringComparison.Ordinal) && request.QueryValues.GetValueOrDefault("fields") == "permalink")
            {
                return (Results.Json(new { permalink = $"https://www.threads.net/@news.example/post/{id}", id }), false);
            }

            if (!_containers.TryGetValue(id, out var container))
            {
                return (Results.Json(new { error = new { message = "Unsupported get request.", code = 100 } }, statusCode: 400), false);
            }

            var status = container.Read(ThreadsReadsBeforeFinished);
            return (Results.Json(new { status, id }), false);
        });
        Route("POST", "/v1.0/user-1/threads_publish", "threads", request =>
        {
            var id = request.Form.GetValueOrDefault("creation_id") ?? "";
            if (!_containers.TryGetValue(id, out var container) || !container.TryPublish())
            {
                // What integrations get when they publish seconds after creating the container.
                return (Results.Json(new { error = new { message = "Media Not Found", type = "OAuthException", code = 24, error_subcode = 4279009 } }, statusCode: 400), false);
            }

            return (Results.Json(new { id = $"thread-{NextId()}" }), true);
        });
        Route("GET", "/refresh_access_token", null, request =>
        {
            var query = request.QueryValues;
            if (query.GetValueOrDefault("grant_type") != "th_refresh_token" || !_threadsTokens.ContainsKey(query.GetValueOrDefault("access_token") ?? ""))
            {
                return (Results.Json(new { error = new { message = "Invalid OAuth access token", code = 190 } }, statusCode: 400), false);
            }

            var token = $"threads-long-SECRET-{NextId()}";
            _threadsTokens[token] = 0;
            return (Results.Json(new { access_token = token, token_type = "bearer", expires_in = 5183944 }), false);
        });
    }

    /// <summary>What LinkedIn shows of a commentary: everything before the first unescaped reserved character.</summary>
    private static string LittleTextShown(string commentary)
    {
        var shown = new StringBuilder();
        for (var i = 0; i < commentary.Length; i++)
        {
            var c = commentary[i];
            if (c == '\\' && i + 1 < commentary.Length)
            {
                shown.Append(commentary[++i]);
            }
            else if ("|{}@[]()<>#*_~".Contains(c, StringComparison.Ordinal))
            {
                break;
            }
            else
            {
                shown.Append(c);
            }
        }

        return shown.ToString();
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
            var start = System.Diagnostics.Stopwatch.GetTimestamp();
            try
            {
                return await AnswerAsync(context, method, path, network, received, handle);
            }
            finally
            {
                _spans.Enqueue((path, start, System.Diagnostics.Stopwatch.GetTimestamp()));
            }
        });
    }

    private async Task<IResult> AnswerAsync(HttpContext context, string method, string path, string? network, ReceivedRequest received, Func<ReceivedRequest, (IResult Result, bool Posted)> handle)
    {
        {
            Fault? fault = null;
            if (_faults.TryGetValue(path, out var queue))
            {
                queue.TryDequeue(out fault);
            }

            if (fault?.Release is { } release)
            {
                await release.WaitAsync(context.RequestAborted);
            }

            if (fault?.Delay is { } delay)
            {
                await Task.Delay(delay, _hangs.Token);
            }

            if (fault is { HangBefore: true })
            {
                await HangAsync(context);
                return Results.Empty;
            }

            if (fault is { Status: > 0, AfterAccepting: false })
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

            return fault is { AfterAccepting: true } ? Results.Text(fault.Body ?? "", "application/json", statusCode: fault.Status) : result;
        }
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

    /// <summary>A Threads container: IN_PROGRESS for some reads, then FINISHED, PUBLISHED once published.</summary>
    private sealed class Container(string text)
    {
        private int _reads;
        private bool _finished;
        private bool _published;

        public string Text { get; } = text;

        public string Read(int readsBeforeFinished)
        {
            lock (this)
            {
                if (_published)
                {
                    return "PUBLISHED";
                }

                _finished |= _reads++ >= readsBeforeFinished;
                return _finished ? "FINISHED" : "IN_PROGRESS";
            }
        }

        /// <summary>Publishes a FINISHED container once; one never read as FINISHED is not ready.</summary>
        public bool TryPublish()
        {
            lock (this)
            {
                if (_published || !_finished)
                {
                    return false;
                }

                _published = true;
                return true;
            }
        }
    }

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
