using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using LiveNews.Server.Bus;
using LiveNews.Server.Social.Adapters;
using LiveNews.Server.Store;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LiveNews.Server.Social;

/// <summary>
/// Access tokens that expire, refreshed before they do and kept in Redis encrypted with Data Protection, so
/// every node uses the newest one and a rotated refresh token survives restarts:
/// <list type="bullet">
/// <item>X (OAuth 2.0 user context): a refresh token rotates at every use; the confidential client
/// authenticates to the token endpoint with HTTP Basic. Refreshed 5 minutes before expiry and on a 401.</item>
/// <item>Threads: a long-lived token (60 days) refreshes itself; refreshed once 30 days or fewer remain.</item>
/// </list>
/// One node refreshes at a time (a Redis lock), since a rotated refresh token works only once.
/// </summary>
/// <remarks>
/// Bounds: the token document expires <see cref="StoredFor"/> after its last refresh (longer than any token
/// it holds lives); the lock expires after <c>Social:TokenRefreshTimeout</c>.
/// </remarks>
internal sealed class OAuthTokens
{
    // KEYS: the refresh lock. ARGV: its holder's token (and, to renew it, the lifetime in ms). Only the holder acts.
    private const string RenewLockScript = "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end";
    private const string ReleaseLockScript = "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end";

    private static readonly TimeSpan StoredFor = TimeSpan.FromDays(180);
    private static readonly TimeSpan[] SaveRetries = [TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(1)];
    private static readonly TimeSpan XMargin = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan ThreadsRefreshBefore = TimeSpan.FromDays(30);
    private static readonly TimeSpan ThreadsRetryRefresh = TimeSpan.FromDays(1);

    private readonly RedisStore _store;
    private readonly RedisNames _names;
    private readonly IDataProtector _protector;
    private readonly TimeProvider _time;
    private readonly ILogger<OAuthTokens> _logger;
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _gates = new(StringComparer.Ordinal);

    // The lock's lifetime, and the budget of waiting for it: a refresh never runs past its lock, so no other node
    // refreshes with a refresh token already in flight. The token request gets two thirds of it, counted from when
    // the lock is taken: cut by the time the wait took, a refresh X had answered would lose the rotated token.
    private readonly TimeSpan _lockFor;
    private readonly TimeSpan _requestFor;

    public OAuthTokens(RedisStore store, RedisNames names, IDataProtectionProvider protection, TimeProvider time, IOptions<SocialOptions> options, ILogger<OAuthTokens> logger)
    {
        _lockFor = options.Value.TokenRefreshTimeout;
        _requestFor = _lockFor * 2 / 3;
        _store = store;
        _names = names;
        _protector = protection.CreateProtector("LiveNews.Social.OAuthTokens.v1");
        _time = time;
        _logger = logger;
    }

    /// <summary>True when the account's access token is refreshed here (X with a refresh token, Threads).</summary>
    public static bool Refreshes(SocialAccountOptions account) =>
        account.Network == Networks.Threads || (account.Network == Networks.X && !string.IsNullOrEmpty(account.RefreshToken));

    /// <summary>
    /// The access token to send. <paramref name="rejected"/> is a token the network just refused (401): a
    /// newer one is fetched. A failure is an outcome for the job (Auth when the refresh token is refused).
    /// </summary>
    public async Task<(string? AccessToken, PostOutcome? Failure)> AccessTokenAsync(HttpClient http, ShareRequest request, string? rejected, CancellationToken cancellationToken)
    {
        var account = request.Account;
        if (!Refreshes(account))
        {
            return (account.AccessToken, null);
        }

        // A refresh is not cut by the post's attempt timeout: X rotates the refresh token even when the caller has
        // gone, so a cut refresh would lose the new one. It has a budget of its own; an attempt whose time it took
        // ends as transient, nothing having been posted.
        using var refreshing = new CancellationTokenSource(_lockFor, _time);
        (string? AccessToken, PostOutcome? Failure) token;
        try
        {
            token = await CurrentOrRefreshedAsync(http, request, rejected, refreshing.Token);
        }
        catch (OperationCanceledException) when (refreshing.IsCancellationRequested)
        {
            // The lock was held elsewhere, or the refresh was slow, for the whole budget.
            return (null, PostOutcome.Transient($"getting an access token took over {_lockFor.TotalSeconds:0} s (another node refreshing, or the network slow); nothing was posted"));
        }

        return cancellationToken.IsCancellationRequested && token.Failure is null
            ? (null, PostOutcome.Transient("getting an access token took the attempt's time; nothing was posted"))
            : token;
    }

    private async Task<(string? AccessToken, PostOutcome? Failure)> CurrentOrRefreshedAsync(HttpClient http, ShareRequest request, string? rejected, CancellationToken cancellationToken)
    {
        var account = request.Account;
        var stored = await LoadAsync(account);
        if (account.Network == Networks.X)
        {
            return stored is not null && IsFresh(stored, rejected)
                ? (stored.AccessToken, null)
                : await RefreshAsync(http, request, rejected, cancellationToken);
        }

        stored ??= new StoredToken(account.AccessToken!, null, null, RefreshAfter: _time.GetUtcNow(), Seed(account));
        if (_time.GetUtcNow() < stored.RefreshAfter && stored.AccessToken != rejected)
        {
            return (stored.AccessToken, null);
        }

        var (refreshed, _) = await RefreshAsync(http, request, rejected, cancellationToken);
        return (refreshed ?? stored.AccessToken, null);
    }

