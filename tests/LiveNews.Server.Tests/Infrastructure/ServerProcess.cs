using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace LiveNews.Server.Tests.Infrastructure;

/// <summary>
/// The server's own executable, started like a user starts it (<c>dotnet LiveNews.Server.dll</c>, settings
/// from environment variables) on a loopback port; stopped with SIGTERM (a deploy) or SIGKILL (a crash).
/// </summary>
public sealed class ServerProcess : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private int _disposed;

    private ServerProcess(Process process, int port)
    {
        _process = process;
        Port = port;
        BaseAddress = new Uri($"http://127.0.0.1:{port}");
    }

    public int Port { get; }

    public Uri BaseAddress { get; }

    /// <summary>What the process wrote to stdout and stderr so far (its console logs).</summary>
    public IReadOnlyCollection<string> Output => _output;

    public bool HasExited => _process.HasExited;

    /// <summary>
    /// Starts the server with an editor API key and <paramref name="settings"/> (configuration keys with
    /// <c>:</c> or <c>__</c>), on <paramref name="port"/> (0: a free one), and waits until it is ready.
    /// </summary>
    public static async Task<ServerProcess> StartAsync(IReadOnlyDictionary<string, string> settings, int port = 0)
    {
        port = port == 0 ? Ports.Free() : port;
        var start = new ProcessStartInfo("dotnet", Path.Combine(AppContext.BaseDirectory, "LiveNews.Server.dll"))
        {
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var environment = new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Testing",
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            ["Auth__ApiKeys__0__Name"] = "test-editor",
            ["Auth__ApiKeys__0__Key"] = LiveNewsNode.EditorKey,
            ["Auth__ApiKeys__0__Scopes__0"] = "publish",
            ["Auth__ApiKeys__0__Scopes__1"] = "share",
        };
        foreach (var (key, value) in settings)
        {
            environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start)!;
        var server = new ServerProcess(process, port);
        process.OutputDataReceived += (_, line) => server.Append(line.Data);
        process.ErrorDataReceived += (_, line) => server.Append(line.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var http = server.Anonymous();
            await Eventually.TrueAsync(
                async () => process.HasExited
                    ? throw new InvalidOperationException($"The server process exited ({process.ExitCode}) before it was ready:{Environment.NewLine}{string.Join(Environment.NewLine, server.Output.TakeLast(40))}")
                    : await IsReadyAsync(http),
                "the server process to be ready",
                seconds: 60);
        }
        catch
        {
            server.Dispose();
            throw;
        }

        return server;
    }

    public HttpClient Anonymous() => new() { BaseAddress = BaseAddress };

    public HttpClient Editor()
    {
        var client = Anonymous();
        client.DefaultRequestHeaders.Add("X-Api-Key", LiveNewsNode.EditorKey);
        return client;
    }

    /// <summary>SIGTERM, what a deploy (systemd, Kubernetes, docker stop) sends: the node drains and exits.</summary>
    public void Terminate()
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", $"-TERM {_process.Id}") { UseShellExecute = false })!;
        kill.WaitForExit();
        if (kill.ExitCode != 0 && !_process.HasExited)
        {
            throw new InvalidOperationException($"kill -TERM {_process.Id} failed with {kill.ExitCode}");
        }
    }

    /// <summary>Waits for the process to exit on its own (after <see cref="Terminate"/>).</summary>
    public async Task WaitForExitAsync(int seconds = 60)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        try
        {
            await _process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"The server process did not exit within {seconds} s");
        }
    }

    /// <summary>SIGKILL: no shutdown hook runs, nothing is flushed on the way out.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
    }

    /// <summary>Kills the process if it still runs; safe to call again (a test may dispose a node it restarts).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        Kill();
        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            _output.Enqueue(line);
        }
    }

    private static async Task<bool> IsReadyAsync(HttpClient http)
    {
        try
        {
            return (await http.GetAsync("/health/ready")).StatusCode == HttpStatusCode.OK;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }
}
