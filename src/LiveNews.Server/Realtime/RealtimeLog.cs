namespace LiveNews.Server.Realtime;

internal static partial class RealtimeLog
{
    [LoggerMessage(EventId = 300, Level = LogLevel.Debug, Message = "Connection {ConnectionId} subscribed to {Topic} (recovered: {Recovered})")]
    public static partial void Subscribed(ILogger logger, string connectionId, string topic, bool recovered);

    [LoggerMessage(EventId = 301, Level = LogLevel.Information, Message = "Connection {ConnectionId} refused: {Reason}")]
    public static partial void Refused(ILogger logger, string connectionId, string reason);

    [LoggerMessage(EventId = 302, Level = LogLevel.Error, Message = "Subscribing connection {ConnectionId} to {Topic} failed")]
    public static partial void SubscribeFailed(ILogger logger, string connectionId, string topic, Exception exception);
}
