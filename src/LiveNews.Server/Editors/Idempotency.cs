using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.Json;
using LiveNews.Server.Bus;
using LiveNews.Server.Store;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LiveNews.Server.Editors;

/// <summary>
/// <c>Idempotency-Key</c>: the first answer to a key is stored per caller and replayed to every retry of
/// the same request, so nothing is pushed twice. The same key with a different request is refused.
/// </summary>
internal sealed class Idempotency(RedisStore store, RedisNames names, IOptions<EditorApiOptions> options) : IEndpointFilter
{
    public const string HeaderName = "Idempotency-Key";
    private const int MaxKeyLength = 255;
    // A claim outlives its request only when the node died mid-request; then a retry may proceed soon.
    // Even a retry that overlaps the first attempt publishes nothing twice: event ids derive from the key.
    private static readonly TimeSpan ClaimTimeToLive = TimeSpan.FromSeconds(10);

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        if (!http.Request.Headers.TryGetValue(HeaderName, out var header))
        {
            return await next(context);
        }

        var key = header.ToString();
        if (key.Length is 0 or > MaxKeyLength || key.Any(c => c is < '!' or > '~'))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid Idempotency-Key",
                detail: $"The Idempotency-Key header must be 1-{MaxKeyLength} visible ASCII characters.");
        }

        var caller = http.User.FindFirstValue(ClaimTypes.Name) ?? http.User.FindFirstValue("sub") ?? "anonymous";
        var limit = options.Value.MaxRequestBodyBytes;
        if (await FingerprintAsync(http.Request, limit) is not { } fingerprint)
        {
            return JsonBody.TooLarge(limit);
        }

        var redisKey = names.Idempotency(Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(caller)), 0, 8), key);
        var db = await store.GetDatabaseAsync();

        var pending = JsonSerializer.Serialize(new StoredAnswer(fingerprint, Status: 0, null, null));
        if (!await db.StringSetAsync(redisKey, pending, ClaimTimeToLive, When.NotExists))
        {
            var stored = await db.StringGetAsync(redisKey);
            var answer = stored.IsNull ? null : JsonSerializer.Deserialize<StoredAnswer>((string)stored!);
            if (answer is null || answer.Status == 0)
            {
                return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Request in progress",
                    detail: "A request with this Idempotency-Key is still being processed; retry later.");
            }

            if (answer.Fingerprint != fingerprint)
            {
                return TypedResults.Problem(statusCode: StatusCodes.Status422UnprocessableEntity, title: "Idempotency-Key reused",
                    detail: "This Idempotency-Key was used for a different request.");
            }

            http.Response.Headers["Idempotent-Replayed"] = "true";
            return new StoredResult(answer);
        }

        // The request's fingerprint is part of the seed: after a failed attempt (nothing stored to compare a
        // reuse with) the same request gets the same event ids, and finds what the attempt published; another
        // request under the key gets ids of its own, so it is applied rather than answered with the first one's events.
        EventIds.Seed(http, $"{caller}\n{key}\n{fingerprint}");
        try
        {
            var result = await next(context);
            var captured = await CaptureAsync(http, result);
            if (captured.Status < 500)
            {
                await db.StringSetAsync(redisKey, JsonSerializer.Serialize(captured with { Fingerprint = fingerprint }), options.Value.IdempotencyTimeToLive);
            }
            else
            {
                await ReleaseClaimAsync(db, redisKey);
            }

            return new StoredResult(captured);
        }
        catch
        {
            // A failed attempt must not block its retry; the retry republishes under the same event ids.
            await ReleaseClaimAsync(db, redisKey);
            throw;
        }
    }

    private static async Task ReleaseClaimAsync(IDatabase db, RedisKey key)
    {
        try
        {
            await db.KeyDeleteAsync(key);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // The store is down; the claim expires by itself.
        }
    }

    // The request's hash, reading (and buffering, for the handler) no more than the body limit: null past it.
    private static async Task<string?> FingerprintAsync(HttpRequest request, int limit)
    {
        request.EnableBuffering();
        if (await JsonBody.ReadBoundedAsync(request, limit) is not { } body)
        {
            return null;
        }

        request.Body.Position = 0;
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(System.Text.Encoding.UTF8.GetBytes($"{request.Method} {request.Path}\n"));
        sha.AppendData(body.Span);
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    // Runs the handler's result into a buffer, so the exact answer can be stored and replayed.
    private static async Task<StoredAnswer> CaptureAsync(HttpContext http, object? result)
    {
        var original = http.Response.Body;
        using var buffer = new MemoryStream();
        http.Response.Body = buffer;
        try
        {
            if (result is IResult executable)
            {
                await executable.ExecuteAsync(http);
            }
        }
        finally
        {
            http.Response.Body = original;
        }

        return new StoredAnswer("", http.Response.StatusCode, http.Response.ContentType, buffer.ToArray(), http.Response.Headers.Location.ToString() is { Length: > 0 } location ? location : null);
    }

    // Location too: a retried create answers 201 with where the first one put it.
    private sealed record StoredAnswer(string Fingerprint, int Status, string? ContentType, byte[]? Body, string? Location = null);

    private sealed class StoredResult(StoredAnswer answer) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = answer.Status;
            if (answer.ContentType is not null)
            {
                httpContext.Response.ContentType = answer.ContentType;
            }

            if (answer.Location is not null)
            {
                httpContext.Response.Headers.Location = answer.Location;
            }

            if (answer.Body is { Length: > 0 } body)
            {
                await httpContext.Response.Body.WriteAsync(body);
            }
        }
    }
}
