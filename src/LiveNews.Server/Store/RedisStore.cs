using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LiveNews.Server.Store;

/// <summary>
/// Owns the one Redis connection of this node (and the embedded store when no Redis is configured). The
/// connection is made lazily and asynchronously: a node started while Redis is away starts, answers
/// liveness, reports not ready, and serves once Redis comes.
/// </summary>
internal sealed class RedisStore : IDisposable
{
    private readonly EmbeddedGarnet? _embedded;
    private readonly ConfigurationOptions _configuration;
    private readonly ILogger<RedisStore> _logger;
    private readonly SemaphoreSlim _connecting = new(1, 1);
    private volatile IConnectionMultiplexer? _connection;

    public RedisStore(IOptions<StoreOptions> options, IOptions<DataPathOptions> data, IHostEnvironment environment, ILogger<RedisStore> logger)
    {
        _logger = logger;
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

        _configuration = ConfigurationOptions.Parse(configuration);
        // Never fail for a server that is away: keep retrying; readiness reports it, the bus catches up after.
        _configuration.AbortOnConnectFail = false;
        _configuration.ClientName ??= "livenews";
        if (!settings.UsesEmbeddedStore)
        {
            // Endpoints only: the configuration string may hold a password.
            StoreLog.UsingRedis(logger, string.Join(", ", _configuration.EndPoints.Select(e => e.ToString())));
        }

        KeyPrefix = settings.KeyPrefix;
        _ = ConnectAsync();
    }

    public string KeyPrefix { get; }

    /// <summary>True while the connection is up.</summary>
    public bool IsConnected => _connection?.IsConnected == true;

    /// <summary>The connection; until the first connect attempt has finished, a <see cref="RedisConnectionException"/>.</summary>
    public IConnectionMultiplexer Connection =>
        _connection ?? throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None, "The store connection is being made.", null, CommandStatus.Unknown);

    /// <summary>The connection, made on first use (one attempt at a time); it reconnects by itself after.</summary>
    public async Task<IConnectionMultiplexer> ConnectAsync(CancellationToken cancellationToken = default)
    {
        if (_connection is { } connection)
        {
            return connection;
        }

        await _connecting.WaitAsync(cancellationToken);
        try
        {
            if (_connection is null)
            {
                var made = await ConnectionMultiplexer.ConnectAsync(_configuration);
                made.ConnectionFailed += (_, e) =>
                    StoreLog.ConnectionFailed(_logger, e.ConnectionType.ToString(), e.EndPoint?.ToString() ?? "?", e.FailureType.ToString());
                made.ConnectionRestored += (_, e) =>
                    StoreLog.ConnectionRestored(_logger, e.ConnectionType.ToString(), e.EndPoint?.ToString() ?? "?");
                _connection = made;
            }

            return _connection;
        }
        finally
        {
            _connecting.Release();
        }
    }

    public async Task<IDatabase> GetDatabaseAsync() => (await ConnectAsync()).GetDatabase();

    public void Dispose()
    {
        _connection?.Dispose();
        _embedded?.Dispose();
        _connecting.Dispose();
    }
}
