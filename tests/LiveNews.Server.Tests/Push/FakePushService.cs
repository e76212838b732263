using System.Buffers.Binary;
using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using LiveNews.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace LiveNews.Server.Tests.Push;

/// <summary>A push message the fake push service accepted: its headers and the payload it decrypted.</summary>
public sealed record ReceivedPush(string SubscriptionId, string Topic, string Urgency, int TimeToLive, JsonElement Payload);

/// <summary>
/// A browser's side of a push subscription: its P-256 key pair and auth secret (RFC 8291), and the
/// endpoint the fake push service gave it.
/// </summary>
public sealed class BrowserSubscription(string id, Uri endpoint) : IDisposable
{
    public string Id { get; } = id;

    public Uri Endpoint { get; } = endpoint;

    public ECDiffieHellman Key { get; } = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);

    public byte[] Auth { get; } = RandomNumberGenerator.GetBytes(16);

    public byte[] PublicKey
    {
        get
        {
            var q = Key.ExportParameters(false).Q;
            return [0x04, .. q.X!, .. q.Y!];
        }
    }

    /// <summary>What <c>PushSubscription.toJSON()</c> gives the page, with the topics asked for.</summary>
    public object Json(string[]? topics = null) => new
    {
        endpoint = Endpoint.ToString(),
        expirationTime = (long?)null,
        keys = new { p256dh = Base64Url.EncodeToString(PublicKey), auth = Base64Url.EncodeToString(Auth) },
        topics,
    };

    public void Dispose() => Key.Dispose();
}

