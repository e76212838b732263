using System.Net;
using System.Net.Sockets;

namespace LiveNews.Server.Tests.Infrastructure;

/// <summary>Loopback ports for what tests start (redis-server, server processes, nginx).</summary>
public static class Ports
{
    /// <summary>
    /// A free port below the kernel's ephemeral range, for a node that restarts on the same port: a port the
    /// kernel hands out itself can be taken meanwhile by an outgoing connection (a proxy's connection to the
    /// other node), and the restarted node could not bind it.
    /// </summary>
    public static int Stable()
    {
        var lowest = 32768;
        try
        {
            lowest = int.Parse(File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split('\t', ' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or FormatException or UnauthorizedAccessException)
        {
        }

        for (var attempt = 0; attempt < 200; attempt++)
        {
            var port = Random.Shared.Next(Math.Max(10_000, lowest - 12_000), lowest);
            try
            {
                using var probe = new TcpListener(IPAddress.Loopback, port);
                probe.Start();
                return port;
            }
            catch (System.Net.Sockets.SocketException)
            {
            }
        }

        return Free();
    }

    public static int Free()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
