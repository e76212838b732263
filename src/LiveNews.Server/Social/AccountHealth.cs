using LiveNews.Server.Bus;
using LiveNews.Server.Operations;
using LiveNews.Server.Store;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LiveNews.Server.Social;

/// <summary>How an account is doing, for <c>GET /api/social/accounts</c>.</summary>
public sealed record AccountHealthView(string Name, string Network, string State, DateTimeOffset? ExpiresAt, DateTimeOffset? LastPostedAt, string? LastError);

internal static class AccountStates
{
    public const string Ok = "ok";
    public const string Expiring = "expiring";
    public const string Expired = "expired";
    public const string Failing = "failing";
    public const string BreakerOpen = "breaker-open";

    public static readonly string[] All = [Ok, Expiring, Expired, Failing, BreakerOpen];
}

/// <summary>
/// Each account's last post and last failure, shared by every node in a Redis hash, and its state from
/// those, its token's expiry and its circuit breaker. Also kept as a metric per account.
/// </summary>
/// <remarks>Bound: the hash expires <see cref="ShareStore.Retention"/> after its last write.</remarks>
internal sealed class AccountHealth(RedisStore store, RedisNames names, OAuthTokens tokens, SharePipelines pipelines, LiveNewsMetrics metrics, IOptions<SocialOptions> options, TimeProvider time)
{
    /// <summary>A token that ends within this is <c>expiring</c> (one that refreshes itself is refreshed well before).</summary>
    private static readonly TimeSpan ExpiringWithin = TimeSpan.FromDays(7);

    private const string LastPostedAt = "lastPostedAt";
    private const string LastErrorAt = "lastErrorAt";
    private const string LastError = "lastError";
    private const string LastErrorWasAuth = "lastErrorWasAuth";

    /// <summary>Records a job's end on its account: a post clears the failure, a failure is kept with its reason.</summary>
    public async Task RecordAsync(ShareJob job, bool authFailure)
    {
        var key = names.ShareAccount(job.Account);
        var now = UtcTimestampConverter.ToText(time.GetUtcNow());
        var db = await store.GetDatabaseAsync();
        if (job.State == ShareStates.Posted)
        {
            await db.HashSetAsync(key, [new HashEntry(LastPostedAt, now)]);
            await db.HashDeleteAsync(key, [LastErrorAt, LastError, LastErrorWasAuth]);
        }
        else if (job.State is ShareStates.Failed or ShareStates.Dead or ShareStates.Unconfirmed)
        {
            await db.HashSetAsync(key, [new HashEntry(LastErrorAt, now), new HashEntry(LastError, job.Reason ?? job.State), new HashEntry(LastErrorWasAuth, authFailure ? "1" : "0")]);
        }
        else
        {
            return;
        }

        await db.KeyExpireAsync(key, ShareStore.Retention);
        var account = options.Value.Accounts.FirstOrDefault(a => a.Name == job.Account);
        if (account is not null)
        {
            await GetAsync(account);
        }
    }

    public async Task<IReadOnlyList<AccountHealthView>> ListAsync()
    {
        var views = new List<AccountHealthView>();
        foreach (var account in options.Value.Accounts)
        {
            views.Add(await GetAsync(account));
        }

        return views;
    }

    private async Task<AccountHealthView> GetAsync(SocialAccountOptions account)
    {
        var fields = (await (await store.GetDatabaseAsync()).HashGetAllAsync(names.ShareAccount(account.Name))).ToDictionary(e => (string)e.Name!, e => (string)e.Value!, StringComparer.Ordinal);
        var lastPostedAt = Time(fields.GetValueOrDefault(LastPostedAt));
        var lastErrorAt = Time(fields.GetValueOrDefault(LastErrorAt));
        var expiresAt = await tokens.ExpiresAtAsync(account);
        var now = time.GetUtcNow();

        // An X access token lives two hours and is refreshed when needed: only its refresh failing matters.
        var selfRefreshing = account.Network == Networks.X && OAuthTokens.Refreshes(account);
        var failing = lastErrorAt is not null && (lastPostedAt is null || lastErrorAt > lastPostedAt);
        var state =
            pipelines.IsBreakerOpen(account.Name) ? AccountStates.BreakerOpen
            : (failing && fields.GetValueOrDefault(LastErrorWasAuth) == "1") || (!selfRefreshing && expiresAt <= now) ? AccountStates.Expired
            : !selfRefreshing && expiresAt - now <= ExpiringWithin ? AccountStates.Expiring
            : failing ? AccountStates.Failing
            : AccountStates.Ok;
        metrics.AccountState(account.Name, state);
        return new AccountHealthView(account.Name, account.Network, state, expiresAt, lastPostedAt, failing ? fields.GetValueOrDefault(LastError) : null);
    }

    private static DateTimeOffset? Time(string? text) =>
        DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var at) ? at : null;
}
