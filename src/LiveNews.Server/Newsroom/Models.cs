namespace LiveNews.Server.Newsroom;

// Requests, as editors and the CMS send them.

/// <summary>Go live, or update the live status.</summary>
public sealed record GoLiveRequest(string? Title, string? StreamUrl, string? PosterUrl);

/// <summary>Push or update a breaking alert. Without <c>expiresAt</c> it stays until retracted.</summary>
public sealed record BreakingRequest(string? Headline, string? Url, DateTimeOffset? ExpiresAt);

/// <summary>Publish or update an article.</summary>
public sealed record ArticleRequest(string? Headline, string? Summary, string? Url, string? ImageUrl, string? Section, DateTimeOffset? PublishedAt, LiveCoverageRequest? LiveCoverage = null);

/// <summary>The article is a live blog: covered live since <c>startedAt</c>, until <c>endedAt</c> once it ended.</summary>
public sealed record LiveCoverageRequest(DateTimeOffset? StartedAt, DateTimeOffset? EndedAt);

/// <summary>Post a live-blog entry: <c>kind</c> is entry (default), update or correction.</summary>
public sealed record EntryRequest(string? Kind, string? Text, bool? Pinned);

// What topics carry: event data and snapshot items.

public sealed record LiveStatus(string Title, string StreamUrl, string? PosterUrl, DateTimeOffset StartedAt, DateTimeOffset UpdatedAt);

public sealed record LiveEnded(DateTimeOffset StartedAt, DateTimeOffset EndedAt);

public sealed record BreakingAlert(string Id, string Headline, string? Url, DateTimeOffset PublishedAt, DateTimeOffset UpdatedAt, DateTimeOffset? ExpiresAt);

public sealed record Article(string Id, string Headline, string? Summary, string Url, string? ImageUrl, string? Section, DateTimeOffset PublishedAt, DateTimeOffset UpdatedAt, LiveCoverage? LiveCoverage = null);

public sealed record LiveCoverage(DateTimeOffset StartedAt, DateTimeOffset? EndedAt);

public sealed record Entry(string Id, string Kind, string Text, bool Pinned, DateTimeOffset PostedAt, DateTimeOffset? EditedAt);

/// <summary>Data of events that remove something: a retracted or expired alert, a deleted entry, an unpublished article.</summary>
public sealed record Removed(string Id);

/// <summary>The answer to every editor write: the events it published, <c>seq</c> included.</summary>
internal sealed record WriteResult(string? Id, IReadOnlyList<Bus.RawJson> Events);

/// <summary><c>GET /api/topics/{topic}</c>.</summary>
internal sealed record TopicState(
    string Topic,
    string Epoch,
    long Seq,
    Bus.RawJson Snapshot,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] long? Viewers = null);
