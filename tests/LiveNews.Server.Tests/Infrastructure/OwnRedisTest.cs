namespace LiveNews.Server.Tests.Infrastructure;

/// <summary>
/// A test class whose every test gets its own redis-server (so it may kill, pause or restart it) and a key
/// prefix of its own; what a test starts is tracked and disposed in reverse, before the server.
/// </summary>
public abstract class OwnRedisTest : IAsyncLifetime
{
    private readonly Owned _owned = new();

    protected string Prefix { get; } = Eventually.Prefix();

    protected RedisServer Redis { get; private set; } = null!;

    public virtual async Task InitializeAsync() => Redis = await RedisServer.StartAsync();

    public async Task DisposeAsync()
    {
        await _owned.DisposeAsync();
        await Redis.DisposeAsync();
    }

    protected T Track<T>(T disposable)
        where T : IAsyncDisposable => _owned.Add(disposable);
}
