namespace LiveNews.Server.Store;

internal static partial class StoreLog
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Using the embedded Garnet store on {Endpoint}, kept on disk under {DataPath} (set Redis:Configuration to use a Redis server)")]
    public static partial void UsingEmbeddedStore(ILogger logger, string endpoint, string dataPath);

    [LoggerMessage(EventId = 104, Level = LogLevel.Warning, Message = "Using the embedded Garnet store on {Endpoint} in memory only: Store:DataPath is empty, so nothing survives a restart")]
    public static partial void UsingEmbeddedStoreInMemory(ILogger logger, string endpoint);

    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Using Redis at {Endpoints}")]
    public static partial void UsingRedis(ILogger logger, string endpoints);

    [LoggerMessage(EventId = 102, Level = LogLevel.Warning, Message = "Redis connection lost ({ConnectionType}, {Endpoint}): {FailureType}")]
    public static partial void ConnectionFailed(ILogger logger, string connectionType, string endpoint, string failureType);

    [LoggerMessage(EventId = 103, Level = LogLevel.Information, Message = "Redis connection restored ({ConnectionType}, {Endpoint})")]
    public static partial void ConnectionRestored(ILogger logger, string connectionType, string endpoint);
}
