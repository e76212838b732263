using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LiveNews.Server.Store;

/// <summary>Owns the one Redis connection of this node (and the embedded store when no Redis is configured).</summary>
internal sealed class RedisStore : IDisposable
{
    private readonly EmbeddedGarnet? _embedded;

    public RedisStore(IOptions<StoreOptions> options, IOptions<DataPathOptions> data, IHostEnvironment environment, ILogger<RedisStore> logger)
    {
        var settings = options.Value;
        string configuration;
        if (settings.UsesEmbeddedStore)
        {
            var dataPath = data.Value.Resolve(environment);
            _embedded = new EmbeddedGarnet(dataPath);
            configuration = _embedded.Configuration;
            if (dataPath is null)
            {
                StoreLog.UsingEmbeddedStoreInMemory(logger, configuration);
            }
            else
            {
                StoreLog.UsingEmbeddedStore(logger, configuration, dataPath);
            }
        }
        else
        {
            configuration = settings.Configuration!;
        }

        var config = ConfigurationOptions.Parse(configuration);
        // Start even while Redis is down and keep retrying: readiness reports it, the bus catches up after.
        config.AbortOnConnectFail = false;
        config.ClientName ??= "livenews";
        if (!settings.UsesEmbeddedStore)
        {
            // Endpoints only: the configuration string may hold a password.
            StoreLog.UsingRedis(logger, string.Join(", ", config.EndPoints.Select(e => e.ToString())));
        }

        Connection = ConnectionMultiplexer.Connect(config);
        Connection.ConnectionFailed += (_, e) =>
            StoreLog.ConnectionFailed(logger, e.ConnectionType.ToString(), e.EndPoint?.ToString() ?? "?", e.FailureType.ToString());
        Connection.ConnectionRestored += (_, e) =>
            StoreLog.ConnectionRestored(logger, e.ConnectionType.ToString(), e.EndPoint?.ToString() ?? "?");
        KeyPrefix = settings.KeyPrefix;
    }

    public IConnectionMultiplexer Connection { get; }

    public string KeyPrefix { get; }

    public IDatabase Database => Connection.GetDatabase();

    public void Dispose()
    {
        Connection.Dispose();
        _embedded?.Dispose();
    }
}
