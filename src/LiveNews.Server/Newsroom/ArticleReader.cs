using LiveNews.Server.Bus;

namespace LiveNews.Server.Newsroom;

/// <summary>
/// Newsroom's read of its published articles for other features (social sharing), so that they need not
/// know where or how an article is stored.
/// </summary>
internal sealed class ArticleReader(EventBus bus)
{
    /// <summary>The article as published now; null when it was never published or has been unpublished.</summary>
    public async Task<Article?> GetPublishedAsync(string articleId)
    {
        if (!Topic.IsValidArticleId(articleId))
        {
            return null;
        }

        var json = await bus.GetStateAsync(Topic.Article(articleId));
        return json is null ? null : LiveNewsJson.Deserialize<Article>(json);
    }
}
