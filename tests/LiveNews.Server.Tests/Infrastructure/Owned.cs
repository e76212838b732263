namespace LiveNews.Server.Tests.Infrastructure;

/// <summary>What a test started (nodes, clients, connections), disposed in reverse order at its end.</summary>
public sealed class Owned : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _items = [];

    // Tests add from concurrent tasks (readers connected 32 at a time): a List alone lost or nulled entries.
    private readonly Lock _sync = new();

    public T Add<T>(T item)
        where T : IAsyncDisposable
    {
        lock (_sync)
        {
            _items.Add(item);
        }

        return item;
    }

    public async ValueTask DisposeAsync()
    {
        IAsyncDisposable[] items;
        lock (_sync)
        {
            items = [.. _items];
            _items.Clear();
        }

        for (var i = items.Length - 1; i >= 0; i--)
        {
            await items[i].DisposeAsync();
        }
    }
}
