using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using LiveNews.Server.Feeds;
using Microsoft.Extensions.Options;

namespace LiveNews.Server.Social.Adapters;

/// <summary>
/// Bluesky (AT Protocol): a session from an app password, reused and refreshed; a post record with a link
/// facet in UTF-8 byte offsets and an external embed card. The record key is chosen once per job, so a
/// retry writes the same record and cannot create a second post; after any unknown outcome (the real PDS
/// answers a repeated key with a 500) the record is looked up with <c>getRecord</c> before deciding.
/// </summary>
internal sealed class BlueskyAdapter(IHttpClientFactory clients, TimeProvider time, IOptions<FeedOptions> feeds) : IShareAdapter
{
    private const int MaxGraphemes = 300;
    private const int MaxBytes = 3000;
    private const string ExpiredToken = "ExpiredToken";
    private const string InvalidToken = "InvalidToken";
    private readonly ConcurrentDictionary<string, Session> _sessions = new(StringComparer.Ordinal);

    public string Network => Networks.Bluesky;

    public AfterUnknown AfterUnknown => AfterUnknown.ResendAtOnce;

    public Task<ComposedPost> ComposeAsync(ShareRequest request, CancellationToken cancellationToken)
    {
        var text = Text(request);
        return Task.FromResult(ComposedPost.Fits(text, ShareText.Graphemes(text), MaxGraphemes));
    }

    public async Task<PostOutcome> PostAsync(ShareRequest request, CancellationToken cancellationToken)
    {
        var http = clients.CreateClient(SocialServiceCollectionExtensions.HttpClientName);
        var (session, failure) = await SessionAsync(http, request, refresh: false, cancellationToken);
        if (failure is not null)
        {
            return failure;
        }

        var outcome = await CreateRecordAsync(http, request, session!, cancellationToken);
        if (outcome.Kind == OutcomeKind.Auth && outcome.Reason is ExpiredToken or InvalidToken)
        {
            (session, failure) = await SessionAsync(http, request, refresh: true, cancellationToken);
            if (failure is not null)
            {
                return failure;
            }

            outcome = await CreateRecordAsync(http, request, session!, cancellationToken);
        }

        if (outcome.Kind != OutcomeKind.Unknown)
        {
            return outcome;
        }

        // No answer, or a 5xx (what the PDS answers when the record key exists): the record itself tells.
        var (found, lookup) = await GetRecordAsync(http, request, session!.Did, cancellationToken);
        return found switch
        {
            true => new PostOutcome(OutcomeKind.AlreadyPosted, $"{outcome.Reason}; the record exists", lookup, PostUrl(session.Did, request.Job)),
            false => PostOutcome.Transient($"{outcome.Reason}; the record does not exist, so sending again is safe", outcome.RetryAfter),
            null => outcome with { Reason = $"{outcome.Reason}; looking the record up failed too ({lookup})" },
        };
    }

    public async Task<ConfirmResult> ConfirmAsync(ShareRequest request, DateTimeOffset since, CancellationToken cancellationToken)
    {
        var http = clients.CreateClient(SocialServiceCollectionExtensions.HttpClientName);
        var (session, failure) = await SessionAsync(http, request, refresh: false, cancellationToken);
        if (failure is not null)
        {
            // Refused credentials need an editor; a PDS that is down only needs time.
            var reason = $"no Bluesky session to look the record up ({failure.Reason})";
            return failure.Kind == OutcomeKind.Auth ? ConfirmResult.CannotTell(reason) : ConfirmResult.LookUpFailed(reason, failure.RetryAfter);
        }

        var (found, detail) = await GetRecordAsync(http, request, session!.Did, cancellationToken);
        return found switch
        {
            true => ConfirmResult.Found(detail, PostUrl(session.Did, request.Job)),
            false => ConfirmResult.SafeToSend("the record does not exist"),
            null => ConfirmResult.LookUpFailed($"looking the record up failed ({detail})"),
        };
    }

