using LiveNews.Server.Store;

namespace LiveNews.Server.Tests.Infrastructure;

/// <summary>What the shared tests run against: a StackExchange.Redis configuration string.</summary>
public interface IStoreFixture
{
    string Configuration { get; }
}

/// <summary>One real redis-server for a test class.</summary>
public sealed class RedisFixture : IStoreFixture, IAsyncLifetime
{
    public RedisServer Server { get; private set; } = null!;

    public string Configuration => Server.Configuration;

    public async Task InitializeAsync() => Server = await RedisServer.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>The embedded Garnet store the server starts when no Redis is configured, shared by the nodes of a test.</summary>
public sealed class GarnetFixture : IStoreFixture, IDisposable
{
    private readonly EmbeddedGarnet _garnet = new();

    public string Configuration => _garnet.Configuration;

    public void Dispose() => _garnet.Dispose();
}
