namespace LiveNews.Server.Social;

/// <summary>The newsroom's social accounts and how hard to try each. Bound from the <c>Social</c> section.</summary>
public sealed class SocialOptions
{
    public const string SectionName = "Social";

    public List<SocialAccountOptions> Accounts { get; set; } = [];

    /// <summary>How often each node looks for due share jobs.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a node owns a job it took; a job whose node died is taken again after this.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Durable attempts (each with its in-process retries) before a job is dead. Each waits twice as long as the
    /// one before, from the account's <c>BaseDelay</c> up to an hour: 12 at a 1 s delay ride out about an hour of
    /// a network's outage. A run refused before sending (this service's own rate limit, an open breaker) is not one.
    /// </summary>
    public int MaxAttempts { get; set; } = 12;

    /// <summary>
    /// How long getting an access token may take (X, Threads): waiting while another node refreshes it, then the
    /// token request, which gets two thirds of this of its own once this node holds the refresh lock (which lives
    /// this long), so a long wait never cuts a request X has already answered by rotating the refresh token.
    /// </summary>
    public TimeSpan TokenRefreshTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>UTM parameters added to links (shares and reader share links), e.g. utm_source=social.</summary>
    public Dictionary<string, string> UtmParameters { get; set; } = [];
}

/// <summary>One account on one network. Credentials come from configuration or secrets, never from requests.</summary>
public sealed class SocialAccountOptions
{
    public string Name { get; set; } = "";

    /// <summary><c>mastodon</c>, <c>bluesky</c>, <c>x</c>, <c>facebook</c>, <c>linkedin</c>, <c>threads</c>, <c>webhook</c>.</summary>
    public string Network { get; set; } = "";

    /// <summary>The API's base URL; defaults per network, overridable for staging and tests.</summary>
    public string? BaseUrl { get; set; }

    /// <summary>
    /// Bearer/access token (Mastodon, Facebook page token, LinkedIn, Threads long-lived token, refreshed here);
    /// for X only without <see cref="RefreshToken"/>, as a user token that is never refreshed.
    /// </summary>
    public string? AccessToken { get; set; }

    /// <summary>Bluesky handle or DID.</summary>
    public string? Identifier { get; set; }

    /// <summary>Bluesky app password.</summary>
    public string? AppPassword { get; set; }

    /// <summary>Facebook page id, Threads user id, LinkedIn author URN (<c>urn:li:organization:123</c>).</summary>
    public string? AccountId { get; set; }

    /// <summary>Facebook Graph API version (<c>v26.0</c>) or LinkedIn-Version (<c>202606</c>); defaults to a current one.</summary>
    public string? ApiVersion { get; set; }

    /// <summary>X OAuth 2.0: the app's client id (Keys and tokens page).</summary>
    public string? ClientId { get; set; }

    /// <summary>X OAuth 2.0: the confidential client's secret (sent with HTTP Basic to the token endpoint); empty for a public client.</summary>
    public string? ClientSecret { get; set; }

    /// <summary>X OAuth 2.0: the refresh token from the authorisation (scope <c>offline.access</c>); it rotates, the newest is kept encrypted in the store.</summary>
    public string? RefreshToken { get; set; }

    /// <summary>The token endpoint (X <c>https://api.x.com/2/oauth2/token</c>, Threads <c>https://graph.threads.net/refresh_access_token</c>); overridable for tests.</summary>
    public string? TokenUrl { get; set; }

    /// <summary>For webhooks: <c>slack</c>, <c>discord</c> or <c>generic</c>; the webhook URL is <see cref="BaseUrl"/>.</summary>
    public string? WebhookKind { get; set; }

    public ShareResilienceOptions Resilience { get; set; } = new();
}

/// <summary>The Polly pipeline of one account.</summary>
public sealed class ShareResilienceOptions
{
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    public int MaxRetries { get; set; } = 3;

    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A wait longer than this (Retry-After, rate-limit reset) goes back to the durable queue instead.</summary>
    public TimeSpan MaxInProcessWait { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Mastodon: how long after an unanswered post (timeout, 5xx) the same Idempotency-Key is sent again, so the
    /// first request has surely ended on the instance (which records the key only once the status is made).
    /// </summary>
    public TimeSpan SettleAfterUnknown { get; set; } = TimeSpan.FromMinutes(3);

    public double BreakerFailureRatio { get; set; } = 0.5;

    public int BreakerMinimumThroughput { get; set; } = 4;

    public TimeSpan BreakerSamplingDuration { get; set; } = TimeSpan.FromSeconds(60);

    public TimeSpan BreakerBreakDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Posts per minute this service allows itself on the account, below the network's quota.</summary>
    public int PostsPerMinute { get; set; } = 30;
}