    /// <summary>The text within 300 graphemes and 3000 UTF-8 bytes (the lexicon's two limits), ending in the link.</summary>
    internal static string Text(ShareRequest request)
    {
        var linkCost = ShareText.Utf8Bytes(request.Link) + 2;
        var text = ShareText.Fit(request.Text.Trim(), MaxBytes - linkCost, ShareText.Utf8Bytes);
        return ShareText.WithLink(text, request.Link, MaxGraphemes, ShareText.Graphemes);
    }

    /// <summary>The post record: text within 300 graphemes ending in the link, a facet over the link's bytes, a card.</summary>
    internal static object Record(ShareRequest request, DateTimeOffset now, string language)
    {
        var text = Text(request);
        var linkStart = Encoding.UTF8.GetByteCount(text[..text.LastIndexOf(request.Link, StringComparison.Ordinal)]);
        return new Dictionary<string, object?>
        {
            ["$type"] = "app.bsky.feed.post",
            ["text"] = text,
            ["createdAt"] = now.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture),
            ["langs"] = new[] { language },
            ["facets"] = new[]
            {
                new Dictionary<string, object>
                {
                    ["index"] = new { byteStart = linkStart, byteEnd = linkStart + Encoding.UTF8.GetByteCount(request.Link) },
                    ["features"] = new[] { new Dictionary<string, string> { ["$type"] = "app.bsky.richtext.facet#link", ["uri"] = request.Link } },
                },
            },
            ["embed"] = new Dictionary<string, object>
            {
                ["$type"] = "app.bsky.embed.external",
                ["external"] = new { uri = request.Link, title = request.Article.Headline, description = request.Article.Summary ?? "" },
            },
        };
    }

    /// <summary>A TID-shaped record key (13 base32-sortable characters) derived from the job, stable across retries.</summary>
    internal static string RecordKey(ShareJob job)
    {
        const string Alphabet = "234567abcdefghijklmnopqrstuvwxyz";
        // Timestamp in microseconds, then 10 "clock id" bits from the job's key: sortable and stable.
        var hash = System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(job.IdempotencyKey));
        var micros = (ulong)job.CreatedAt.ToUnixTimeMilliseconds() * 1000 + (ulong)(BitConverter.ToUInt16(hash, 0) % 1000);
        var value = (micros << 10) | (BitConverter.ToUInt16(hash, 2) & 1023UL);
        var key = new char[13];
        for (var i = 12; i >= 0; i--)
        {
            key[i] = Alphabet[(int)(value & 31)];
            value >>= 5;
        }

        return new string(key);
    }

    private async Task<PostOutcome> CreateRecordAsync(HttpClient http, ShareRequest request, Session session, CancellationToken cancellationToken)
    {
        var rkey = RecordKey(request.Job);
        using var message = new HttpRequestMessage(HttpMethod.Post, request.Endpoint(Network, "/xrpc/com.atproto.repo.createRecord"))
        {
            Content = JsonContent.Create(new { repo = session.Did, collection = "app.bsky.feed.post", rkey, record = Record(request, time.GetUtcNow(), feeds.Value.Language) }),
        };
        message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", session.AccessJwt);
        return await HttpOutcomes.ExchangeAsync(http, message, (response, body) =>
        {
            var url = PostUrl(session.Did, request.Job);
            if (response.IsSuccessStatusCode)
            {
                using var json = JsonDocument.Parse(body);
                return PostOutcome.Posted(json.RootElement.GetProperty("uri").GetString()!, url);
            }

            var error = ErrorName(body);
            if (response.StatusCode == HttpStatusCode.BadRequest && (body.Contains("already exists", StringComparison.OrdinalIgnoreCase) || error == "RecordAlreadyExists"))
            {
                return new PostOutcome(OutcomeKind.AlreadyPosted, RemoteId: $"at://{session.Did}/app.bsky.feed.post/{rkey}", RemoteUrl: url);
            }

            if (error is ExpiredToken or InvalidToken)
            {
                return PostOutcome.Auth(error); // PostAsync refreshes the session and tries once more.
            }

            return HttpOutcomes.FromStatus(response, body, HttpOutcomes.UntilReset(response, "ratelimit-reset", time.GetUtcNow()));
        }, cancellationToken);
    }

    /// <summary><c>com.atproto.repo.getRecord</c> with the job's record key: true and the record's URI, false when absent, null and why when it cannot tell.</summary>
    private static async Task<(bool? Found, string Detail)> GetRecordAsync(HttpClient http, ShareRequest request, string did, CancellationToken cancellationToken)
    {
        var query = $"?repo={Uri.EscapeDataString(did)}&collection=app.bsky.feed.post&rkey={RecordKey(request.Job)}";
        using var message = new HttpRequestMessage(HttpMethod.Get, request.Endpoint(Networks.Bluesky, "/xrpc/com.atproto.repo.getRecord" + query));
        var (response, failure) = await HttpOutcomes.SendAsync(http, message, cancellationToken);
        if (failure is not null)
        {
            return (null, failure.Reason!);
        }

        using (response)
        {
            var body = await response!.Content.ReadAsStringAsync(cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                using var json = JsonDocument.Parse(body);
                return (true, json.RootElement.GetProperty("uri").GetString()!);
            }

            return ErrorName(body) == "RecordNotFound"
                ? (false, "RecordNotFound")
                : (null, $"{(int)response.StatusCode} {HttpOutcomes.Clip(body)}");
        }
    }

    private static string PostUrl(string did, ShareJob job) => $"https://bsky.app/profile/{did}/post/{RecordKey(job)}";

    private async Task<(Session?, PostOutcome?)> SessionAsync(HttpClient http, ShareRequest request, bool refresh, CancellationToken cancellationToken)
    {
        var account = request.Account;
        if (!refresh && _sessions.TryGetValue(account.Name, out var cached))
        {
            return (cached, null);
        }

        if (refresh && _sessions.TryRemove(account.Name, out var stale))
        {
            using var refreshMessage = new HttpRequestMessage(HttpMethod.Post, request.Endpoint(Network, "/xrpc/com.atproto.server.refreshSession"));
            refreshMessage.Headers.Authorization = new AuthenticationHeaderValue("Bearer", stale.RefreshJwt);
            var (refreshed, _) = await HttpOutcomes.SendAsync(http, refreshMessage, cancellationToken);
            using (refreshed)
            {
                if (refreshed?.IsSuccessStatusCode == true)
                {
                    return (Remember(account, await refreshed.Content.ReadAsStringAsync(cancellationToken)), null);
                }
            }
        }

        using var message = new HttpRequestMessage(HttpMethod.Post, request.Endpoint(Network, "/xrpc/com.atproto.server.createSession"))
        {
            Content = JsonContent.Create(new { identifier = account.Identifier, password = account.AppPassword }),
        };
        var (response, failure) = await HttpOutcomes.SendAsync(http, message, cancellationToken);
        if (failure is not null)
        {
            return (null, NothingPosted(failure));
        }

        using (response)
        {
            var body = await response!.Content.ReadAsStringAsync(cancellationToken);
            return response.IsSuccessStatusCode
                ? (Remember(account, body), null)
                : (null, response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.BadRequest
                    ? PostOutcome.Auth($"session refused: {ErrorName(body) ?? ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture)}")
                    : NothingPosted(HttpOutcomes.FromStatus(response, body, HttpOutcomes.UntilReset(response, "ratelimit-reset", time.GetUtcNow()))));
        }
    }

    // Creating a session posts nothing: a lost answer or a 5xx there is always safe to try again.
    private static PostOutcome NothingPosted(PostOutcome failure) =>
        failure.Kind == OutcomeKind.Unknown ? PostOutcome.Transient($"{failure.Reason} (getting a session; nothing was posted)", failure.RetryAfter) : failure;

    private Session Remember(SocialAccountOptions account, string body)
    {
        using var json = JsonDocument.Parse(body);
        var root = json.RootElement;
        var session = new Session(root.GetProperty("did").GetString()!, root.GetProperty("accessJwt").GetString()!, root.GetProperty("refreshJwt").GetString()!);
        _sessions[account.Name] = session;
        return session;
    }

    private static string? ErrorName(string body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            return json.RootElement.TryGetProperty("error", out var error) ? error.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private sealed record Session(string Did, string AccessJwt, string RefreshJwt);
}
