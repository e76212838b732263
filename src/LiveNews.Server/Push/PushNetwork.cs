using System.Net;
using System.Net.Sockets;

namespace LiveNews.Server.Push;

/// <summary>
/// Where pushes may go. Endpoints come from anonymous browsers, so the server connects with them to the public
/// internet only, never into its own network: an endpoint naming 10.0.0.5, or a host that resolves there, would
/// make every breaking alert a request to it. Checked when subscribing (an address in the URL) and on every
/// connect, after DNS (a name that resolves elsewhere later is caught too).
/// </summary>
internal static class PushNetwork
{
    /// <summary>Loopback is allowed only where the push service is on this machine: development and the tests' fake.</summary>
    public static bool AllowsLoopback(IHostEnvironment environment) => environment.IsDevelopment() || environment.IsEnvironment("Testing");

    public static bool MayConnect(IPAddress address, bool allowLoopback) => IsPublic(address) || (allowLoopback && IPAddress.IsLoopback(address));

    /// <summary>A unicast address of the internet: not loopback, private, shared (CGNAT), link-local, multicast or reserved.</summary>
    public static bool IsPublic(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return !(b[0] is 0 or 10 or 127 or >= 224
                || (b[0] == 100 && b[1] is >= 64 and < 128)
                || (b[0] == 169 && b[1] == 254)
                || (b[0] == 172 && b[1] is >= 16 and < 32)
                || (b[0] == 192 && b[1] == 0 && b[2] == 0)
                || (b[0] == 192 && b[1] == 168)
                || (b[0] == 198 && b[1] is 18 or 19));
        }

        // Global unicast (2000::/3) only, less the prefixes that carry an IPv4 address (6to4 2002::/16, Teredo
        // 2001::/32) and documentation (2001:db8::/32); NAT64 (64:ff9b::/96), IPv4-compatible, unique-local,
        // link-local, loopback and multicast all lie outside 2000::/3.
        var bytes = address.GetAddressBytes();
        return (bytes[0] & 0xE0) == 0x20
            && !(bytes[0] == 0x20 && bytes[1] == 0x02)
            && !(bytes[0] == 0x20 && bytes[1] == 0x01 && bytes[2] == 0x00 && bytes[3] == 0x00)
            && !(bytes[0] == 0x20 && bytes[1] == 0x01 && bytes[2] == 0x0D && bytes[3] == 0xB8);
    }

    /// <summary>The push client's connection: to the endpoint host's first address it may connect to.</summary>
    public static SocketsHttpHandler Handler(bool allowLoopback) => new()
    {
        // Directly: through a proxy the callback would see the proxy's address, not the endpoint's.
        UseProxy = false,
        ConnectCallback = async (context, cancellationToken) =>
        {
            var host = context.DnsEndPoint.Host;
            var addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, cancellationToken);
            var allowed = addresses.Where(a => MayConnect(a, allowLoopback)).ToArray();
            if (allowed.Length == 0)
            {
                throw new NotOnTheInternetException(host);
            }

            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    };
}

/// <summary>A push endpoint's host resolves to no address on the internet: that push fails and is not retried.</summary>
internal sealed class NotOnTheInternetException(string host) : Exception($"The push endpoint's host {host} has no address on the internet.");
