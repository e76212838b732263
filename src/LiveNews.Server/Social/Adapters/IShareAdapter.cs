using LiveNews.Server.Newsroom;

namespace LiveNews.Server.Social.Adapters;

/// <summary>What an adapter gets to post: the job, the article, the account and the link to share.</summary>
internal sealed record ShareRequest(ShareJob Job, Article Article, SocialAccountOptions Account, string Link)
{
    /// <summary>Where the account is configured (<c>Social:Accounts:3</c>), for reasons that name a setting.</summary>
    public string Setting { get; init; } = "Social:Accounts";

    /// <summary>
    /// Durably records a step done (the Threads container id) before the next step is sent, so that neither
    /// a retry nor a crash can lose it. Throws when the job's lease was lost.
    /// </summary>
    public Func<string, CancellationToken, Task> SaveCheckpointAsync { get; init; } = (_, _) => Task.CompletedTask;

    /// <summary>The editor's text for this account, else the headline.</summary>
    public string Text => string.IsNullOrWhiteSpace(Job.Text) ? Article.Headline : Job.Text;

    public Uri Endpoint(string network, string path)
    {
        var baseUrl = (Account.BaseUrl ?? Networks.DefaultBaseUrl(network)).TrimEnd('/');
        return new Uri(baseUrl + path);
    }
}

/// <summary>The exact text a network would get, measured by that network's rules.</summary>
internal sealed record ComposedPost(string Text, int Length, int? Limit, IReadOnlyList<string> Problems)
{
    public static ComposedPost Fits(string text, int length, int? limit) => new(text, length, limit, []);
}

/// <summary>What a network says about a post that may have been made without an answer.</summary>
internal enum Confirmation
{
    /// <summary>Sending again cannot post twice: the post is not there, or the network dedupes the resend.</summary>
    SafeToSend,

    /// <summary>The post exists.</summary>
    Posted,

    /// <summary>The network cannot tell: an editor must check.</summary>
    CannotTell,

    /// <summary>
    /// The look-up failed this time (an outage, a session or token not to be had just now): ask again later, and
    /// leave it to an editor only once the job's attempts are used up.
    /// </summary>
    NotNow,
}

internal sealed record ConfirmResult(Confirmation Kind, string? Reason = null, string? RemoteId = null, string? RemoteUrl = null)
{
    /// <summary>For a failed look-up: how long the network asked to wait (a 429, a throttling code).</summary>
    public TimeSpan? RetryAfter { get; init; }

    public static ConfirmResult SafeToSend(string reason) => new(Confirmation.SafeToSend, reason);

    public static ConfirmResult Found(string? remoteId, string? remoteUrl) => new(Confirmation.Posted, "found on the network after an unanswered attempt", remoteId, remoteUrl);

    public static ConfirmResult CannotTell(string reason) => new(Confirmation.CannotTell, reason);

    public static ConfirmResult LookUpFailed(string reason, TimeSpan? retryAfter = null) => new(Confirmation.NotNow, reason) { RetryAfter = retryAfter };
}

/// <summary>What may follow a create whose outcome is unknown (no answer, a 5xx).</summary>
internal enum AfterUnknown
{
    /// <summary>Nothing: repeating it could post twice, so the job is marked unconfirmed for an editor to check.</summary>
    Unconfirmed,

    /// <summary>A resend at once: the network refuses a second record with the same key, or the adapter looks the post up first.</summary>
    ResendAtOnce,

    /// <summary>
    /// A resend once the first request has surely ended there (<c>Resilience:SettleAfterUnknown</c>): the network
    /// dedupes by a key it records only after making the post.
    /// </summary>
    ResendOnceSettled,
}

/// <summary>One social network: composes a post within its rules and calls its real HTTP API once.</summary>
internal interface IShareAdapter
{
    string Network { get; }

    /// <summary>Whether repeating a create whose outcome is unknown could post twice, and when it cannot.</summary>
    AfterUnknown AfterUnknown { get; }

    /// <summary>The exact text this network would get for the request, counted its way, with what would make it fail.</summary>
    Task<ComposedPost> ComposeAsync(ShareRequest request, CancellationToken cancellationToken);

    Task<PostOutcome> PostAsync(ShareRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// Asked before sending again when an earlier attempt, started at <paramref name="since"/>, may have posted
    /// (its node died, or no answer came). Networks that cannot look a post up cannot tell.
    /// </summary>
    Task<ConfirmResult> ConfirmAsync(ShareRequest request, DateTimeOffset since, CancellationToken cancellationToken) =>
        Task.FromResult(ConfirmResult.CannotTell($"{Network} offers no way to look the post up"));
}
