namespace LiveNews.Server.Bus;

/// <summary>
/// How big snapshots and topics may grow. The bus owns the shape; the newsroom sets the values from its own
/// settings (<c>Newsroom:SnapshotEntries</c>, <c>Newsroom:MaxEntriesPerArticle</c>).
/// </summary>
internal sealed class SnapshotOptions
{
    /// <summary>Unpinned entries in an article's snapshot (pinned ones come on top of these).</summary>
    public int ArticleEntries { get; set; } = 50;

    /// <summary>Entries one article may hold; a new entry beyond it is refused, never an old one dropped.</summary>
    public int MaxEntriesPerArticle { get; set; } = 10_000;

    /// <summary>Articles in the <c>latest</c> snapshot; every published article stays in the paged index.</summary>
    public int LatestArticles { get; set; } = 50;

    /// <summary>Active breaking alerts; one more is refused until an alert is retracted or expires.</summary>
    public int MaxActiveAlerts { get; set; } = 100;

    /// <summary>Share jobs shown on <c>newsroom</c>: a view of the jobs, so the oldest views make room.</summary>
    public int NewsroomShares { get; set; } = 200;

    /// <summary>Newest items in the topic's snapshot (0: all; pinned entries come on top).</summary>
    public int SnapshotWindow(Topic topic) => topic.Kind switch
    {
        TopicKind.Article => ArticleEntries,
        TopicKind.Latest => LatestArticles,
        _ => 0,
    };

    /// <summary>Most items the topic holds before a new one is refused (0: no ceiling).</summary>
    public int Ceiling(Topic topic) => topic.Kind switch
    {
        TopicKind.Article => MaxEntriesPerArticle,
        TopicKind.Breaking => MaxActiveAlerts,
        _ => 0,
    };

    /// <summary>Items beyond which the oldest are dropped (only views rebuilt from elsewhere).</summary>
    public int Trim(Topic topic) => topic.Kind == TopicKind.Newsroom ? NewsroomShares : 0;
}
