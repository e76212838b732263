using LiveNews.Server.Newsroom;

namespace LiveNews.Server.Social.Adapters;

/// <summary>What an adapter gets to post: the job, the article, the account and the link to share.</summary>
internal sealed record ShareRequest(ShareJob Job, Article Article, SocialAccountOptions Account, string Link)
{
    /// <summary>The editor's text for this account, else the headline.</summary>
    public string Text => string.IsNullOrWhiteSpace(Job.Text) ? Article.Headline : Job.Text;

    public Uri Endpoint(string network, string path)
    {
        var baseUrl = (Account.BaseUrl ?? Networks.DefaultBaseUrl(network)).TrimEnd('/');
        return new Uri(baseUrl + path);
    }
}

/// <summary>One social network: composes a post within its rules and calls its real HTTP API once.</summary>
internal interface IShareAdapter
{
    string Network { get; }

    /// <summary>
    /// True when repeating a create whose outcome is unknown cannot post twice (the network dedupes by a key
    /// this adapter sends). False: such a job is marked unconfirmed for an editor to check.
    /// </summary>
    bool RetryAfterUnknownIsSafe { get; }

    Task<PostOutcome> PostAsync(ShareRequest request, CancellationToken cancellationToken);
}
