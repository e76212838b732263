using System.Buffers.Text;
using Microsoft.Extensions.Options;

namespace LiveNews.Server.Push;

/// <summary>Web Push (breaking alerts to readers whose tab is closed). Bound from the <c>Push</c> section; off without keys.</summary>
public sealed class PushOptions
{
    public const string SectionName = "Push";

    /// <summary>Who push services can contact about this sender (RFC 8292 <c>sub</c>): <c>mailto:</c> or <c>https:</c>.</summary>
    public string Subject { get; set; } = "";

    /// <summary>The VAPID public key: an uncompressed P-256 point, base64url (65 bytes). <c>vapid-keys</c> makes a pair.</summary>
    public string PublicKey { get; set; } = "";

    /// <summary>The VAPID private key: the P-256 scalar, base64url (32 bytes). Keep it in secrets.</summary>
    public string PrivateKey { get; set; } = "";

    /// <summary>How long a push service keeps an alert for a device that is offline (the <c>TTL</c> header).</summary>
    public TimeSpan MessageTimeToLive { get; set; } = TimeSpan.FromHours(6);

    /// <summary>A stored subscription is forgotten this long after the browser last sent it.</summary>
    public TimeSpan SubscriptionTimeToLive { get; set; } = TimeSpan.FromDays(60);

    /// <summary>Subscriptions one topic may hold; beyond it a new one is refused.</summary>
    public int MaxSubscriptionsPerTopic { get; set; } = 1_000_000;

    /// <summary>Pushes one node sends at once.</summary>
    public int Concurrency { get; set; } = 32;

    /// <summary>How often a node looks for alerts waiting to be pushed.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Retries of one push after 429 (honouring <c>Retry-After</c>), 5xx or a network failure.</summary>
    public int MaxRetries { get; set; } = 3;

    /// <summary>The longest <c>Retry-After</c> a push waits for in process; a longer one gives that push up.</summary>
    public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>True when both keys are set: push is on.</summary>
    public bool Enabled => PublicKey.Length > 0 || PrivateKey.Length > 0;

    internal static bool IsKey(string value, int bytes) =>
        Base64Url.IsValid(value, out var length) && length == bytes;
}

internal sealed class PushOptionsValidator : IValidateOptions<PushOptions>
{
    public ValidateOptionsResult Validate(string? name, PushOptions options)
    {
        var failures = new List<string>();
        if (options.Enabled)
        {
            if (!PushOptions.IsKey(options.PublicKey, 65) || options.PublicKey.AsSpan().ContainsAny('=', '+', '/'))
            {
                failures.Add("Push:PublicKey must be an uncompressed P-256 public key in base64url (65 bytes); run `vapid-keys` for a pair.");
            }

            if (!PushOptions.IsKey(options.PrivateKey, 32) || options.PrivateKey.AsSpan().ContainsAny('=', '+', '/'))
            {
                failures.Add("Push:PrivateKey must be a P-256 private key in base64url (32 bytes); run `vapid-keys` for a pair.");
            }

            if (!(options.Subject.StartsWith("mailto:", StringComparison.Ordinal) && options.Subject.Length > 7)
                && !(Uri.TryCreate(options.Subject, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttps))
            {
                failures.Add("Push:Subject must be a mailto: or https: URL where push services can reach the sender.");
            }
        }

        if (options.MessageTimeToLive < TimeSpan.Zero || options.MessageTimeToLive > TimeSpan.FromDays(28))
        {
            failures.Add("Push:MessageTimeToLive must be between 00:00:00 and 28.00:00:00.");
        }

        if (options.SubscriptionTimeToLive < TimeSpan.FromHours(1) || options.SubscriptionTimeToLive > TimeSpan.FromDays(400))
        {
            failures.Add("Push:SubscriptionTimeToLive must be between 01:00:00 and 400.00:00:00.");
        }

        if (options.MaxSubscriptionsPerTopic is < 1 or > 100_000_000)
        {
            failures.Add("Push:MaxSubscriptionsPerTopic must be between 1 and 100000000.");
        }

        if (options.Concurrency is < 1 or > 1024)
        {
            failures.Add("Push:Concurrency must be between 1 and 1024.");
        }

        if (options.PollInterval < TimeSpan.FromMilliseconds(10) || options.PollInterval > TimeSpan.FromMinutes(1))
        {
            failures.Add("Push:PollInterval must be between 00:00:00.01 and 00:01:00.");
        }

        if (options.MaxRetries is < 0 or > 10)
        {
            failures.Add("Push:MaxRetries must be between 0 and 10.");
        }

        if (options.AttemptTimeout < TimeSpan.FromMilliseconds(100) || options.AttemptTimeout > TimeSpan.FromMinutes(1))
        {
            failures.Add("Push:AttemptTimeout must be between 00:00:00.1 and 00:01:00.");
        }

        if (options.MaxRetryAfter < TimeSpan.Zero || options.MaxRetryAfter > TimeSpan.FromMinutes(10))
        {
            failures.Add("Push:MaxRetryAfter must be between 00:00:00 and 00:10:00.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
