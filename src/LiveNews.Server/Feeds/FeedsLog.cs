namespace LiveNews.Server.Feeds;

internal static partial class FeedsLog
{
    [LoggerMessage(EventId = 1400, Level = LogLevel.Warning, Message = "Queueing the WebSub ping of feeds of {Topic} failed; readers still see the change when they poll")]
    public static partial void QueueFailed(ILogger logger, string topic, Exception exception);

    [LoggerMessage(EventId = 1401, Level = LogLevel.Debug, Message = "Pinged the WebSub hub for {Feed}")]
    public static partial void Pinged(ILogger logger, string feed);

    [LoggerMessage(EventId = 1402, Level = LogLevel.Warning, Message = "The WebSub hub refused or missed the ping for {Feed}; trying again in {RetryAfter}")]
    public static partial void PingFailed(ILogger logger, string feed, TimeSpan retryAfter, Exception? exception);

    [LoggerMessage(EventId = 1404, Level = LogLevel.Error, Message = "The WebSub hub refused the ping for {Feed} ({Status}) and would refuse it again: dropped. Check WebSub:Hub")]
    public static partial void PingRefused(ILogger logger, string feed, int status);

    [LoggerMessage(EventId = 1403, Level = LogLevel.Warning, Message = "Taking WebSub pings from the store failed; trying again")]
    public static partial void ClaimFailed(ILogger logger, Exception exception);
}
