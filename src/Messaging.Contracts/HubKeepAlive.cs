namespace Messaging.Contracts;

/// <summary>
/// The keep-alive agreement between the server and the SDK on a hub connection. An idle connection carries nothing but
/// pings: each side pings when it has sent nothing for its interval, and closes the connection when it has received
/// nothing for its timeout. A timeout shorter than about twice the other side's interval drops idle connections that are
/// perfectly well, so each side's timeout is set for the longest interval the other side may use, and an interval grows
/// only once every peer of the other side has the longer timeout:
/// <list type="number">
/// <item>SDKs and servers before 2026-11-28 ping every 15 s and time out after 30 s (SignalR's defaults).</item>
/// <item>From 2026-11-28 both time out after <see cref="ServerTimeout"/> / <see cref="ClientTimeout"/> (60 s) and still
/// ping every 15 s, so every mix of old and new works. The server's interval is configurable up to
/// <see cref="MaxServerInterval"/> (<c>Messaging:Connections:HubKeepAliveInterval</c>); raising it past 15 s drops the
/// idle connections of older SDKs every 30 s, so only once none connects.</item>
/// <item>The SDK's <see cref="ClientInterval"/> may grow to 30 s once no server older than 2026-11-28 runs.</item>
/// </list>
/// </summary>
public static class HubKeepAlive
{
    /// <summary>How often the SDK pings an otherwise idle connection (SignalR client's <c>KeepAliveInterval</c>).</summary>
    public static readonly TimeSpan ClientInterval = TimeSpan.FromSeconds(15);

    /// <summary>How long the SDK waits without hearing from the server before it drops the connection and reconnects
    /// (SignalR client's <c>ServerTimeout</c>).</summary>
    public static readonly TimeSpan ServerTimeout = TimeSpan.FromSeconds(60);

    /// <summary>How long the server waits without hearing from a device before it closes the connection (SignalR's
    /// <c>ClientTimeoutInterval</c>): twice the longest interval an SDK may ping at (30 s, step 3 above).</summary>
    public static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(60);

    /// <summary>The server's default ping interval: what SDKs before 2026-11-28 (30 s timeout) need.</summary>
    public static readonly TimeSpan ServerInterval = TimeSpan.FromSeconds(15);

    /// <summary>The longest ping interval the server may be configured with: half of <see cref="ServerTimeout"/>.</summary>
    public static readonly TimeSpan MaxServerInterval = ServerTimeout / 2;
}
