namespace LiveNews.Server.Social;

internal static class ShareStates
{
    public const string Scheduled = "scheduled";
    public const string Queued = "queued";
    public const string Posting = "posting";
    public const string Posted = "posted";
    public const string Failed = "failed";
    public const string Unconfirmed = "unconfirmed";
    public const string Dead = "dead";

    /// <summary>States an editor may retry from (<see cref="Unconfirmed"/> only with <c>confirmNotPosted</c>).</summary>
    public static bool IsRetryable(string state) => state is Failed or Dead or Unconfirmed;

    /// <summary>States the worker takes up: waiting to be posted, or found mid-post after its node died.</summary>
    public static bool IsWorkable(string state) => state is Scheduled or Queued or Failed or Posting;

    /// <summary>Waiting jobs: a new share request to the same account gets the job back instead of a second one.</summary>
    public static bool IsWaiting(string state) => state is Scheduled or Queued or Failed;

    /// <summary>The article is (or may be) on the account already: sharing it there again needs <c>force</c>.</summary>
    public static bool MayBePosted(string state) => state is Posted or Posting or Unconfirmed;
}

/// <summary>
/// One article shared to one account: durable in Redis, worked by one node at a time. Holds everything a
/// retry needs to be safe: the idempotency key, for Bluesky the record key chosen once, for Threads the
/// container id, and since when an attempt may have posted without an answer.
/// </summary>
internal sealed record ShareJob
{
    public required string Id { get; init; }

    public required string ArticleId { get; init; }

    public required string Account { get; init; }

    public required string Network { get; init; }

    public required string State { get; init; }

    /// <summary>The editor's text for this account; the headline when absent.</summary>
    public string? Text { get; init; }

    public int Attempts { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public required DateTimeOffset UpdatedAt { get; init; }

    /// <summary>When a scheduled share is due (the request's <c>at</c>).</summary>
    public DateTimeOffset? ScheduledAt { get; init; }

    public DateTimeOffset? NextAttemptAt { get; init; }

    public string? Reason { get; init; }

    public string? RemoteId { get; init; }

    public string? RemoteUrl { get; init; }

    /// <summary>Sent as the network's idempotency key (Mastodon) or used as the record key (Bluesky).</summary>
    public required string IdempotencyKey { get; init; }

    /// <summary>A step already done on a two-step network (the Threads container id), saved before the next step.</summary>
    public string? Checkpoint { get; init; }

    /// <summary>
    /// The first time an attempt may have posted without an answer. While set, the job is confirmed with the
    /// network before anything is sent again (and Mastodon's idempotency key is trusted only for its hour).
    /// </summary>
    public DateTimeOffset? InDoubtSince { get; init; }
}
