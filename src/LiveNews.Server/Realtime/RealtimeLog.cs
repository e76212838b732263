namespace LiveNews.Server.Realtime;

internal static partial class RealtimeLog
{
    [LoggerMessage(EventId = 300, Level = LogLevel.Debug, Message = "Connection {ConnectionId} subscribed to {Count} topics")]
    public static partial void Subscribed(ILogger logger, string connectionId, int count);

    // Debug: a misbehaving client must not be able to flood the logs while it stays within its rate limit.
    [LoggerMessage(EventId = 301, Level = LogLevel.Debug, Message = "Connection {ConnectionId} refused: {Reason}")]
    public static partial void Refused(ILogger logger, string connectionId, string reason);

    [LoggerMessage(EventId = 302, Level = LogLevel.Warning, Message = "Subscribing connection {ConnectionId} failed; its subscriptions are as before")]
    public static partial void SubscribeFailed(ILogger logger, string connectionId, Exception exception);

    [LoggerMessage(EventId = 303, Level = LogLevel.Warning, Message = "Connection {ConnectionId} disconnected: it stopped reading and {Bytes} bytes were waiting for it (Realtime:MaxBufferedBytesPerConnection); it resumes from its position when it reconnects")]
    public static partial void SlowReader(ILogger logger, string connectionId, long bytes);

    [LoggerMessage(EventId = 304, Level = LogLevel.Warning, Message = "Counting viewers failed; readers keep the last count until Redis answers again")]
    public static partial void ViewerCountsFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 305, Level = LogLevel.Error, Message = "Queueing a push for reader {ReaderId} failed; the other readers got it")]
    public static partial void PushFailed(ILogger logger, string readerId, Exception exception);
}
