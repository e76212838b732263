using LiveNews.Server.Editors;
namespace LiveNews.Server.Social;

internal static class ShareStates
{
    public const string Queued = "queued";
    public const string Posting = "posting";
    public const string Posted = "posted";
    public const string Failed = "failed";
    public const string Unconfirmed = "unconfirmed";
    public const string Dead = "dead";

    /// <summary>States an editor may retry from.</summary>
    public static bool IsRetryable(string state) => state is Failed or Dead or Unconfirmed;

    /// <summary>States that mean "this article is (being) shared there": a new share request reuses the job.</summary>
    public static bool IsActive(string state) => state is Queued or Posting or Posted or Failed;
}

/// <summary>
/// One article shared to one account: durable in Redis, worked by one node at a time. Holds everything a
/// retry needs to be safe: the idempotency key and, for Bluesky, the record key chosen once.
/// </summary>
public sealed record ShareJob
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

    public DateTimeOffset? NextAttemptAt { get; init; }

    public string? Reason { get; init; }

    public string? RemoteId { get; init; }

    public string? RemoteUrl { get; init; }

    /// <summary>Sent as the network's idempotency key (Mastodon) or used as the record key (Bluesky).</summary>
    public required string IdempotencyKey { get; init; }

    /// <summary>A step already done on a two-step network (the Threads container id).</summary>
    public string? Checkpoint { get; init; }
}
