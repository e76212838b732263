using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace LiveNews.Server.Tests.Infrastructure;

/// <summary>
/// A real <c>redis-server</c> on a free loopback port in a temporary directory, with append-only
/// persistence fsynced on every write, so a restart keeps every acknowledged publish.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("livenews-redis-").FullName;
    private Process? _process;

    private RedisServer(int port) => Port = port;

    public int Port { get; }

    public string Configuration => $"127.0.0.1:{Port}";

    public static async Task<RedisServer> StartAsync()
    {
        var server = new RedisServer(Ports.Free());
        await server.LaunchAsync();
        return server;
    }

    /// <summary>A server with a port and a folder, not started yet (for a node that starts before its Redis).</summary>
    public static RedisServer NotStarted() => new(Ports.Free());

    /// <summary>Starts a server made with <see cref="NotStarted"/>, or one that was killed, on its port and files.</summary>
    public Task StartAgainAsync() => LaunchAsync();

    /// <summary>Pauses every client's commands for <paramref name="duration"/> (<c>CLIENT PAUSE ... ALL</c>): Redis is slow.</summary>
    /// <remarks>
    /// The connection that paused stays open until the pause is over: closed at once, as StackExchange.Redis
    /// closes it, the server went on answering every client within milliseconds (measured).
    /// </remarks>
    public async Task PauseAsync(TimeSpan duration)
    {
        var admin = await ConnectionMultiplexer.ConnectAsync(Configuration + ",allowAdmin=true");
        await admin.GetDatabase().ExecuteAsync("CLIENT", "PAUSE", ((long)duration.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture), "ALL");
        _ = CloseAfterThePauseAsync();

        async Task CloseAfterThePauseAsync()
        {
            await Task.Delay(duration + TimeSpan.FromSeconds(1));
            await admin.DisposeAsync();
        }
    }

    /// <summary>How many scripts the server ran so far (<c>EVAL</c> and <c>EVALSHA</c>): every topic read and publish is one.</summary>
    public async Task<long> ScriptCallsAsync()
    {
        await using var admin = await ConnectionMultiplexer.ConnectAsync(Configuration + ",allowAdmin=true");
        var info = (string)(await admin.GetDatabase().ExecuteAsync("INFO", "commandstats"))!;
        return info.Split('\n')
            .Where(line => line.StartsWith("cmdstat_eval", StringComparison.Ordinal))
            .Sum(line => long.Parse(line.Split("calls=")[1].Split(',')[0], System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>Kills the server without warning (SIGKILL) and starts it again on the same port and files.</summary>
    public async Task RestartAsync()
    {
        Kill();
        await LaunchAsync();
    }

    /// <summary>A copy of the server's files as they are now: a backup, or what a replica that lags holds.</summary>
    public string CopyFiles()
    {
        var copy = Directory.CreateTempSubdirectory("livenews-redis-copy-").FullName;
        CopyDirectory(_directory, copy);
        return copy;
    }

    /// <summary>
    /// Kills the server and starts it again on <paramref name="copy"/> of its files: Redis back with less
    /// than it had (restored from a backup, or failed over to a replica that lagged).
    /// </summary>
    public async Task RestoreAsync(string copy)
    {
        Kill();
        Directory.Delete(_directory, recursive: true);
        Directory.CreateDirectory(_directory);
        CopyDirectory(copy, _directory);
        Directory.Delete(copy, recursive: true);
        await LaunchAsync();
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var directory in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(directory.Replace(from, to, StringComparison.Ordinal));
        }

        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            File.Copy(file, file.Replace(from, to, StringComparison.Ordinal));
        }
    }

    public void Kill()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process?.Dispose();
        _process = null;
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        await Task.Yield();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private async Task LaunchAsync()
    {
        var binary = FindBinary("redis-server")
            ?? throw new InvalidOperationException("redis-server was not found on PATH. Install it (apt-get install -y redis-server) or run the README's test command, which does.");
        var start = new ProcessStartInfo(binary)
        {
            ArgumentList =
            {
                "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--bind", "127.0.0.1",
                "--dir", _directory,
                "--appendonly", "yes",
                "--appendfsync", "always",
                "--save", "",
                "--daemonize", "no",
                "--protected-mode", "yes",
                "--loglevel", "warning",
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        await WaitForPingAsync(Configuration, () => !_process.HasExited);
    }

    /// <summary>Waits until a Redis at <paramref name="configuration"/> answers PING, while it is still starting.</summary>
    internal static async Task WaitForPingAsync(string configuration, Func<bool> starting)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                using var probe = await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions { EndPoints = { configuration }, ConnectTimeout = 500, AbortOnConnectFail = true });
                await probe.GetDatabase().PingAsync();
                return;
            }
            catch (Exception ex) when (ex is RedisConnectionException || IsLoading(ex))
            {
                if (DateTime.UtcNow >= deadline || !starting())
                {
                    throw;
                }

                await Task.Delay(50);
            }
        }
    }

    // A restarted server answers LOADING while it reads its dataset back: it is up, not ready.
    private static bool IsLoading(Exception ex) =>
        ex is RedisServerException && ex.Message.StartsWith("LOADING", StringComparison.Ordinal);

    internal static string? FindBinary(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
            .Append("/usr/bin").Append("/usr/local/bin")
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
}
