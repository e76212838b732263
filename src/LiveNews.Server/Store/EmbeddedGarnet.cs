using System.Net;
using System.Net.Sockets;
using Garnet;
using Garnet.server;

namespace LiveNews.Server.Store;

/// <summary>
/// An in-process, Redis-compatible store on a loopback port, so that a fresh machine runs LiveNews with
/// no Redis install. The service talks to it over RESP exactly as it talks to Redis: one code path.
/// </summary>
internal sealed class EmbeddedGarnet : IDisposable
{
    private readonly GarnetServer _server;

    public EmbeddedGarnet()
    {
        Port = FreeLoopbackPort();
        var options = new GarnetServerOptions
        {
            EndPoints = [new IPEndPoint(IPAddress.Loopback, Port)],
            EnableLua = true,
            LuaOptions = new LuaOptions(logger: null),
            QuietMode = true,
            IndexMemorySize = "16m",
            LogMemorySize = "128m",
            PageSize = "1m",
        };
        _server = new GarnetServer(options, loggerFactory: null, servers: null, cleanupDir: false);
        _server.Start();
    }

    public int Port { get; }

    public string Configuration => $"127.0.0.1:{Port}";

    public void Dispose() => _server.Dispose();

    private static int FreeLoopbackPort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
