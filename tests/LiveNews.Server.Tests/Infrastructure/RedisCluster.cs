using System.Diagnostics;
using System.Globalization;
using StackExchange.Redis;

namespace LiveNews.Server.Tests.Infrastructure;

/// <summary>
/// A three-master Redis Cluster on loopback (<c>redis-server --cluster-enabled yes</c> joined with
/// <c>redis-cli --cluster create</c>), so the bus runs where topics land on different shards.
/// </summary>
public sealed class RedisClusterFixture : IStoreFixture, IAsyncLifetime
{
    private readonly List<Process> _processes = [];
    private readonly string _directory = Directory.CreateTempSubdirectory("livenews-cluster-").FullName;
    private int[] _ports = [];

    public string Configuration => string.Join(",", _ports.Select(p => $"127.0.0.1:{p}"));

    public async Task InitializeAsync()
    {
        _ports = [Ports.Free(), Ports.Free(), Ports.Free()];
        foreach (var port in _ports)
        {
            var dir = Directory.CreateDirectory(Path.Combine(_directory, port.ToString(CultureInfo.InvariantCulture))).FullName;
            var server = Start("redis-server", "--port", $"{port}", "--bind", "127.0.0.1", "--dir", dir, "--cluster-enabled", "yes",
                "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000", "--appendonly", "no", "--save", "", "--loglevel", "warning");
            server.OutputDataReceived += (_, _) => { };
            server.ErrorDataReceived += (_, _) => { };
            server.BeginOutputReadLine();
            server.BeginErrorReadLine();
            _processes.Add(server);
        }

        for (var i = 0; i < _ports.Length; i++)
        {
            var server = _processes[i];
            await RedisServer.WaitForPingAsync($"127.0.0.1:{_ports[i]}", () => !server.HasExited);
        }

        using var create = Start("redis-cli", ["--cluster", "create", .. _ports.Select(p => $"127.0.0.1:{p}"), "--cluster-replicas", "0", "--cluster-yes"]);
        var output = create.StandardOutput.ReadToEndAsync();
        var errors = create.StandardError.ReadToEndAsync();
        await create.WaitForExitAsync();
        if (create.ExitCode != 0)
        {
            throw new InvalidOperationException($"redis-cli --cluster create failed ({create.ExitCode}): {await errors} {await output}");
        }

        // The cluster is usable once every node agrees that all 16384 slots are served: asking the first one
        // only, a test's first command could still meet CLUSTERDOWN on another (seen once in a full run).
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            using var probe = await ConnectionMultiplexer.ConnectAsync(Configuration + ",allowAdmin=true");
            string? info = null;
            var ready = true;
            foreach (var port in _ports)
            {
                info = (string?)await probe.GetServer($"127.0.0.1:{port}").ExecuteAsync("CLUSTER", "INFO");
                ready &= info?.Contains("cluster_state:ok", StringComparison.Ordinal) == true;
            }

            if (ready)
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The cluster did not become ready: {info}");
            }

            await Task.Delay(100);
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var process in _processes)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }

            process.Dispose();
        }

        Directory.Delete(_directory, recursive: true);
    }

    private static Process Start(string file, params string[] args)
    {
        var path = RedisServer.FindBinary(file)
            ?? throw new InvalidOperationException($"{file} was not found. Install redis-server (it brings redis-cli) or run the README's test command, which does.");
        var start = new ProcessStartInfo(path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return Process.Start(start)!;
    }
}
