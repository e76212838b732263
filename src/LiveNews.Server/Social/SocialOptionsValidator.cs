using System.Threading.RateLimiting;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Polly;

namespace LiveNews.Server.Social;

/// <summary>
/// A bad account setting stops the process at start-up, naming the setting (never its secret value). Each
/// account's Polly pipeline is built here once, so a value Polly refuses fails now, not at the first share.
/// </summary>
internal sealed partial class SocialOptionsValidator : IValidateOptions<SocialOptions>
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

            foreach (var (url, label) in new[] { (account.BaseUrl, "BaseUrl"), (account.TokenUrl, "TokenUrl") })
            {
                if (url is not null && (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
                {
                    failures.Add($"{setting}:{label} must be an absolute http or https URL.");
                }
            }

            foreach (var required in Networks.RequiredSettings(account))
            {
                failures.Add($"{setting}:{required} is required for {account.Network}.");
            }

            if (account.ApiVersion is { } version && account.Network == Networks.LinkedIn && !LinkedInVersion().IsMatch(version))
            {
                failures.Add($"{setting}:ApiVersion must be a LinkedIn version YYYYMM (such as {Adapters.LinkedInAdapter.DefaultVersion}).");
            }
            else if (account.ApiVersion is { } graph && account.Network == Networks.Facebook && !GraphVersion().IsMatch(graph))
            {
                failures.Add($"{setting}:ApiVersion must be a Graph API version such as {Adapters.FacebookAdapter.DefaultVersion}.");
            }

            failures.AddRange(Resilience(account.Resilience, $"{setting}:Resilience"));
        }

        if (options.MaxAttempts is < 1 or > 100)
        {
            failures.Add("Social:MaxAttempts must be between 1 and 100.");
        }

        if (options.TokenRefreshTimeout < TimeSpan.FromSeconds(3) || options.TokenRefreshTimeout > TimeSpan.FromMinutes(5))
        {
            failures.Add("Social:TokenRefreshTimeout must be between 3 seconds and 5 minutes.");
        }
        else if (options.TokenRefreshTimeout * 2 / 3 >= options.LeaseDuration + TimeSpan.FromSeconds(30))
        {
            // The social HTTP client gives up after LeaseDuration + 30 s: a token request must end by its own budget first.
            failures.Add("Social:TokenRefreshTimeout must be less than 1.5 times (Social:LeaseDuration + 30 s): its token request gets two thirds of it.");
        }

        if (options.LeaseDuration < TimeSpan.FromSeconds(1))
        {
            failures.Add("Social:LeaseDuration must be at least 1 second.");
        }

        if (options.PollInterval <= TimeSpan.Zero)
        {
            failures.Add("Social:PollInterval must be positive.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>Each out-of-range value by name, then whatever Polly itself refuses when the pipeline is built.</summary>
    private static IEnumerable<string> Resilience(ShareResilienceOptions r, string setting)
    {
        var oneDay = TimeSpan.FromDays(1);
        var failures = new List<string>();
        void Check(bool ok, string field, string range)
        {
            if (!ok)
            {
                failures.Add($"{setting}:{field} must be {range}.");
            }
        }

        Check(r.AttemptTimeout >= TimeSpan.FromMilliseconds(10) && r.AttemptTimeout <= oneDay, "AttemptTimeout", "between 00:00:00.010 and 1.00:00:00");
        Check(r.MaxRetries is >= 0 and <= 10, "MaxRetries", "between 0 and 10");
        Check(r.BaseDelay >= TimeSpan.Zero && r.BaseDelay <= oneDay, "BaseDelay", "between 0 and 1.00:00:00");
        Check(r.MaxInProcessWait >= TimeSpan.Zero && r.MaxInProcessWait <= oneDay, "MaxInProcessWait", "between 0 and 1.00:00:00");
        // Past Mastodon's hour of holding the key a resend could post twice.
        Check(r.SettleAfterUnknown >= TimeSpan.Zero && r.SettleAfterUnknown <= TimeSpan.FromMinutes(30), "SettleAfterUnknown", "between 0 and 00:30:00");
        Check(r.BreakerFailureRatio is > 0 and <= 1, "BreakerFailureRatio", "above 0 and at most 1");
        Check(r.BreakerMinimumThroughput >= 2, "BreakerMinimumThroughput", "at least 2");
        Check(r.BreakerSamplingDuration >= TimeSpan.FromMilliseconds(500) && r.BreakerSamplingDuration <= oneDay, "BreakerSamplingDuration", "between 00:00:00.500 and 1.00:00:00");
        Check(r.BreakerBreakDuration >= TimeSpan.FromMilliseconds(500) && r.BreakerBreakDuration <= oneDay, "BreakerBreakDuration", "between 00:00:00.500 and 1.00:00:00");
        Check(r.PostsPerMinute >= 1, "PostsPerMinute", "at least 1");
        if (failures.Count > 0)
        {
            return failures;
        }

        try
        {
            using var limiter = new SlidingWindowRateLimiter(new SlidingWindowRateLimiterOptions { PermitLimit = r.PostsPerMinute, Window = TimeSpan.FromMinutes(1), SegmentsPerWindow = 6 });
            var builder = new ResiliencePipelineBuilder<PostOutcome>();
            SharePipelines.Configure(builder, r, safeAfterUnknown: false, limiter, TimeProvider.System);
            builder.Build();
        }
        catch (System.ComponentModel.DataAnnotations.ValidationException ex)
        {
            failures.Add($"{setting}: {ex.Message.ReplaceLineEndings(" ")}");
        }

        return failures;
    }

    [GeneratedRegex(@"^\d{6}(\.\d{2})?$")]
    private static partial Regex LinkedInVersion();

    [GeneratedRegex(@"^v\d+\.\d+$")]
    private static partial Regex GraphVersion();
}
