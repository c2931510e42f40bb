using Messaging.Contracts;
using Messaging.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace Messaging.Server.Tests;

/// <summary>
/// The drain in a real process stopped the way systemd and orchestrators stop it (SIGTERM). The console lifetime fired
/// <c>ApplicationStopping</c> at once, on which SignalR closes every connection: the drain found nothing to drain and
/// calls in flight broke with the connection. Now the drain runs first: a client calling in a loop sees its calls
/// refused with the typed <c>server.stopping</c> before its connection closes, and the process exits cleanly.
/// </summary>
public sealed class SigtermDrainTests
{
    [Fact]
    public async Task OnSigterm_CallsAreRefusedWithServerStopping_BeforeTheConnectionCloses_AndTheProcessExits()
    {
        var (server, operatorCode) = await LimitedServerProcess.StartAsync(4096, "--Messaging:Shutdown:CloseDelay", "00:00:01");
        await using var _ = server;
        var op = await server.EnrolAsync(operatorCode, new TestMember(Guid.Empty, Guid.Empty, Roles.PlatformOperator));
        await using var hub = server.Hub(op.Token!);
        await hub.StartAsync();
        var closed = new TaskCompletionSource();
        hub.Closed += _ =>
        {
            closed.TrySetResult();
            return Task.CompletedTask;
        };

        var calls = 0;
        var firstFailure = new TaskCompletionSource<Exception>();
        async Task CallUntilRefusedAsync()
        {
            while (true)
            {
                try
                {
                    await hub.InvokeAsync<WhoAmIResult>(nameof(IMessagingHub.WhoAmI));
                    calls++;
                }
                catch (Exception ex)
                {
                    firstFailure.TrySetResult(ex);
                    return;
                }
            }
        }

        var calling = CallUntilRefusedAsync();
        while (calls < 20)
        {
            await Task.Delay(10);
        }

        var stopping = server.StopAsync(TimeSpan.FromSeconds(60));
        var failure = await firstFailure.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await calling;
        await stopping;

        var refusal = Assert.IsType<HubException>(failure);
        Assert.True(ErrorCodes.TryParseHubMessage(refusal.Message, out var code), refusal.Message);
        Assert.Equal(ErrorCodes.ServerStopping, code);
        await closed.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(server.HasExited);
        Assert.Contains("SIGTERM received", server.Logs, StringComparison.Ordinal);
    }
}