/// <summary>
/// A push service on loopback (RFC 8030) that does what real ones check: the VAPID JWT (RFC 8292: ES256 by
/// the key in <c>k</c>, <c>aud</c> its own origin, <c>exp</c> in the future and within 24 h, <c>sub</c>),
/// <c>TTL</c>, and a body it can decrypt (RFC 8291 aes128gcm) with the subscription's private key. A request
/// that fails a check is refused (400/401/403) and recorded in <see cref="Refusals"/>. Scripted answers per
/// subscription (410, 429 with Retry-After) are consumed one per request.
/// </summary>
public sealed class FakePushService : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _vapidPublicKey;
    private readonly string _subject;
    private readonly ConcurrentDictionary<string, BrowserSubscription> _subscriptions = new();
    private readonly ConcurrentDictionary<string, ConcurrentQueue<(int Status, string? RetryAfter)>> _scripted = new();
    private readonly ConcurrentDictionary<string, Task> _held = new();

    public FakePushService(string vapidPublicKey, string subject)
    {
        _vapidPublicKey = vapidPublicKey;
        _subject = subject;
        _app = LoopbackApp.Create();
        _app.MapPost("/push/{id}", ReceiveAsync);
        _app.StartAsync().GetAwaiter().GetResult();
        BaseAddress = new Uri(_app.Services.ListeningAddress());
    }

    /// <summary>What push services take at most in one message (RFC 8030 section 7.2 asks for at least 4096 bytes; FCM and Mozilla take no more).</summary>
    public const int MaxMessageBytes = 4096;

    public Uri BaseAddress { get; }

    public ConcurrentQueue<ReceivedPush> Received { get; } = new();

    public ConcurrentQueue<string> Refusals { get; } = new();

    /// <summary>Requests that reached the service, accepted or not.</summary>
    public int Requests => _requests;

    private int _requests;

    public BrowserSubscription NewSubscription()
    {
        var id = Guid.NewGuid().ToString("N");
        var subscription = new BrowserSubscription(id, new Uri(BaseAddress, $"/push/{id}"));
        _subscriptions[id] = subscription;
        return subscription;
    }

    /// <summary>The next request for the subscription gets this answer instead of 201.</summary>
    public void Answer(BrowserSubscription subscription, int status, string? retryAfter = null) =>
        _scripted.GetOrAdd(subscription.Id, _ => new()).Enqueue((status, retryAfter));

    /// <summary>While set and not completed, every request waits for it before it is answered.</summary>
    public Task? Gate { get; set; }

    /// <summary>The next request for the subscription waits for <paramref name="gate"/> before it is read and answered.</summary>
    public void Hold(BrowserSubscription subscription, Task gate) => _held[subscription.Id] = gate;

    public IReadOnlyList<ReceivedPush> Of(BrowserSubscription subscription) => [.. Received.Where(push => push.SubscriptionId == subscription.Id)];

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        foreach (var subscription in _subscriptions.Values)
        {
            subscription.Dispose();
        }
    }

    private async Task<IResult> ReceiveAsync(string id, HttpRequest request)
    {
        Interlocked.Increment(ref _requests);
        if (Gate is { } gate)
        {
            await gate.WaitAsync(request.HttpContext.RequestAborted);
        }

        if (_held.TryRemove(id, out var held))
        {
            await held.WaitAsync(request.HttpContext.RequestAborted);
        }

        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body);
        if (body.Length > MaxMessageBytes)
        {
            return Refuse(StatusCodes.Status413PayloadTooLarge, $"a message of {body.Length} bytes");
        }

        if (!_subscriptions.TryGetValue(id, out var subscription))
        {
            return Results.StatusCode(StatusCodes.Status404NotFound);
        }

        if (_scripted.TryGetValue(id, out var answers) && answers.TryDequeue(out var answer))
        {
            if (answer.RetryAfter is not null)
            {
                request.HttpContext.Response.Headers.RetryAfter = answer.RetryAfter;
            }

            return Results.StatusCode(answer.Status);
        }

        if (VapidProblem(request.Headers.Authorization.ToString()) is { } vapid)
        {
            return Refuse(StatusCodes.Status401Unauthorized, vapid);
        }

        if (!int.TryParse(request.Headers["TTL"], out var ttl) || ttl < 0)
        {
            return Refuse(StatusCodes.Status400BadRequest, "TTL header missing");
        }

        if (request.Headers.ContentEncoding != "aes128gcm")
        {
            return Refuse(StatusCodes.Status400BadRequest, $"Content-Encoding {request.Headers.ContentEncoding}");
        }

        byte[] plaintext;
        try
        {
            plaintext = Decrypt(body.ToArray(), subscription);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException or IndexOutOfRangeException)
        {
            return Refuse(StatusCodes.Status400BadRequest, "payload does not decrypt: " + ex.Message);
        }

        Received.Enqueue(new ReceivedPush(id, request.Headers["Topic"].ToString(), request.Headers["Urgency"].ToString(), ttl, JsonDocument.Parse(plaintext).RootElement.Clone()));
        return Results.StatusCode(StatusCodes.Status201Created);
    }

    private IResult Refuse(int status, string why)
    {
        Refusals.Enqueue(why);
        return Results.StatusCode(status);
    }

    /// <summary>Checks <c>Authorization: vapid t=JWT, k=KEY</c> as RFC 8292 says; null when it holds.</summary>
    private string? VapidProblem(string authorization)
    {
        if (!authorization.StartsWith("vapid ", StringComparison.Ordinal))
        {
            return $"not the vapid scheme: {authorization}";
        }

        var parameters = authorization[6..].Split(',', StringSplitOptions.TrimEntries)
            .Select(p => p.Split('=', 2))
            .ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "");
        if (parameters.GetValueOrDefault("k") != _vapidPublicKey)
        {
            return "k is not the server's VAPID public key";
        }

        var parts = parameters.GetValueOrDefault("t", "").Split('.');
        if (parts.Length != 3)
        {
            return "t is not a JWT";
        }

        var header = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[0])).RootElement;
        if (header.GetProperty("alg").GetString() != "ES256")
        {
            return "alg is not ES256";
        }

        var point = Base64Url.DecodeFromChars(_vapidPublicKey);
        using var key = ECDsa.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = new ECPoint { X = point[1..33], Y = point[33..65] } });
        if (!key.VerifyData(Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), Base64Url.DecodeFromChars(parts[2]), HashAlgorithmName.SHA256))
        {
            return "the JWT's ES256 signature does not verify with k";
        }

        var claims = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[1])).RootElement;
        // The origin is scheme://host:port. Lib.Net.Http.WebPush 3.3.1 leaves the port out of aud, which real
        // push services never see (they listen on 443, where the origin has no port); on loopback's
        // non-default port the fake accepts that one difference and nothing else.
        var origin = BaseAddress.GetLeftPart(UriPartial.Authority);
        var aud = claims.GetProperty("aud").GetString();
        if (aud != origin && aud != $"{BaseAddress.Scheme}://{BaseAddress.Host}")
        {
            return $"aud {aud} is not {origin}";
        }

        var exp = DateTimeOffset.FromUnixTimeSeconds(claims.GetProperty("exp").GetInt64());
        if (exp <= DateTimeOffset.UtcNow || exp > DateTimeOffset.UtcNow.AddHours(24))
        {
            return $"exp {exp:O} is not within the next 24 h";
        }

        return claims.GetProperty("sub").GetString() == _subject ? null : "sub is not the configured subject";
    }

    /// <summary>RFC 8291 with RFC 8188 aes128gcm: one record, the server's key in the header's key id.</summary>
    private static byte[] Decrypt(byte[] body, BrowserSubscription subscription)
    {
        var salt = body[..16];
        var recordSize = BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(16, 4));
        var idLength = body[20];
        var serverKey = body[21..(21 + idLength)];
        var record = body[(21 + idLength)..];
        if (idLength != 65 || record.Length > recordSize)
        {
            throw new ArgumentException($"expected one record and a 65-byte key id, got key id {idLength} and {record.Length} bytes of record size {recordSize}");
        }

        using var server = ECDiffieHellman.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = new ECPoint { X = serverKey[1..33], Y = serverKey[33..65] } });
        var shared = subscription.Key.DeriveRawSecretAgreement(server.PublicKey);
        byte[] keyInfo = [.. "WebPush: info\0"u8, .. subscription.PublicKey, .. serverKey];
        var ikm = HKDF.DeriveKey(HashAlgorithmName.SHA256, shared, 32, subscription.Auth, keyInfo);
        var cek = HKDF.DeriveKey(HashAlgorithmName.SHA256, ikm, 16, salt, "Content-Encoding: aes128gcm\0"u8.ToArray());
        var nonce = HKDF.DeriveKey(HashAlgorithmName.SHA256, ikm, 12, salt, "Content-Encoding: nonce\0"u8.ToArray());
        var plaintext = new byte[record.Length - 16];
        using (var aes = new AesGcm(cek, 16))
        {
            aes.Decrypt(nonce, record[..^16], record[^16..], plaintext);
        }

        // Padding: the last record ends with 0x02, then zeros.
        var end = Array.FindLastIndex(plaintext, b => b != 0);
        return plaintext[end] == 0x02 ? plaintext[..end] : throw new ArgumentException("the last record's padding delimiter is not 0x02");
    }
}
