namespace LiveNews.Server.Newsroom;

internal static partial class NewsroomLog
{
    [LoggerMessage(EventId = 400, Level = LogLevel.Information, Message = "Breaking alert {AlertId} expired and was removed")]
    public static partial void AlertExpired(ILogger logger, string alertId);

    [LoggerMessage(EventId = 401, Level = LogLevel.Warning, Message = "Sweeping expired breaking alerts failed; retrying on the next sweep")]
    public static partial void ExpirySweepFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 402, Level = LogLevel.Warning, Message = "Article {ArticleId} kept changing while it was mirrored into latest ({Rounds} rounds): left to the request that changed it last")]
    public static partial void LatestStillMoving(ILogger logger, string articleId, int rounds);
}
