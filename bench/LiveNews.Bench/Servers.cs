using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;

namespace LiveNews.Bench;

/// <summary>The systems a scenario measures, all with the same load client.</summary>
internal enum SystemKind
{
    /// <summary>A LiveNews node on its own redis-server: editor API, publish script, relay, hub.</summary>
    LiveNews,

    /// <summary>Socket.IO 4.8 with @socket.io/redis-adapter (bench/socketio) on its own redis-server.</summary>
    SocketIo,

    /// <summary>Kestrel WebSockets, a channel and writer loop per socket, one pre-framed buffer per event.</summary>
    RawWebSocket,

    /// <summary>A bare SignalR hub: group add, group send, no Redis, no history.</summary>
    SignalRHub,
}

/// <summary>
/// One system under test, started alone so nothing else runs beside it; its server process (and the
/// redis-server it uses) run on the server core when the bench is pinned.
/// </summary>
internal sealed class Servers : IAsyncDisposable
{
    public const string ApiKey = "bench-editor-key-0123456789";

    /// <summary>
    /// The LiveNews topic the bench publishes to: a live blog's entries. <c>breaking</c> holds at most 100 active
    /// alerts and refuses the next with 409, too few for a burst or the editor API scenario; an entry takes the
    /// same path (publish script, relay, hub) and an article may hold up to Newsroom:MaxEntriesPerArticle.
    /// </summary>
    public const string LiveNewsTopic = "article:bench";

    /// <summary>The SignalR JSON invocation the baseline hub and the raw broadcast take as a subscribe.</summary>
    private const string JoinFrame = "{\"type\":1,\"invocationId\":\"1\",\"target\":\"Join\",\"arguments\":[\"breaking\"]}";

    private static readonly SemaphoreSlim NpmInstall = new(1);

    private readonly string? _redisDir;
    private readonly ChildProcess? _redis;

    private Servers(SystemKind kind, ChildProcess process, Uri url, string hubPath, string publishPath, string subscribeFrame, ChildProcess? redis = null, string? redisDir = null)
    {
        Kind = kind;
        Process = process;
        Url = url;
        HubUrl = new Uri(url, hubPath);
        PublishPath = publishPath;
        SubscribeFrame = subscribeFrame;
        _redis = redis;
        _redisDir = redisDir;
    }

    public SystemKind Kind { get; }

    /// <summary>Every LiveNews node's address (one for a single node).</summary>
    public IReadOnlyList<Uri> NodeUrls { get; private init; } = [];

    /// <summary>The LiveNews deployment's redis-server port.</summary>
    public int RedisPort { get; private init; }

    private IReadOnlyList<ChildProcess> Others { get; init; } = [];

    public string Name => NameOf(Kind);

    /// <summary>The topic (or room) subscribers join.</summary>
    public string Topic => Kind == SystemKind.LiveNews ? LiveNewsTopic : "breaking";

    /// <summary>The server whose CPU and memory are measured.</summary>
    public ChildProcess Process { get; }

    public Uri Url { get; }

    /// <summary>Where subscribers open their WebSocket.</summary>
    public Uri HubUrl { get; }

    public string PublishPath { get; }

    /// <summary>The frame that subscribes a connection to <see cref="Topic"/>, in the system's wire protocol.</summary>
    public string SubscribeFrame { get; }

    public Wire Wire => Kind == SystemKind.SocketIo ? Wire.SocketIo : Wire.SignalR;

    /// <summary>Whether the system promises seq order, once; the bare hub's concurrent publishes race.</summary>
    public bool Ordered => Kind != SystemKind.SignalRHub;

