using Messaging.Client.Connection;
using Messaging.Contracts;
using Microsoft.AspNetCore.SignalR.Client;

namespace Messaging.Client.Tests;

/// <summary>
/// Issue 15 (what an idle connection costs): the SDK's side of the keep-alive agreement (<see cref="HubKeepAlive"/>).
/// It waits 60 s for the server, not SignalR's 30 s, so a server configured to ping every 30 s (half the pings) keeps its
/// idle devices connected; and it still pings every 15 s, which servers before 2026-11-28 (30 s timeout) need.
/// </summary>
public sealed class HubKeepAliveTests
{
    [Fact]
    public async Task AnSdkConnection_WaitsTwiceTheServersLongestPingInterval_AndPingsWithinHalfTheServersTimeout()
    {
        await using var connection = HubLink.KeepAlive(new HubConnectionBuilder().WithUrl(new Uri("http://127.0.0.1:9/hubs/messaging")).Build());

        Assert.Equal(TimeSpan.FromSeconds(60), connection.ServerTimeout);
        Assert.True(connection.ServerTimeout >= 2 * HubKeepAlive.MaxServerInterval);
        Assert.Equal(TimeSpan.FromSeconds(15), connection.KeepAliveInterval);
        Assert.True(connection.KeepAliveInterval * 2 <= TimeSpan.FromSeconds(30), "servers before 2026-11-28 drop a device after 30 s of silence");
    }
}
