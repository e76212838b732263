using Microsoft.Extensions.Options;

namespace LiveNews.Server.Social;

/// <summary>A bad account setting stops the process at start-up, naming the setting (never its secret value).</summary>
internal sealed class SocialOptionsValidator : IValidateOptions<SocialOptions>
{
    public ValidateOptionsResult Validate(string? name, SocialOptions options)
    {
        var failures = new List<string>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < options.Accounts.Count; i++)
        {
            var account = options.Accounts[i];
            var setting = $"Social:Accounts:{i}";
            if (!Bus.Topic.IsValidArticleId(account.Name))
            {
                failures.Add($"{setting}:Name must be 1-128 lowercase letters, digits or dashes.");
            }
            else if (!names.Add(account.Name))
            {
                failures.Add($"{setting}:Name '{account.Name}' is used twice.");
            }

            if (!Networks.All.Contains(account.Network))
            {
                failures.Add($"{setting}:Network must be one of {string.Join(", ", Networks.All)}.");
                continue;
            }

            if (account.BaseUrl is not null && (!Uri.TryCreate(account.BaseUrl, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
            {
                failures.Add($"{setting}:BaseUrl must be an absolute http or https URL.");
            }

            foreach (var required in Networks.RequiredSettings(account))
            {
                failures.Add($"{setting}:{required} is required for {account.Network}.");
            }

            var r = account.Resilience;
            if (r.AttemptTimeout <= TimeSpan.Zero || r.MaxRetries is < 0 or > 10 || r.BaseDelay < TimeSpan.Zero
                || r.BreakerFailureRatio is <= 0 or > 1 || r.BreakerMinimumThroughput < 2 || r.BreakerBreakDuration < TimeSpan.FromMilliseconds(500)
                || r.PostsPerMinute < 1)
            {
                failures.Add($"{setting}:Resilience has an out-of-range value (timeouts > 0, MaxRetries 0-10, BreakerFailureRatio in (0,1], BreakerMinimumThroughput >= 2, BreakerBreakDuration >= 0.5s, PostsPerMinute >= 1).");
            }
        }

        if (options.MaxAttempts is < 1 or > 100)
        {
            failures.Add("Social:MaxAttempts must be between 1 and 100.");
        }

        if (options.LeaseDuration < TimeSpan.FromSeconds(1) || options.PollInterval <= TimeSpan.Zero)
        {
            failures.Add("Social:LeaseDuration must be at least 1 second and Social:PollInterval positive.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

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
            case Webhook:
                if (account.BaseUrl is null) yield return "BaseUrl";
                if (account.WebhookKind is not ("slack" or "discord" or "generic")) yield return "WebhookKind (slack, discord or generic)";
                break;
        }

        if (account.Network is Mastodon or X or Facebook or LinkedIn or Threads && string.IsNullOrEmpty(account.AccessToken))
        {
            yield return "AccessToken";
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
