namespace LiveNews.Server.Social;

internal enum OutcomeKind
{
    Posted,

    /// <summary>The network says this post exists already (a retry of one that went through).</summary>
    AlreadyPosted,

    /// <summary>5xx, connection refused, a timeout before sending: safe to try again.</summary>
    Transient,

    /// <summary>429 or a throttling code: try again after <see cref="PostOutcome.RetryAfter"/>.</summary>
    RateLimited,

    /// <summary>Bad or expired credentials, missing permission: stop, an operator must act.</summary>
    Auth,

    /// <summary>The network refused the content: stop.</summary>
    Rejected,

    /// <summary>The request may have been accepted but no answer came: repeating it could post twice.</summary>
    Unknown,
}

/// <summary>What one call to a network came to. Never carries a credential.</summary>
internal sealed record PostOutcome(OutcomeKind Kind, string? Reason = null, string? RemoteId = null, string? RemoteUrl = null, TimeSpan? RetryAfter = null, string? Checkpoint = null)
{
    public bool ShouldRetry => Kind is OutcomeKind.Transient or OutcomeKind.RateLimited;

    public static PostOutcome Posted(string remoteId, string? remoteUrl) => new(OutcomeKind.Posted, RemoteId: remoteId, RemoteUrl: remoteUrl);

    public static PostOutcome Transient(string reason, TimeSpan? retryAfter = null) => new(OutcomeKind.Transient, reason, RetryAfter: retryAfter);

    public static PostOutcome RateLimited(string reason, TimeSpan? retryAfter) => new(OutcomeKind.RateLimited, reason, RetryAfter: retryAfter);

    public static PostOutcome Auth(string reason) => new(OutcomeKind.Auth, reason);

    public static PostOutcome Rejected(string reason) => new(OutcomeKind.Rejected, reason);

    public static PostOutcome Unknown(string reason) => new(OutcomeKind.Unknown, reason);
}
