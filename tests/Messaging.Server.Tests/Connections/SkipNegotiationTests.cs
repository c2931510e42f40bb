using Messaging.Contracts;
using Messaging.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace Messaging.Server.Tests;

/// <summary>
/// Issue 15: clients connect over WebSockets at once, without SignalR's negotiate request (one connection per device,
/// no stickiness behind a proxy). The bearer token then rides in the upgrade request — as the <c>access_token</c> query
/// parameter for clients that cannot set headers (browsers) — and must never reach a log line, even when an operator
/// turns every category up to Trace.
/// </summary>
public sealed class SkipNegotiationTests
{
    [Fact]
    public async Task AClientThatSkipsNegotiation_ConnectsWithTheTokenInTheQuery_AndCalls_AndNoLogLineCarriesTheToken()
    {
        var (server, operatorCode) = await LimitedServerProcess.StartAsync(4096,
            "--Logging:LogLevel:Default", "Trace",
            "--Logging:LogLevel:Microsoft", "Trace",
            "--Logging:LogLevel:Microsoft.AspNetCore", "Trace",
            "--Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics", "Trace");
        await using var _ = server;
        var op = await server.EnrolAsync(operatorCode, new TestMember(Guid.Empty, Guid.Empty, Roles.PlatformOperator));
        var token = op.Token!;

        await using var hub = new HubConnectionBuilder()
            .WithUrl(new Uri(server.Url, HubRoutes.Messaging + "?access_token=" + Uri.EscapeDataString(token)), options =>
            {
                options.Transports = HttpTransportType.WebSockets;
                options.SkipNegotiation = true;
            })
            .Build();
        await hub.StartAsync();
        var me = await hub.InvokeAsync<WhoAmIResult>(nameof(IMessagingHub.WhoAmI));
        await hub.StopAsync();
        await Task.Delay(500);

        Assert.Equal(op.Id, me.DeviceId);
        var logs = server.Logs;
        Assert.Contains("/hubs/messaging", logs, StringComparison.Ordinal); // Trace did reach the log: the check below means something
        Assert.DoesNotContain(token, logs, StringComparison.Ordinal);
        Assert.DoesNotContain(Uri.EscapeDataString(token), logs, StringComparison.Ordinal);
        Assert.DoesNotContain("access_token=", logs, StringComparison.Ordinal);
        Assert.DoesNotContain("negotiate", logs, StringComparison.Ordinal);
    }
}
