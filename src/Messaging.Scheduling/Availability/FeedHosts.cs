using System.Net;
using System.Net.Sockets;

namespace Messaging.Scheduling.Availability;

/// <summary>
/// Which addresses a calendar feed may be fetched from: only public ones. A feed URL is chosen by a worker and fetched
/// by the server, so without this rule a slot search would be an HTTPS probe of the server's own network (review
/// 2026-11-29, sched finding 14). The rule is applied when the connection is made, to the address actually connected
/// to (<see cref="ConnectAsync"/>), so a name that resolves to a public address when the URL is saved and to a private
/// one when it is fetched (DNS rebinding) gains nothing.
/// </summary>
public static class FeedHosts
{
    /// <summary>
    /// True for an address on the public internet; false for the unspecified address, loopback, private networks
    /// (RFC 1918 10/8, 172.16/12, 192.168/16; IPv6 unique local fc00::/7 and the old site-local fec0::/10), link-local
    /// (169.254/16, fe80::/10), shared address space (CGNAT, 100.64/10), "this network" (0/8), the IETF protocol block
    /// (192.0.0/24), benchmarking (198.18/15), multicast (224/4, ff00::/8), reserved and broadcast (240/4), and IPv6
    /// forms carrying an IPv4 address (IPv4-mapped ::ffff:0:0/96, IPv4-compatible ::/96, NAT64 64:ff9b::/96), which are
    /// judged by the IPv4 address they carry.
    /// </summary>
    public static bool IsPublic(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            return IsPublic(address.MapToIPv4());
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            Span<byte> b = stackalloc byte[4];
            address.TryWriteBytes(b, out _);
            return !(b[0] is 0 or 10 or 127 or >= 224
                || (b[0] == 100 && b[1] is >= 64 and <= 127)
                || (b[0] == 169 && b[1] == 254)
                || (b[0] == 172 && b[1] is >= 16 and <= 31)
                || (b[0] == 192 && b[1] == 168)
                || (b[0] == 192 && b[1] == 0 && b[2] == 0)
                || (b[0] == 198 && b[1] is 18 or 19));
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return false;
        }

        Span<byte> v6 = stackalloc byte[16];
        address.TryWriteBytes(v6, out _);
        if (v6[..12].IndexOfAnyExcept((byte)0) < 0)
        {
            // ::, ::1 and the deprecated IPv4-compatible ::a.b.c.d: never a public destination.
            return false;
        }

        if (v6[..12].SequenceEqual(Nat64Prefix))
        {
            return IsPublic(new IPAddress(v6[12..]));
        }

        return !(address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6UniqueLocal || address.IsIPv6Multicast);
    }

    private static ReadOnlySpan<byte> Nat64Prefix => [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0];

    /// <summary>
    /// Connects to a feed host for a <see cref="SocketsHttpHandler"/> (its <see cref="SocketsHttpHandler.ConnectCallback"/>):
    /// resolves the name once, keeps only public addresses (all of them when <paramref name="allowPrivate"/>), connects
    /// to one of them, and checks the address connected to again.
    /// </summary>
    /// <exception cref="FeedHostNotAllowedException">The host has no public address.</exception>
    /// <exception cref="SocketException">The name does not resolve, or no address accepted the connection.</exception>
    public static async ValueTask<Stream> ConnectAsync(DnsEndPoint endpoint, bool allowPrivate, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        var host = endpoint.Host.StartsWith('[') && endpoint.Host.EndsWith(']') ? endpoint.Host[1..^1] : endpoint.Host;
        var resolved = IPAddress.TryParse(host, out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
        var allowed = allowPrivate ? resolved : [.. resolved.Where(IsPublic)];
        if (allowed.Length == 0)
        {
            throw new FeedHostNotAllowedException();
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(allowed, endpoint.Port, cancellationToken).ConfigureAwait(false);
            if (!allowPrivate && (socket.RemoteEndPoint is not IPEndPoint remote || !IsPublic(remote.Address)))
            {
                throw new FeedHostNotAllowedException();
            }

            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}

/// <summary>A calendar feed's host resolves to no public address (loopback, a private network, link-local …), so the
/// server does not connect to it. The message names no address.</summary>
public sealed class FeedHostNotAllowedException : IOException
{
    public FeedHostNotAllowedException()
        : base("The calendar feed's host is not a public internet address.")
    {
    }
}
