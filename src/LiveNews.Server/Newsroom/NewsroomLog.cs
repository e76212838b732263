namespace LiveNews.Server.Newsroom;

internal static partial class NewsroomLog
{
    [LoggerMessage(EventId = 400, Level = LogLevel.Information, Message = "Breaking alert {AlertId} expired and was removed")]
    public static partial void AlertExpired(ILogger logger, string alertId);

    [LoggerMessage(EventId = 401, Level = LogLevel.Warning, Message = "Sweeping expired breaking alerts failed; retrying on the next sweep")]
    public static partial void ExpirySweepFailed(ILogger logger, Exception exception);
}
