namespace LiveNews.Server.Social;

/// <summary>The networks LiveNews posts to: their names, the settings each needs, and their default API hosts.</summary>
internal static class Networks
{
    public const string Mastodon = "mastodon";
    public const string Bluesky = "bluesky";
    public const string X = "x";
    public const string Facebook = "facebook";
    public const string LinkedIn = "linkedin";
    public const string Threads = "threads";
    public const string Webhook = "webhook";

    public static IReadOnlySet<string> All { get; } = new HashSet<string>(StringComparer.Ordinal) { Mastodon, Bluesky, X, Facebook, LinkedIn, Threads, Webhook };

    public static IEnumerable<string> RequiredSettings(SocialAccountOptions account)
    {
        switch (account.Network)
        {
            case Mastodon when account.BaseUrl is null:
                yield return "BaseUrl";
                break;
            case Bluesky:
                if (string.IsNullOrEmpty(account.Identifier)) yield return "Identifier";
                if (string.IsNullOrEmpty(account.AppPassword)) yield return "AppPassword";
                break;
            case Facebook or Threads or LinkedIn when string.IsNullOrEmpty(account.AccountId):
                yield return "AccountId";
                break;
            case X when !string.IsNullOrEmpty(account.RefreshToken) && string.IsNullOrEmpty(account.ClientId):
                yield return "ClientId (with RefreshToken)";
                break;
            case Webhook:
                if (account.BaseUrl is null) yield return "BaseUrl";
                if (account.WebhookKind is not ("slack" or "discord" or "generic")) yield return "WebhookKind (slack, discord or generic)";
                break;
        }

        if (account.Network is Mastodon or Facebook or LinkedIn or Threads && string.IsNullOrEmpty(account.AccessToken))
        {
            yield return "AccessToken";
        }

        if (account.Network is X && string.IsNullOrEmpty(account.AccessToken) && string.IsNullOrEmpty(account.RefreshToken))
        {
            yield return "RefreshToken (with ClientId and ClientSecret) or AccessToken";
        }
    }

    public static string DefaultBaseUrl(string network) => network switch
    {
        Bluesky => "https://bsky.social",
        X => "https://api.x.com",
        Facebook => "https://graph.facebook.com",
        LinkedIn => "https://api.linkedin.com",
        Threads => "https://graph.threads.net",
        _ => throw new InvalidOperationException($"{network} has no default base URL."),
    };
}
