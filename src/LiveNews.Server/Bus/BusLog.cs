namespace LiveNews.Server.Bus;

internal static partial class BusLog
{
    [LoggerMessage(EventId = 200, Level = LogLevel.Information, Message = "Relaying events from channel pattern {Pattern}")]
    public static partial void Subscribed(ILogger logger, string pattern);

    [LoggerMessage(EventId = 201, Level = LogLevel.Warning, Message = "Ignoring a message that is not an envelope on {Channel}")]
    public static partial void NotAnEnvelope(ILogger logger, string channel);

    [LoggerMessage(EventId = 202, Level = LogLevel.Information, Message = "Filled a gap on {Topic}: {Count} events after seq {AfterSeq} from history")]
    public static partial void GapFilled(ILogger logger, string topic, int count, long afterSeq);

    [LoggerMessage(EventId = 203, Level = LogLevel.Warning, Message = "Gap on {Topic} after seq {AfterSeq} is beyond history (head {HeadSeq}); clients start over from the snapshot")]
    public static partial void GapBeyondHistory(ILogger logger, string topic, long afterSeq, long headSeq);

    [LoggerMessage(EventId = 204, Level = LogLevel.Warning, Message = "Topic {Topic} changed epoch from {OldEpoch} to {NewEpoch}: its history was lost or replaced")]
    public static partial void EpochChanged(ILogger logger, string topic, string oldEpoch, string newEpoch);

    [LoggerMessage(EventId = 205, Level = LogLevel.Error, Message = "Relaying {Topic} failed; it is retried on the next event or reconnect")]
    public static partial void RelayFailed(ILogger logger, string topic, Exception exception);

    [LoggerMessage(EventId = 206, Level = LogLevel.Information, Message = "Catching up {Count} served topics after the Redis subscription came back")]
    public static partial void CatchingUp(ILogger logger, int count);

    [LoggerMessage(EventId = 207, Level = LogLevel.Error, Message = "Delivering an event of {Topic} to local clients failed")]
    public static partial void DeliveryFailed(ILogger logger, string topic, Exception exception);

    [LoggerMessage(EventId = 208, Level = LogLevel.Warning, Message = "Subscribing to events failed; retrying in {Backoff}")]
    public static partial void SubscribeFailed(ILogger logger, TimeSpan backoff, Exception exception);

    [LoggerMessage(EventId = 209, Level = LogLevel.Warning, Message = "Redis lost events of {Topic} this node relayed (epoch {Epoch}, up to seq {RelayedSeq}) and hands out their seqs again (found at seq {FoundSeq}): the topic moves to a new epoch")]
    public static partial void RedisWentBack(ILogger logger, string topic, string epoch, long relayedSeq, long foundSeq);
}