    public static string NameOf(SystemKind kind) => kind switch
    {
        SystemKind.LiveNews => "LiveNews",
        SystemKind.SocketIo => "Socket.IO 4.8 + redis-adapter",
        SystemKind.RawWebSocket => "raw Kestrel WebSocket",
        SystemKind.SignalRHub => "bare SignalR hub",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    public static Task<Servers> StartAsync(SystemKind kind) => kind switch
    {
        SystemKind.LiveNews => StartLiveNewsAsync(),
        SystemKind.SocketIo => StartSocketIoAsync(),
        SystemKind.RawWebSocket => StartBaselineAsync(kind, "/ws", "/publish-raw"),
        SystemKind.SignalRHub => StartBaselineAsync(kind, "/hubs/baseline", "/publish"),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    public static Task<Servers> StartLiveNewsAsync(IDictionary<string, string>? settings = null) => StartLiveNewsAsync(1, settings);

    /// <summary>
    /// A redis-server and <paramref name="nodes"/> LiveNews nodes on it (one deployment): the first is
    /// <see cref="Process"/>, every one is in <see cref="NodeUrls"/>.
    /// </summary>
    public static async Task<Servers> StartLiveNewsAsync(int nodes, IDictionary<string, string>? settings)
    {
        var (redis, redisDir, redisPort) = StartRedis();
        var keyPrefix = "bench" + Guid.NewGuid().ToString("N")[..8];
        var started = new List<(ChildProcess Process, Uri Url)>();
        for (var i = 0; i < nodes; i++)
        {
            var url = new Uri($"http://127.0.0.1:{ChildProcess.FreePort()}");
            var environment = new Dictionary<string, string>
            {
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
                ["Redis__Configuration"] = $"127.0.0.1:{redisPort}",
                ["Redis__KeyPrefix"] = keyPrefix,
                ["Auth__ApiKeys__0__Name"] = "bench",
                ["Auth__ApiKeys__0__Key"] = ApiKey,
                ["Auth__ApiKeys__0__Scopes__0"] = "publish",
                ["Logging__LogLevel__Default"] = "Warning",
                // The load comes from one address and one key: lift the abuse limits for it.
                ["RateLimits__EditorRequestsPerMinute"] = "1000000000",
                ["RateLimits__PublicRequestsPerMinute"] = "1000000000",
                ["RateLimits__ConnectionsPerMinute"] = "1000000000",
                ["RateLimits__HubInvocationsPerMinute"] = "1000000000",
                ["RateLimits__ConnectionsPerAddress"] = "1000000000",
                ["Newsroom__MaxEntriesPerArticle"] = "1000000",
                // Data Protection keys and anything else kept beside the store: in the run's temporary directory.
                ["Store__DataPath"] = Path.Combine(redisDir, $"node{i}"),
            };
            foreach (var (key, value) in (settings ?? new Dictionary<string, string>()).Concat(ExperimentEnvironment()))
            {
                environment[key] = value;
            }

            started.Add((ChildProcess.Start("dotnet", [ServerDll("src", "LiveNews.Server"), "--urls", url.ToString()], environment), url));
        }

        var servers = new Servers(SystemKind.LiveNews, started[0].Process, started[0].Url, "/hubs/live", $"/api/articles/{LiveNewsTopic["article:".Length..]}/entries",
            $"{{\"type\":1,\"invocationId\":\"1\",\"target\":\"Subscribe\",\"arguments\":[[{{\"topic\":\"{LiveNewsTopic}\"}}]]}}", redis, redisDir)
        {
            RedisPort = redisPort,
            Others = [.. started.Skip(1).Select(node => node.Process)],
            NodeUrls = [.. started.Select(node => node.Url)],
        };
        try
        {
            foreach (var (_, url) in started)
            {
                await ChildProcess.WaitForHttpAsync(new Uri(url, "/health/ready"), TimeSpan.FromSeconds(60));
            }

            // Entries need their article; publishing it is event 1 of the topic, before anyone subscribes.
            using var http = servers.Editor();
            using var response = await http.PutAsJsonAsync($"/api/articles/{LiveNewsTopic["article:".Length..]}", new { headline = "Bench live blog", url = "https://news.example/bench" });
            response.EnsureSuccessStatusCode();
        }
        catch
        {
            await servers.DisposeAsync();
            throw;
        }

        return servers;
    }

    private static async Task<Servers> StartSocketIoAsync()
    {
        var folder = Path.Combine(ChildProcess.RepositoryRoot(), "bench", "socketio");
        await EnsureNodeModulesAsync(folder);
        var (redis, redisDir, redisPort) = StartRedis();
        var port = ChildProcess.FreePort();
        var url = new Uri($"http://127.0.0.1:{port}");
        var server = ChildProcess.Start("node", ["server.js"], new Dictionary<string, string>
        {
            ["NODE_ENV"] = "production",
            ["PORT"] = port.ToString(CultureInfo.InvariantCulture),
            ["REDIS_URL"] = $"redis://127.0.0.1:{redisPort}",
        }, folder);
        await ChildProcess.WaitForHttpAsync(new Uri(url, "/health"), TimeSpan.FromSeconds(60));
        return new Servers(SystemKind.SocketIo, server, url, "/socket.io/?EIO=4&transport=websocket", "/publish",
            "42[\"subscribe\",\"breaking\"]", redis, redisDir);
    }

    private static async Task<Servers> StartBaselineAsync(SystemKind kind, string socketPath, string publishPath)
    {
        var url = new Uri($"http://127.0.0.1:{ChildProcess.FreePort()}");
        var server = ChildProcess.Start("dotnet", [ServerDll("bench", "LiveNews.Bench.Baseline"), "--urls", url.ToString()],
            new Dictionary<string, string> { ["ASPNETCORE_ENVIRONMENT"] = "Production" });
        await ChildProcess.WaitForHttpAsync(new Uri(url, "/health"), TimeSpan.FromSeconds(60));
        return new Servers(kind, server, url, socketPath, publishPath, JoinFrame);
    }

    /// <summary>A redis-server without persistence on a free port, on the server core when pinned.</summary>
    private static (ChildProcess Redis, string Dir, int Port) StartRedis()
    {
        var dir = Directory.CreateTempSubdirectory("livenews-bench-").FullName;
        var port = ChildProcess.FreePort();
        var redis = ChildProcess.Start("redis-server", ["--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no", "--loglevel", "warning"]);
        return (redis, dir, port);
    }

    /// <summary>Installs the Socket.IO peer's packages from its lock file the first time it is needed.</summary>
    private static async Task EnsureNodeModulesAsync(string folder)
    {
        await NpmInstall.WaitAsync();
        try
        {
            if (Directory.Exists(Path.Combine(folder, "node_modules")))
            {
                return;
            }

            Console.Error.WriteLine("bench: npm ci in bench/socketio");
            var start = new ProcessStartInfo("npm") { WorkingDirectory = folder, UseShellExecute = false };
            foreach (var arg in new[] { "ci", "--no-audit", "--no-fund" })
            {
                start.ArgumentList.Add(arg);
            }

            using var npm = System.Diagnostics.Process.Start(start)!;
            await npm.WaitForExitAsync();
            if (npm.ExitCode != 0)
            {
                throw new InvalidOperationException($"npm ci in {folder} failed with exit code {npm.ExitCode}.");
            }
        }
        finally
        {
            NpmInstall.Release();
        }
    }

    /// <summary>An HTTP client for the server, with the editor key LiveNews takes (the peers ignore it).</summary>
    public HttpClient Editor(HttpMessageHandler? handler = null)
    {
        var http = handler is null ? new HttpClient() : new HttpClient(handler);
        http.BaseAddress = Url;
        http.DefaultRequestHeaders.Add("X-Api-Key", ApiKey);
        return http;
    }

    public async ValueTask DisposeAsync()
    {
        await Process.DisposeAsync();
        foreach (var node in Others)
        {
            await node.DisposeAsync();
        }

        if (_redis is not null)
        {
            await _redis.DisposeAsync();
            Directory.Delete(_redisDir!, recursive: true);
        }
    }

    /// <summary>Extra environment for the measured LiveNews server, for experiments: <c>BENCH_SERVER_ENV="A=1;B=2"</c>.</summary>
    private static IEnumerable<KeyValuePair<string, string>> ExperimentEnvironment() =>
        (Environment.GetEnvironmentVariable("BENCH_SERVER_ENV") ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2)).Select(p => KeyValuePair.Create(p[0], p[1]));

    private static string ServerDll(string folder, string project) =>
        Path.Combine(ChildProcess.RepositoryRoot(), folder, project, "bin", ChildProcess.Configuration(), "net10.0", project + ".dll");
}
