namespace LiveNews.Server.Deploy;

internal static partial class DeployLog
{
    [LoggerMessage(EventId = 800, Level = LogLevel.Information, Message = "Draining: readiness answers 503, new connections and editor writes are refused; waiting up to {Timeout} for {InFlight} writes and share posts in flight")]
    public static partial void DrainStarted(ILogger logger, TimeSpan timeout, int inFlight);

    [LoggerMessage(EventId = 801, Level = LogLevel.Warning, Message = "Drain timed out after {Timeout} (Realtime:DrainTimeout) with {InFlight} writes or share posts still in flight; stopping anyway")]
    public static partial void DrainTimedOut(ILogger logger, TimeSpan timeout, int inFlight);

    [LoggerMessage(EventId = 802, Level = LogLevel.Information, Message = "Drained in {ElapsedMs} ms: closed {Connections} hub connections, telling their clients to reconnect")]
    public static partial void Drained(ILogger logger, long elapsedMs, int connections);
}
