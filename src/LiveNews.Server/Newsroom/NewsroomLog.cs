namespace LiveNews.Server.Newsroom;

internal static partial class NewsroomLog
{
    [LoggerMessage(EventId = 400, Level = LogLevel.Information, Message = "Breaking alert {AlertId} expired and was removed")]
    public static partial void AlertExpired(ILogger logger, string alertId);

    [LoggerMessage(EventId = 401, Level = LogLevel.Warning, Message = "Sweeping expired breaking alerts failed; retrying on the next sweep")]
    public static partial void ExpirySweepFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 402, Level = LogLevel.Warning, Message = "Article {ArticleId} was mirrored into latest by the sweep: the request changing it stopped between the two topics")]
    public static partial void MirrorRepaired(ILogger logger, string articleId);

    [LoggerMessage(EventId = 403, Level = LogLevel.Warning, Message = "Sweeping article requests left halfway failed; retrying on the next sweep")]
    public static partial void MirrorSweepFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 404, Level = LogLevel.Warning, Message = "Mirroring article {ArticleId} into latest for a request left halfway failed; retrying on the next sweep")]
    public static partial void MirrorRepairFailed(ILogger logger, string articleId, Exception exception);

    [LoggerMessage(EventId = 405, Level = LogLevel.Information, Message = "An article request's record could not be removed; the next sweep removes it")]
    public static partial void MirrorIntentLeft(ILogger logger, Exception exception);
}
