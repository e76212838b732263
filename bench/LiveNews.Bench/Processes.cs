using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Reflection;

namespace LiveNews.Bench;

/// <summary>A child process whose CPU time and resident memory the benchmark reads from /proc.</summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;

    private ChildProcess(Process process) => _process = process;

    public int Pid => _process.Id;

    public static ChildProcess Start(string file, IEnumerable<string> args, IDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) =>
        {
            if (!string.IsNullOrEmpty(e.Data))
            {
                Console.Error.WriteLine($"[{Path.GetFileName(file)}] {e.Data}");
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new ChildProcess(process);
    }

    /// <summary>User plus system CPU seconds used so far (utime + stime in /proc/pid/stat).</summary>
    public double CpuSeconds()
    {
        var stat = File.ReadAllText($"/proc/{Pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return ticks / 100.0;
    }

    /// <summary>Resident set size in bytes (VmRSS).</summary>
    public long RssBytes()
    {
        var line = File.ReadLines($"/proc/{Pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }

    /// <summary>Stops gracefully (SIGTERM, so traces and logs flush), then by force after 10 s.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            using (var term = Process.Start("kill", ["-TERM", Pid.ToString(CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync();
            }

            using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _process.WaitForExitAsync(patience.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }

        _process.Dispose();
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static async Task WaitForHttpAsync(Uri url, TimeSpan timeout)
    {
        using var http = new HttpClient();
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                using var response = await http.GetAsync(url);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{url} did not answer within {timeout}.");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>The repository root, found from this assembly's location.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "LiveNews.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("LiveNews.sln not found above the benchmark.");
    }

    /// <summary>Debug or Release, as this tool was built; the servers were built the same way.</summary>
    public static string Configuration() =>
        typeof(ChildProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Release";
}

/// <summary>
/// One system under test, started alone so nothing else runs beside it: a LiveNews node on its own
/// redis-server, or the baseline hub.
/// </summary>
internal sealed class Servers : IAsyncDisposable
{
    public const string ApiKey = "bench-editor-key-0123456789";

    private readonly string? _redisDir;
    private readonly ChildProcess? _redis;

    private Servers(string name, ChildProcess process, Uri url, string hubPath, string publishPath, string subscribeFrame, ChildProcess? redis = null, string? redisDir = null)
    {
        Name = name;
        Process = process;
        Url = url;
        HubUrl = new Uri(url, hubPath);
        PublishPath = publishPath;
        SubscribeFrame = subscribeFrame;
        _redis = redis;
        _redisDir = redisDir;
    }

    public string Name { get; }

    /// <summary>The server whose CPU and memory are measured.</summary>
    public ChildProcess Process { get; }

    public Uri Url { get; }

    public Uri HubUrl { get; }

    public string PublishPath { get; }

    /// <summary>The SignalR JSON frame that subscribes a connection to <c>breaking</c>.</summary>
    public string SubscribeFrame { get; }

    public bool IsBaseline => _redis is null;

    /// <summary>Every LiveNews node's address (one for a single node).</summary>
    public IReadOnlyList<Uri> NodeUrls { get; private init; } = [];

    public int RedisPort { get; private init; }

    private IReadOnlyList<ChildProcess> Others { get; init; } = [];

    public static async Task<Servers> StartLiveNewsAsync() => await StartLiveNewsAsync(1, new Dictionary<string, string>());

    /// <summary>
    /// A redis-server and <paramref name="nodes"/> LiveNews nodes on it (one deployment); the first is
    /// <see cref="Process"/>, every one is in <see cref="NodeUrls"/>.
    /// </summary>
    public static async Task<Servers> StartLiveNewsAsync(int nodes, IDictionary<string, string> settings)
    {
        var redisDir = Directory.CreateTempSubdirectory("livenews-bench-").FullName;
        var redisPort = ChildProcess.FreePort();
        var redis = ChildProcess.Start("redis-server", ["--port", redisPort.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--dir", redisDir, "--save", "", "--appendonly", "no", "--loglevel", "warning"]);
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
                // The node's Data Protection keys go with the run, not into the repository it is started from.
                ["Store__DataPath"] = Path.Combine(redisDir, $"node{i}"),
                ["Auth__ApiKeys__0__Name"] = "bench",
                ["Auth__ApiKeys__0__Key"] = ApiKey,
                ["Auth__ApiKeys__0__Scopes__0"] = "publish",
                ["Logging__LogLevel__Default"] = "Warning",
                // The load comes from one address and one key: lift the abuse limits for it.
                ["RateLimits__EditorRequestsPerMinute"] = "1000000000",
                ["RateLimits__PublicRequestsPerMinute"] = "1000000000",
                ["RateLimits__ConnectionsPerMinute"] = "1000000000",
                ["RateLimits__ConnectionsPerAddress"] = "1000000000",
                ["RateLimits__HubInvocationsPerMinute"] = "1000000000",
            };
            foreach (var (key, value) in settings)
            {
                environment[key] = value;
            }

            started.Add((ChildProcess.Start("dotnet", [ServerDll("src", "LiveNews.Server"), "--urls", url.ToString()], environment), url));
        }

        foreach (var (_, url) in started)
        {
            await ChildProcess.WaitForHttpAsync(new Uri(url, "/health/ready"), TimeSpan.FromSeconds(60));
        }

        return new Servers("LiveNews", started[0].Process, started[0].Url, "/hubs/live", "/api/breaking",
            "{\"type\":1,\"invocationId\":\"1\",\"target\":\"Subscribe\",\"arguments\":[[{\"topic\":\"breaking\"}]]}", redis, redisDir)
        {
            RedisPort = redisPort,
            Others = [.. started.Skip(1).Select(node => node.Process)],
            NodeUrls = [.. started.Select(node => node.Url)],
        };
    }

    public static async Task<Servers> StartBaselineAsync()
    {
        var url = new Uri($"http://127.0.0.1:{ChildProcess.FreePort()}");
        var server = ChildProcess.Start("dotnet", [ServerDll("bench", "LiveNews.Bench.Baseline"), "--urls", url.ToString()],
            new Dictionary<string, string> { ["ASPNETCORE_ENVIRONMENT"] = "Production" });
        await ChildProcess.WaitForHttpAsync(new Uri(url, "/health"), TimeSpan.FromSeconds(60));
        return new Servers("baseline hub", server, url, "/hubs/baseline", "/publish",
            "{\"type\":1,\"invocationId\":\"1\",\"target\":\"Join\",\"arguments\":[\"breaking\"]}");
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

    private static string ServerDll(string folder, string project) =>
        Path.Combine(ChildProcess.RepositoryRoot(), folder, project, "bin", ChildProcess.Configuration(), "net10.0", project + ".dll");
}
