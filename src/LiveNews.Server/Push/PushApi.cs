using System.Buffers.Text;
using System.Net;
using LiveNews.Server.Bus;
using LiveNews.Server.Editors;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace LiveNews.Server.Push;

/// <summary>What a browser sends: its <c>PushSubscription.toJSON()</c> and, optionally, the topics it wants.</summary>
public sealed record PushSubscriptionRequest(string? Endpoint, PushSubscriptionKeys? Keys, string[]? Topics, long? ExpirationTime);

public sealed record PushSubscriptionKeys(string? P256dh, string? Auth);

/// <summary>Which subscription to remove.</summary>
public sealed record PushUnsubscribeRequest(string? Endpoint);

public sealed record PushKey(string PublicKey);

public sealed record PushSubscribed(string[] Topics, DateTimeOffset ExpiresAt);

/// <summary>
/// <c>GET /api/push/key</c>, <c>POST</c>/<c>DELETE /api/push/subscriptions</c>: public, rate-limited with the
/// public policy, strict: https endpoints only (http for loopback in Development and Testing), keys of the
/// sizes RFC 8291 gives (p256dh 65 bytes, auth 16), topics that push.
/// </summary>
internal static class PushApi
{
    private const int MaxEndpointLength = 2048;

    public static void MapPushRoutes(this RouteGroupBuilder push)
    {
        push.MapGet("/key", GetKey).WithName("GetPushKey");
        push.MapPost("/subscriptions", SubscribeAsync).WithName("SubscribePush");
        push.MapDelete("/subscriptions", UnsubscribeAsync).WithName("UnsubscribePush");
    }

    private static Results<Ok<PushKey>, ProblemHttpResult> GetKey(IOptions<PushOptions> options) =>
        options.Value.Enabled ? TypedResults.Ok(new PushKey(options.Value.PublicKey)) : Off();

    private static async Task<IResult> SubscribeAsync(HttpRequest request, JsonBody body, PushSubscriptions subscriptions, IOptions<PushOptions> options, IHostEnvironment environment, TimeProvider time)
    {
        if (!options.Value.Enabled)
        {
            return Off();
        }

        var (value, problem) = await body.ReadAsync<PushSubscriptionRequest>(request);
        if (problem is not null)
        {
            return problem;
        }

        if (ValidEndpoint(value!.Endpoint, environment) is { } endpointError)
        {
            return JsonBody.Invalid("endpoint", endpointError);
        }

        if (!IsKey(value.Keys?.P256dh, 65) || Base64Url.DecodeFromChars(value.Keys!.P256dh)[0] != 0x04)
        {
            return JsonBody.Invalid("keys.p256dh", "p256dh must be the browser's uncompressed P-256 public key in base64url (65 bytes).");
        }

        if (!IsKey(value.Keys.Auth, 16))
        {
            return JsonBody.Invalid("keys.auth", "auth must be the browser's 16-byte authentication secret in base64url.");
        }

        var topics = value.Topics ?? [Topic.Breaking.Name];
        if (topics.Length == 0 || topics.Distinct(StringComparer.Ordinal).Count() != topics.Length || topics.Any(topic => !PushSubscriptions.Topics.Contains(topic)))
        {
            return JsonBody.Invalid("topics", $"topics must name, once each, topics that send pushes: {string.Join(", ", PushSubscriptions.Topics)}.");
        }

        var now = time.GetUtcNow();
        if (!await subscriptions.SaveAsync(new StoredPushSubscription(value.Endpoint!, value.Keys.P256dh!, value.Keys.Auth!, topics, now)))
        {
            // A ceiling, as for entries and alerts: 409. A 503 would read as an outage, and take the node out of a
            // balancer's rotation (nginx max_fails).
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Too many push subscriptions", detail: "This topic holds as many push subscriptions as it may (Push:MaxSubscriptionsPerTopic).");
        }

        // The stored-document options: every time in an answer reads as UTC with milliseconds and Z.
        return TypedResults.Json(new PushSubscribed(topics, now + options.Value.SubscriptionTimeToLive), LiveNewsJson.Stored);
    }

    private static async Task<IResult> UnsubscribeAsync(HttpRequest request, JsonBody body, PushSubscriptions subscriptions, IOptions<PushOptions> options)
    {
        if (!options.Value.Enabled)
        {
            return Off();
        }

        var (value, problem) = await body.ReadAsync<PushUnsubscribeRequest>(request);
        if (problem is not null)
        {
            return problem;
        }

        if (string.IsNullOrEmpty(value!.Endpoint) || value.Endpoint.Length > MaxEndpointLength)
        {
            return JsonBody.Invalid("endpoint", "endpoint is required.");
        }

        await subscriptions.RemoveAsync(PushSubscriptions.IdOf(value.Endpoint));
        return TypedResults.NoContent();
    }

    private static string? ValidEndpoint(string? endpoint, IHostEnvironment environment)
    {
        if (string.IsNullOrEmpty(endpoint) || endpoint.Length > MaxEndpointLength || !Uri.TryCreate(endpoint, UriKind.Absolute, out var uri))
        {
            return $"endpoint must be an absolute URL of at most {MaxEndpointLength} characters.";
        }

        if (uri.UserInfo.Length > 0 || uri.Fragment.Length > 0)
        {
            return "endpoint must not carry user information or a fragment.";
        }

        // An address in the URL is checked now; a name, on every connect (PushNetwork).
        var allowLoopback = PushNetwork.AllowsLoopback(environment);
        if (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address) && !PushNetwork.MayConnect(address, allowLoopback))
        {
            return "endpoint must be on the internet, not a private, loopback or link-local address.";
        }

        if (uri.Scheme == Uri.UriSchemeHttps)
        {
            return null;
        }

        // A push service on this machine, for development and the tests' fake; never in production.
        var loopback = uri.IsLoopback || (address is not null && IPAddress.IsLoopback(address));
        return uri.Scheme == Uri.UriSchemeHttp && loopback && allowLoopback
            ? null
            : "endpoint must be an https URL of the browser's push service.";
    }

    private static bool IsKey(string? value, int bytes) => value is not null && PushOptions.IsKey(value, bytes) && !value.AsSpan().ContainsAny('=', '+', '/');

    private static ProblemHttpResult Off() =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Web Push is off", detail: "This server sends no pushes (no Push:PublicKey and Push:PrivateKey).");
}
