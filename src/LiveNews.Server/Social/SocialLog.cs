namespace LiveNews.Server.Social;

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
}
