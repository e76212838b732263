using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace LiveNews.Server.Tests.Infrastructure;

/// <summary>
/// A TCP load balancer on loopback, standing in for the one in front of a deployment: each new client
/// connection goes to the next backend that accepts it. Closing a backend's node sends its clients,
/// when they reconnect, to the other nodes; <see cref="DropRandom"/> cuts client connections as a flaky
/// network would.
/// </summary>
public sealed class LoopbackBalancer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<int, (TcpClient Client, TcpClient Backend)> _pairs = new();
    private readonly Task _accepting;
    private int _next;
    private int _pairIds;

    public LoopbackBalancer(params Uri[] backends)
    {
        Backends = [.. backends];
        _listener.Start();
        Address = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");
        _accepting = Task.Run(AcceptAsync);
    }

    public Uri Address { get; }

    public List<Uri> Backends { get; }

    public int Connections => _pairs.Count;

    /// <summary>Cuts <paramref name="count"/> client connections at random.</summary>
    public int DropRandom(int count)
    {
        var victims = _pairs.Keys.OrderBy(_ => Random.Shared.Next()).Take(count).ToList();
        foreach (var id in victims)
        {
            if (_pairs.TryRemove(id, out var pair))
            {
                // The pair may be closing by itself at the same moment: its sockets can be gone already.
                pair.Client.Client?.Close(0);
                pair.Backend.Client?.Close(0);
            }
        }

        return victims.Count;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        foreach (var pair in _pairs.Values)
        {
            pair.Client.Dispose();
            pair.Backend.Dispose();
        }

        await _accepting;
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        var backend = await ConnectToABackendAsync();
        if (backend is null)
        {
            client.Dispose();
            return;
        }

        var id = Interlocked.Increment(ref _pairIds);
        _pairs[id] = (client, backend);
        using (client)
        using (backend)
        {
            var up = PumpAsync(client.GetStream(), backend.GetStream());
            var down = PumpAsync(backend.GetStream(), client.GetStream());
            await Task.WhenAny(up, down);
            _pairs.TryRemove(id, out _);
            client.Client?.Close(0);
            backend.Client?.Close(0);
        }
    }

    private async Task<TcpClient?> ConnectToABackendAsync()
    {
        var backends = Backends.ToArray();
        for (var i = 0; i < backends.Length; i++)
        {
            var target = backends[Math.Abs(Interlocked.Increment(ref _next)) % backends.Length];
            var backend = new TcpClient();
            try
            {
                await backend.ConnectAsync(target.Host, target.Port, _stop.Token);
                return backend;
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException)
            {
                backend.Dispose();
            }
        }

        return null;
    }

    private async Task PumpAsync(NetworkStream from, NetworkStream to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await from.ReadAsync(buffer, _stop.Token)) > 0)
            {
                await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException or SocketException)
        {
        }
    }
}
