namespace LiveNews.Server.Push;

internal static partial class PushLog
{
    [LoggerMessage(EventId = 1300, Level = LogLevel.Information, Message = "Web Push is off: set Push:PublicKey, Push:PrivateKey and Push:Subject to send breaking alerts (`vapid-keys` prints a key pair)")]
    public static partial void Off(ILogger logger);

    [LoggerMessage(EventId = 1301, Level = LogLevel.Information, Message = "Web Push is on for breaking alerts")]
    public static partial void On(ILogger logger);

    [LoggerMessage(EventId = 1302, Level = LogLevel.Information, Message = "Alert event {EventId} ({Type}) queued for {Subscriptions} push subscriptions of {Topic}")]
    public static partial void Queued(ILogger logger, string eventId, string type, long subscriptions, string topic);

    [LoggerMessage(EventId = 1303, Level = LogLevel.Information, Message = "Push subscription {SubscriptionId} is gone at its push service ({Status}); removed")]
    public static partial void Gone(ILogger logger, string subscriptionId, int status);

    [LoggerMessage(EventId = 1304, Level = LogLevel.Warning, Message = "Push to subscription {SubscriptionId} at {Host} failed ({Status}); given up for alert event {EventId}")]
    public static partial void Failed(ILogger logger, string subscriptionId, string host, int status, string eventId);

    [LoggerMessage(EventId = 1305, Level = LogLevel.Warning, Message = "Push to subscription {SubscriptionId} at {Host} failed; given up for alert event {EventId}")]
    public static partial void FailedWithException(ILogger logger, string subscriptionId, string host, string eventId, Exception exception);

    [LoggerMessage(EventId = 1309, Level = LogLevel.Error, Message = "Alert event {EventId} was not queued for Web Push: the store did not answer for longer than a push lives ({MessageTimeToLive})")]
    public static partial void NotQueued(ILogger logger, string eventId, TimeSpan messageTimeToLive);

    [LoggerMessage(EventId = 1306, Level = LogLevel.Warning, Message = "Pushing alerts failed; retrying at the next poll")]
    public static partial void LoopFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1307, Level = LogLevel.Information, Message = "Alert {AlertId} is gone (retracted or expired): the rest of alert event {EventId}'s pushes are not sent")]
    public static partial void Withdrawn(ILogger logger, string alertId, string eventId);

    [LoggerMessage(EventId = 1308, Level = LogLevel.Warning, Message = "Push to subscription {SubscriptionId} not sent: {Reason}")]
    public static partial void NotOnTheInternet(ILogger logger, string subscriptionId, string reason);
}
