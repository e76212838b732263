namespace LiveNews.Server.Social;

/// <summary>Social sharing's logs (event ids 500-519). Never a token, a password or a webhook URL.</summary>
internal static partial class SocialLog
{
    [LoggerMessage(EventId = 500, Level = LogLevel.Information, Message = "Share {JobId} of {ArticleId} to {Account} ({Network}): {State} after {Attempts} attempts; {Reason}")]
    public static partial void JobChanged(ILogger logger, string jobId, string articleId, string account, string network, string state, int attempts, string? reason);

    [LoggerMessage(EventId = 501, Level = LogLevel.Warning, Message = "Share {JobId} was taken over by another node before it finished here")]
    public static partial void LeaseLost(ILogger logger, string jobId);

    [LoggerMessage(EventId = 502, Level = LogLevel.Error, Message = "Working share jobs failed; retrying on the next poll")]
    public static partial void WorkerFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 503, Level = LogLevel.Information, Message = "Social accounts configured: {Accounts}")]
    public static partial void AccountsConfigured(ILogger logger, string accounts);

    [LoggerMessage(EventId = 504, Level = LogLevel.Information, Message = "Access token of {Account} refreshed; it expires at {ExpiresAt}")]
    public static partial void TokenRefreshed(ILogger logger, string account, DateTimeOffset? expiresAt);

    [LoggerMessage(EventId = 505, Level = LogLevel.Warning, Message = "Refreshing the access token of {Account} failed; the current one is used until it expires: {Reason}")]
    public static partial void TokenRefreshFailed(ILogger logger, string account, string? reason);

    [LoggerMessage(EventId = 506, Level = LogLevel.Warning, Message = "The stored token of {Account} cannot be decrypted (Data Protection keys lost); starting again from the configured credential")]
    public static partial void TokenUnreadable(ILogger logger, string account);

    [LoggerMessage(EventId = 507, Level = LogLevel.Warning, Message = "Data Protection keys are kept in memory (Store:DataPath is empty): refreshed OAuth tokens stored encrypted cannot be read after a restart")]
    public static partial void KeysInMemory(ILogger logger);

    [LoggerMessage(EventId = 508, Level = LogLevel.Information, Message = "Data Protection keys are kept in {Path}")]
    public static partial void KeysOnDisk(ILogger logger, string path);

    [LoggerMessage(EventId = 509, Level = LogLevel.Warning, Message = "Share {JobId} was cancelled but its newsroom snapshot entry was not removed: {Status}")]
    public static partial void CancelNotPublished(ILogger logger, string jobId, string status);

    [LoggerMessage(EventId = 510, Level = LogLevel.Information, Message = "A post to {Account} is tried again in {DelayMs} ms, within the same run: {Reason}")]
    public static partial void TryingAgain(ILogger logger, string account, long delayMs, string reason);
}
