using System.Diagnostics;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace LiveNews.Server.Tests.Infrastructure;

/// <summary>
/// Debian's nginx running the shipped <c>deploy/nginx.conf</c> unprivileged on loopback: only what a test
/// must change is changed (the nodes' addresses, the listen address, pid, log and temp paths), so the test
/// proves the file users deploy. Fails with a clear message when nginx is not installed.
/// </summary>
public sealed partial class Nginx : IDisposable
{
    private readonly string _directory;
    private readonly Process _process;

    private Nginx(string directory, Process process, int port, TimeSpan failTimeout)
    {
        FailTimeout = failTimeout;
        _directory = directory;
        _process = process;
        Port = port;
        BaseAddress = new Uri($"http://127.0.0.1:{port}");
    }

    public int Port { get; }

    /// <summary>
    /// The shipped <c>fail_timeout</c>: how long nginx leaves a node that failed out of rotation. A rolling
    /// restart lets that much pass after a node stopped before stopping the next, so one is always in rotation.
    /// </summary>
    public TimeSpan FailTimeout { get; }

    public Uri BaseAddress { get; }

    public string ErrorLog => File.Exists(Path.Combine(_directory, "error.log")) ? File.ReadAllText(Path.Combine(_directory, "error.log")) : "";

    public static async Task<Nginx> StartAsync(IEnumerable<int> nodePorts)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("The nginx tests run Debian's nginx: Linux only.");
        }

        var binary = new[] { "/usr/sbin/nginx", "/usr/bin/nginx" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("nginx is not installed: the deploy tests run the shipped deploy/nginx.conf in Debian's nginx (scripts/test.sh installs it; or apt-get install nginx).");
        var directory = Directory.CreateTempSubdirectory("livenews-nginx-").FullName;
        // Run as root (CI containers), nginx's workers run as nobody: they must reach the temp folders.
        File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        var port = Ports.Free();
        var shipped = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "deploy", "nginx.conf"));
        var config = Derive(shipped, directory, port, nodePorts.ToList());
        var path = Path.Combine(directory, "nginx.conf");
        await File.WriteAllTextAsync(path, config);

        var process = Process.Start(new ProcessStartInfo(binary)
        {
            ArgumentList = { "-p", directory, "-c", path, "-g", "daemon off;" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        var failTimeout = FailTimeoutParameter().Match(shipped) is { Success: true } found
            ? TimeSpan.FromSeconds(int.Parse(found.Groups["seconds"].Value, System.Globalization.CultureInfo.InvariantCulture))
            : TimeSpan.FromSeconds(10); // nginx's default
        var nginx = new Nginx(directory, process, port, failTimeout);
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await Eventually.TrueAsync(async () => process.HasExited || await AcceptsAsync(port), "nginx to listen", seconds: 20);
            if (process.HasExited)
            {
                throw new InvalidOperationException($"nginx refused the configuration derived from deploy/nginx.conf: {await stderr}\n{config}");
            }
        }
        catch
        {
            nginx.Dispose();
            throw;
        }

        return nginx;
    }

    /// <summary>The shipped file with the nodes, listen address and paths of this test; every change must find its directive.</summary>
    internal static string Derive(string shipped, string directory, int port, IReadOnlyList<int> nodePorts)
    {
        string Replace(string text, Regex directive, Func<Match, string> replacement, string what)
        {
            var found = directive.Matches(text);
            return found.Count == 0 ? throw new InvalidOperationException($"deploy/nginx.conf has no {what}: update the test's derivation with the file") : directive.Replace(text, m => replacement(m));
        }

        var config = Replace(shipped, PidDirective(), _ => $"pid {directory}/nginx.pid;", "pid");
        config = Replace(config, ErrorLogDirective(), _ => $"error_log {directory}/error.log warn;", "error_log");
        config = Replace(config, AccessLogDirective(), _ => $"access_log {directory}/access.log;", "access_log");
        config = Replace(config, TempPathDirective(), m => $"{m.Groups["name"].Value}_temp_path {directory}/{m.Groups["name"].Value};", "*_temp_path");
        config = Replace(config, ListenDirective(), _ => $"listen 127.0.0.1:{port};", "listen");

        // The shipped nodes of each upstream become this test's, each with the parameters the upstream ships
        // (max_fails, fail_timeout).
        config = Replace(config, ServerDirectives(), m =>
        {
            var shippedNode = ServerDirective().Match(m.Value);
            return string.Concat(nodePorts.Select(p => $"{shippedNode.Groups["indent"].Value}server 127.0.0.1:{p}{shippedNode.Groups["parameters"].Value};\n"));
        }, "upstream server");
        return config;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // nginx's workers may hold a temp file a moment longer; the folder is in the temp directory.
        }
    }

    private static async Task<bool> AcceptsAsync(int port)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync("127.0.0.1", port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    [GeneratedRegex(@"fail_timeout=(?<seconds>\d+)s")]
    private static partial Regex FailTimeoutParameter();

    [GeneratedRegex(@"^\s*pid\s+[^;]+;", RegexOptions.Multiline)]
    private static partial Regex PidDirective();

    [GeneratedRegex(@"^\s*error_log\s+[^;]+;", RegexOptions.Multiline)]
    private static partial Regex ErrorLogDirective();

    [GeneratedRegex(@"^\s*access_log\s+[^;]+;", RegexOptions.Multiline)]
    private static partial Regex AccessLogDirective();

    [GeneratedRegex(@"^\s*(?<name>client_body|proxy|fastcgi|uwsgi|scgi)_temp_path\s+[^;]+;", RegexOptions.Multiline)]
    private static partial Regex TempPathDirective();

    [GeneratedRegex(@"^\s*listen\s+[^;]+;", RegexOptions.Multiline)]
    private static partial Regex ListenDirective();

    [GeneratedRegex(@"^(?<indent>[ \t]*)server\s+[0-9.:\[\]a-z-]+:\d+(?<parameters>[^;]*);\n", RegexOptions.Multiline)]
    private static partial Regex ServerDirective();

    /// <summary>The node lines of one upstream: consecutive <c>server</c> directives.</summary>
    [GeneratedRegex(@"(?:^[ \t]*server\s+[0-9.:\[\]a-z-]+:\d+[^;]*;\n)+", RegexOptions.Multiline)]
    private static partial Regex ServerDirectives();
}
