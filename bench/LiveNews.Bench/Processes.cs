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

/// <summary>The systems under test: Redis, a LiveNews node on it, and the baseline hub.</summary>
internal sealed class Servers : IAsyncDisposable
{
    public const string ApiKey = "bench-editor-key-0123456789";

    private readonly string _redisDir = Directory.CreateTempSubdirectory("livenews-bench-").FullName;

    public ChildProcess Redis { get; private set; } = null!;

    public ChildProcess LiveNews { get; private set; } = null!;

    public ChildProcess Baseline { get; private set; } = null!;

    public Uri LiveNewsUrl { get; private set; } = null!;

    public Uri BaselineUrl { get; private set; } = null!;

    public static async Task<Servers> StartAsync(bool withBaseline)
    {
        var servers = new Servers();
        var root = ChildProcess.RepositoryRoot();
        var configuration = ChildProcess.Configuration();
        var redisPort = ChildProcess.FreePort();
        servers.Redis = ChildProcess.Start("redis-server", ["--port", redisPort.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--dir", servers._redisDir, "--save", "", "--appendonly", "no", "--loglevel", "warning"]);

        var livePort = ChildProcess.FreePort();
        servers.LiveNewsUrl = new Uri($"http://127.0.0.1:{livePort}");
        servers.LiveNews = ChildProcess.Start("dotnet", [Path.Combine(root, "src", "LiveNews.Server", "bin", configuration, "net10.0", "LiveNews.Server.dll"), "--urls", servers.LiveNewsUrl.ToString()], new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["Redis__Configuration"] = $"127.0.0.1:{redisPort}",
            ["Redis__KeyPrefix"] = "bench" + Guid.NewGuid().ToString("N")[..8],
            ["Auth__ApiKeys__0__Name"] = "bench",
            ["Auth__ApiKeys__0__Key"] = ApiKey,
            ["Auth__ApiKeys__0__Scopes__0"] = "publish",
            ["Logging__LogLevel__Default"] = "Warning",
            // The load comes from one address and one key: lift the abuse limits for it.
            ["RateLimits__EditorRequestsPerMinute"] = "1000000000",
            ["RateLimits__PublicRequestsPerMinute"] = "1000000000",
            ["RateLimits__ConnectionsPerMinute"] = "1000000000",
            ["RateLimits__HubInvocationsPerMinute"] = "1000000000",
        });
        await ChildProcess.WaitForHttpAsync(new Uri(servers.LiveNewsUrl, "/health/ready"), TimeSpan.FromSeconds(60));

        if (withBaseline)
        {
            var basePort = ChildProcess.FreePort();
            servers.BaselineUrl = new Uri($"http://127.0.0.1:{basePort}");
            servers.Baseline = ChildProcess.Start("dotnet", [Path.Combine(root, "bench", "LiveNews.Bench.Baseline", "bin", configuration, "net10.0", "LiveNews.Bench.Baseline.dll"), "--urls", servers.BaselineUrl.ToString()],
                new Dictionary<string, string> { ["ASPNETCORE_ENVIRONMENT"] = "Production" });
            await ChildProcess.WaitForHttpAsync(new Uri(servers.BaselineUrl, "/health"), TimeSpan.FromSeconds(60));
        }

        return servers;
    }

    public async ValueTask DisposeAsync()
    {
        if (Baseline is not null)
        {
            await Baseline.DisposeAsync();
        }

        await LiveNews.DisposeAsync();
        await Redis.DisposeAsync();
        Directory.Delete(_redisDir, recursive: true);
    }
}
