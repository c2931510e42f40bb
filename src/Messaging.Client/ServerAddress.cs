namespace Messaging.Client;

/// <summary>
/// Which server addresses the SDK talks to. Every call to the server carries something a network attacker must not read:
/// the one-time enrolment code (whoever reads it enrols their own device first), the device's bearer tokens, and the key
/// log the device trusts on first use. So the address must be <c>https</c>; plain <c>http</c> is accepted only to this
/// machine's loopback interface (<c>127.0.0.0/8</c>, <c>[::1]</c>, <c>localhost</c>), where nothing crosses a network:
/// a server on the same machine, and the test suites. Checked where an address enters the SDK (<see cref="ServerApi"/>,
/// through which enrolment and every connection of an enrolled device go), before anything is sent or stored.
/// </summary>
public static class ServerAddress
{
    /// <summary>Refuses an address that would send the device's secrets in clear.</summary>
    /// <param name="server">The server's base address.</param>
    /// <exception cref="ArgumentNullException"><paramref name="server"/> is null.</exception>
    /// <exception cref="InsecureServerAddressException">Not an absolute <c>https</c> address, nor <c>http</c> to a loopback address.</exception>
    public static void EnsureSecure(Uri server)
    {
        ArgumentNullException.ThrowIfNull(server);
        if (!IsSecure(server))
        {
            throw new InsecureServerAddressException(server);
        }
    }

    /// <summary>Whether <paramref name="server"/> passes <see cref="EnsureSecure"/>.</summary>
    /// <param name="server">The server's base address.</param>
    /// <returns>True for an absolute <c>https</c> address, or <c>http</c> to a loopback address.</returns>
    public static bool IsSecure(Uri server)
    {
        ArgumentNullException.ThrowIfNull(server);
        return server.IsAbsoluteUri
            && (server.Scheme == Uri.UriSchemeHttps || (server.Scheme == Uri.UriSchemeHttp && server.IsLoopback));
    }
}

/// <summary>The server's address is not <c>https</c> (plain <c>http</c> is accepted only to this machine's loopback
/// address): nothing was sent and nothing was stored. Use the <c>https://</c> address your administrator gave.</summary>
public sealed class InsecureServerAddressException(Uri server)
    : MessagingClientException(server.IsAbsoluteUri
        ? $"The server address {server.Scheme}://{server.Authority} is refused: use https (plain http is accepted only to this machine, at 127.0.0.1, [::1] or localhost). Nothing was sent."
        : "The server address is not an absolute https:// address. Nothing was sent.")
{
    /// <summary>The address that was refused.</summary>
    public Uri Server { get; } = server;
}
