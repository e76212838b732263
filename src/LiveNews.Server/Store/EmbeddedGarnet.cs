using System.Net;
using System.Net.Sockets;
using Garnet;
using Garnet.server;

namespace LiveNews.Server.Store;

/// <summary>
/// An in-process, Redis-compatible store on a loopback port, so that a fresh machine runs LiveNews with
/// no Redis install. The service talks to it over RESP exactly as it talks to Redis: one code path.
/// With a data path it is durable: every write goes to an append-only log before the store answers, and
/// periodic checkpoints bound how much of the log a restart replays.
/// </summary>
internal sealed class EmbeddedGarnet : IDisposable
{
    /// <summary>How often a checkpoint is taken, after which the log before it can be truncated.</summary>
    private static readonly TimeSpan CheckpointInterval = TimeSpan.FromMinutes(1);

    private readonly GarnetServer _server;

    /// <param name="dataPath">Folder for the append-only log and checkpoints; null keeps data in memory only.</param>
    public EmbeddedGarnet(string? dataPath = null)
    {
        Port = FreeLoopbackPort();
        var options = new GarnetServerOptions
        {
            EndPoints = [new IPEndPoint(IPAddress.Loopback, Port)],
            EnableLua = true,
            // Scripts run as transactions (their keys locked): without it Garnet may interleave two scripts,
            // and the publish script's compare-and-set and seq assignment stop being one step.
            LuaTransactionMode = true,
            LuaOptions = new LuaOptions(logger: null),
            QuietMode = true,
            IndexMemorySize = "16m",
            LogMemorySize = "128m",
            PageSize = "1m",
        };
        if (dataPath is not null)
        {
            Directory.CreateDirectory(dataPath);
            options.EnableAOF = true;
            options.CommitFrequencyMs = 0;     // commit every write as it happens...
            options.WaitForCommit = true;      // ...and answer only once it is on disk: a SIGKILL loses nothing acknowledged
            options.EnableStorageTier = true;
            // Managed file I/O: Garnet's native Linux device needs libaio, which a fresh machine may lack.
            options.DeviceType = Tsavorite.core.DeviceType.RandomAccess;
            options.LogDir = dataPath;
            options.CheckpointDir = dataPath;
            options.CheckpointFrequencySecs = (int)CheckpointInterval.TotalSeconds;
            options.Recover = true;
        }

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