    /// <summary>When the stored access token expires, as far as this service knows.</summary>
    public async Task<DateTimeOffset?> ExpiresAtAsync(SocialAccountOptions account) =>
        Refreshes(account) ? (await LoadAsync(account))?.ExpiresAt : null;

    private bool IsFresh(StoredToken token, string? rejected) =>
        token.AccessToken != rejected && (token.ExpiresAt is not { } expires || expires - _time.GetUtcNow() > XMargin);

    private async Task<(string?, PostOutcome?)> RefreshAsync(HttpClient http, ShareRequest request, string? rejected, CancellationToken cancellationToken)
    {
        var account = request.Account;
        var gate = _gates.GetOrAdd(account.Name, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken);
        try
        {
            var db = await _store.GetDatabaseAsync();
            var lockKey = _names.ShareOAuthLock(account.Name);
            var lockToken = Guid.NewGuid().ToString("N");
            // Bounded by the caller's budget (AccessTokenAsync), which is the lock's lifetime.
            while (!await db.StringSetAsync(lockKey, lockToken, _lockFor, When.NotExists))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), _time, cancellationToken);
            }

            using var requestBudget = new CancellationTokenSource(_requestFor, _time);
            try
            {
                // Another node (or call) may have refreshed while this one waited.
                var stored = await LoadAsync(account);
                if (stored is not null && (account.Network == Networks.X ? IsFresh(stored, rejected) : _time.GetUtcNow() < stored.RefreshAfter && stored.AccessToken != rejected))
                {
                    return (stored.AccessToken, null);
                }

                // Saving a rotated token may be retried past the lock's lifetime (Redis slow): the lock is kept meanwhile.
                Task HoldLockAsync() => db.ScriptEvaluateAsync(RenewLockScript, [lockKey], [lockToken, (long)_lockFor.TotalMilliseconds]);
                return account.Network == Networks.X
                    ? await RefreshXAsync(http, request, stored, HoldLockAsync, requestBudget.Token)
                    : await RefreshThreadsAsync(http, request, stored, requestBudget.Token);
            }
            catch (OperationCanceledException) when (requestBudget.IsCancellationRequested)
            {
                return (null, PostOutcome.Transient($"token refresh: no answer within {_requestFor.TotalSeconds:0.#} s"));
            }
            finally
            {
                await db.ScriptEvaluateAsync(ReleaseLockScript, [lockKey], [lockToken]);
            }
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>X: <c>POST /2/oauth2/token</c>, <c>grant_type=refresh_token</c>; the answer carries the next refresh token.</summary>
    private async Task<(string?, PostOutcome?)> RefreshXAsync(HttpClient http, ShareRequest request, StoredToken? stored, Func<Task> holdLock, CancellationToken cancellationToken)
    {
        var account = request.Account;
        var refreshToken = stored?.RefreshToken ?? account.RefreshToken!;
        var form = new Dictionary<string, string> { ["grant_type"] = "refresh_token", ["refresh_token"] = refreshToken };
        using var message = new HttpRequestMessage(HttpMethod.Post, TokenUrl(request, "/2/oauth2/token"));
        if (string.IsNullOrEmpty(account.ClientSecret))
        {
            form["client_id"] = account.ClientId!; // a public client names itself
        }
        else
        {
            // A confidential client authenticates with HTTP Basic (RFC 6749 2.3.1), as X documents.
            var credentials = $"{Uri.EscapeDataString(account.ClientId!)}:{Uri.EscapeDataString(account.ClientSecret)}";
            message.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(credentials)));
        }

        message.Content = new FormUrlEncodedContent(form);
        var (body, failure) = await SendAsync(http, message, request, cancellationToken);
        if (failure is not null)
        {
            return (null, failure);
        }

        var now = _time.GetUtcNow();
        var token = new StoredToken(
            body!.RootElement.GetProperty("access_token").GetString()!,
            body.RootElement.TryGetProperty("refresh_token", out var next) ? next.GetString() : refreshToken,
            body.RootElement.TryGetProperty("expires_in", out var expiresIn) ? now.AddSeconds(expiresIn.GetDouble()) : null,
            null,
            Seed(account));
        body.Dispose();
        await SaveRotatedAsync(account, token, holdLock);
        SocialLog.TokenRefreshed(_logger, account.Name, token.ExpiresAt);
        return (token.AccessToken, null);
    }

    // The refresh token X gave works once, and only this answer holds it: a Redis error on saving it is tried
    // again rather than losing it (every later refresh would be refused until someone authorises again), with
    // the refresh lock kept, so no other node refreshes with the spent token meanwhile.
    private async Task SaveRotatedAsync(SocialAccountOptions account, StoredToken token, Func<Task> holdLock)
    {
        for (var retry = 0; ; retry++)
        {
            try
            {
                await SaveAsync(account, token);
                return;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException && retry < SaveRetries.Length)
            {
                try
                {
                    await holdLock();
                }
                catch (Exception held) when (held is RedisException or TimeoutException)
                {
                    // Not held longer (Redis slow or away): the save is still worth trying, the token being lost otherwise.
                }

                await Task.Delay(SaveRetries[retry], _time);
            }
        }
    }

    /// <summary>Threads: <c>GET /refresh_access_token?grant_type=th_refresh_token</c> with the long-lived token itself.</summary>
    private async Task<(string?, PostOutcome?)> RefreshThreadsAsync(HttpClient http, ShareRequest request, StoredToken? stored, CancellationToken cancellationToken)
    {
        var account = request.Account;
        var current = stored?.AccessToken ?? account.AccessToken!;
        var url = $"{TokenUrl(request, "/refresh_access_token")}?grant_type=th_refresh_token&access_token={Uri.EscapeDataString(current)}";
        using var message = new HttpRequestMessage(HttpMethod.Get, url);
        var (body, failure) = await SendAsync(http, message, request, cancellationToken);
        var now = _time.GetUtcNow();
        if (failure is not null)
        {
            // The token still works until it expires (a token younger than a day cannot be refreshed yet): try again tomorrow.
            SocialLog.TokenRefreshFailed(_logger, account.Name, failure.Reason);
            await SaveAsync(account, (stored ?? new StoredToken(current, null, null, null, Seed(account))) with { RefreshAfter = now + ThreadsRetryRefresh });
            return (null, failure);
        }

        var expires = now.AddSeconds(body!.RootElement.GetProperty("expires_in").GetDouble());
        var token = new StoredToken(body.RootElement.GetProperty("access_token").GetString()!, null, expires, Max(now + ThreadsRetryRefresh, expires - ThreadsRefreshBefore), Seed(account));
        body.Dispose();
        await SaveAsync(account, token);
        SocialLog.TokenRefreshed(_logger, account.Name, token.ExpiresAt);
        return (token.AccessToken, null);
    }

    private static async Task<(JsonDocument?, PostOutcome?)> SendAsync(HttpClient http, HttpRequestMessage message, ShareRequest request, CancellationToken cancellationToken)
    {
        var (response, failure) = await HttpOutcomes.SendAsync(http, message, cancellationToken);
        if (failure is not null)
        {
            // A refresh posts nothing: trying again is always safe.
            return (null, PostOutcome.Transient($"token refresh: {failure.Reason}"));
        }

        using (response)
        {
            var text = await response!.Content.ReadAsStringAsync(cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                return (JsonDocument.Parse(text), null);
            }

            // The answer names the error (invalid_grant, invalid_client...), never the token it was given.
            return response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.Unauthorized
                ? (null, PostOutcome.Auth($"the token endpoint refused to refresh ({(int)response.StatusCode} {ErrorOf(text)}): authorise the account again and set {request.Setting}:RefreshToken (X) or :AccessToken (Threads)"))
                : (null, PostOutcome.Transient($"token refresh: {(int)response.StatusCode}"));
        }
    }

    private static string ErrorOf(string body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            var root = json.RootElement;
            return root.TryGetProperty("error", out var error)
                ? error.ValueKind == JsonValueKind.String ? error.GetString()! : error.TryGetProperty("message", out var m) ? m.GetString() ?? "" : ""
                : "";
        }
        catch (JsonException)
        {
            return "";
        }
    }

    private static Uri TokenUrl(ShareRequest request, string defaultPath) =>
        string.IsNullOrEmpty(request.Account.TokenUrl) ? request.Endpoint(request.Account.Network, defaultPath) : new Uri(request.Account.TokenUrl);

    /// <summary>Which configured credential the stored chain grew from: a newly configured one starts a new chain.</summary>
    private static string Seed(SocialAccountOptions account)
    {
        var seed = account.Network == Networks.X ? account.RefreshToken : account.AccessToken;
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(seed ?? "")))[..16];
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private async Task<StoredToken?> LoadAsync(SocialAccountOptions account)
    {
        var value = await (await _store.GetDatabaseAsync()).StringGetAsync(_names.ShareOAuthToken(account.Name));
        if (value.IsNull)
        {
            return null;
        }

        try
        {
            var token = LiveNewsJson.Deserialize<StoredToken>(_protector.Unprotect((string)value!));
            return token?.Seed == Seed(account) ? token : null;
        }
        catch (CryptographicException)
        {
            // Keys lost (kept in memory, or another key ring): start again from the configured credential.
            SocialLog.TokenUnreadable(_logger, account.Name);
            return null;
        }
    }

    private async Task SaveAsync(SocialAccountOptions account, StoredToken token) =>
        await (await _store.GetDatabaseAsync()).StringSetAsync(_names.ShareOAuthToken(account.Name), _protector.Protect(LiveNewsJson.Serialize(token)), StoredFor);

    internal sealed record StoredToken(string AccessToken, string? RefreshToken, DateTimeOffset? ExpiresAt, DateTimeOffset? RefreshAfter, string Seed);
}
