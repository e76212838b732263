namespace LiveNews.Server.Tests.Infrastructure;

/// <summary>What a test started (nodes, clients, connections), disposed in reverse order at its end.</summary>
public sealed class Owned : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _items = [];

    public T Add<T>(T item)
        where T : IAsyncDisposable
    {
        _items.Add(item);
        return item;
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = _items.Count - 1; i >= 0; i--)
        {
            await _items[i].DisposeAsync();
        }

        _items.Clear();
    }
}
