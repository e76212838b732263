using System.Diagnostics;

namespace LiveNews.Bench;

/// <summary>
/// Where the bench runs: the measured server side (server + its redis-server) on core 0 and the load
/// client on core 1, with <c>taskset</c>, so a single-threaded peer is not penalised against a
/// multi-threaded one and the load client's cost stays out of the server's. Falls back to unpinned, and says
/// so, where taskset is missing or there is one core.
/// </summary>
internal static class Pinning
{
    public const string ServerCore = "0";
    public const string ClientCore = "1";

    /// <summary>Set on the re-executed load client, so it does not re-execute again.</summary>
    private const string PinnedVariable = "LIVENEWS_BENCH_PINNED";

    /// <summary>Whether servers are started under <c>taskset -c 0</c>; false in the test suite's smoke run.</summary>
    public static bool Enabled { get; private set; }

    /// <summary>One line for the report header.</summary>
    public static string Description { get; private set; } = "unpinned: servers and load client share every core";

    /// <summary>
    /// Called first by the tool: when pinning is possible and this process is not pinned yet, runs this same
    /// command again under <c>taskset -c 1</c> and returns its exit code; otherwise null, and the caller
    /// goes on (pinned or, when impossible, unpinned with <see cref="Description"/> saying why).
    /// </summary>
    public static async Task<int?> ReexecutePinnedAsync(string[] args)
    {
        if (Environment.GetEnvironmentVariable(PinnedVariable) == "1")
        {
            Enabled = true;
            Description = $"pinned: server and its redis-server on core {ServerCore}, load client on core {ClientCore} (taskset)";
            return null;
        }

        var taskset = FindOnPath("taskset");
        if (taskset is null)
        {
            Description = "UNPINNED: taskset not found, servers and load client share every core";
            return null;
        }

        if (Environment.ProcessorCount < 2)
        {
            Description = "UNPINNED: one core, servers and load client share it";
            return null;
        }

        var start = new ProcessStartInfo(taskset) { UseShellExecute = false };
        foreach (var arg in (string[])["-c", ClientCore, .. SelfCommand(), .. args])
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment[PinnedVariable] = "1";
        using var child = Process.Start(start)!;
        await child.WaitForExitAsync();
        return child.ExitCode;
    }

    /// <summary>A server-side command, under <c>taskset -c 0</c> when pinned (taskset execs, so the pid is the server's).</summary>
    public static (string File, IEnumerable<string> Args) Server(string file, IEnumerable<string> args) =>
        Enabled ? ("taskset", ["-c", ServerCore, file, .. args]) : (file, args);

    /// <summary>How to start this tool again: its apphost, or dotnet with its dll.</summary>
    private static string[] SelfCommand()
    {
        var host = Environment.ProcessPath!;
        return Path.GetFileNameWithoutExtension(host) == "dotnet" ? [host, typeof(Pinning).Assembly.Location] : [host];
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
}
