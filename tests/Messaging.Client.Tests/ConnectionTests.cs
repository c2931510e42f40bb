using Messaging.Client.Tests.Infrastructure;

namespace Messaging.Client.Tests;

/// <summary>Issue 15: how the SDK reaches the hub.</summary>
public sealed class ConnectionTests
{
    /// <summary>
    /// SignalR's client negotiates by default: a POST to <c>/hubs/messaging/negotiate</c> on one HTTP connection, then
    /// the WebSocket on a second, the first staying open beside it until the server's keep-alive timeout (two descriptors
    /// per connecting device, and two requests a proxy must send to the same instance). The SDK skips it. The server logs
    /// each endpoint it runs (routing at Information in this test), so a negotiate request would show.
    /// </summary>
    [Fact]
    public async Task TheSdk_ConnectsWithOneWebSocket_WithoutANegotiateRequest_AndItsCallsWork()
    {
        await using var platform = await Platform.StartAsync(serverSettings: ["--Logging:LogLevel:Microsoft.AspNetCore.Routing.EndpointMiddleware", "Information"]);
        var (_, admin) = await platform.CreateOrganisationAsync("Ville de Liège");
        var a = await platform.CreateMemberAsync(admin, "Anne");
        var b = await platform.CreateMemberAsync(admin, "Benoît");
        var a1 = await platform.EnrolDeviceAsync(admin, a);
        var conversation = await a1.CreateConversationAsync([b]);

        var logs = platform.Server.Logs;
        Assert.NotEqual(Guid.Empty, conversation.ConversationId);
        Assert.Contains("Executing endpoint '/hubs/messaging'", logs, StringComparison.Ordinal);
        Assert.DoesNotContain("negotiate", logs, StringComparison.Ordinal);
    }
}
