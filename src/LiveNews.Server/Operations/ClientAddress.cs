using System.Net;
using System.Net.Sockets;

namespace LiveNews.Server.Operations;

/// <summary>
/// The key limits count a client under: its address as the configured proxies report it
/// (<c>RateLimits:KnownProxies</c>, <c>RateLimits:KnownNetworks</c>), IPv6 by /64 — one subscriber's whole
/// network, or rotating addresses within it would each get a fresh bucket.
/// </summary>
internal static class ClientAddress
{
    public static string Of(HttpContext context)
    {
        var address = context.Connection.RemoteIpAddress;
        if (address is null)
        {
            return "unknown";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes) + "/64";
    }
}
