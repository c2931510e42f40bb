using System.Collections.Concurrent;
using Messaging.Client.Tests.Infrastructure;

namespace Messaging.Client.Tests;

public sealed class ReliabilityTests
{
    /// <summary>
    /// The server process is killed with SIGKILL while two devices are sending, then restarted on the same data.
    /// Every envelope whose send the server acknowledged is delivered, and none twice to the application. Sends in
    /// flight at the kill are retried with the same envelope id (idempotent on the server) until acknowledged.
    /// </summary>
    [Fact]
    public async Task ServerKilledWhileSending_EveryAcknowledgedEnvelope_IsDeliveredExactlyOnce()
    {
        await using var platform = await Platform.StartAsync();
        var (_, adminX) = await platform.CreateOrganisationAsync("Ville de Liège");
        var (_, adminY) = await platform.CreateOrganisationAsync("Ville de Verviers (SAFER)");
        var a = await platform.CreateMemberAsync(adminX, "Anne");
        var b = await platform.CreateMemberAsync(adminY, "Benoît");
        var a1 = await platform.EnrolDeviceAsync(adminX, a);
        var b1 = await platform.EnrolDeviceAsync(adminY, b);
        var conversation = (await a1.CreateConversationAsync([b])).ConversationId;

        const int PerSender = 40;
        var acknowledged = new ConcurrentDictionary<Guid, MessagingClient>();
        var killed = new TaskCompletionSource();

        async Task SendAllAsync(MessagingClient sender)
        {
            for (var i = 0; i < PerSender; i++)
            {
                var id = Guid.NewGuid();
                var attempts = 0;
                while (true)
                {
                    try
                    {
                        await sender.SendAsync(conversation, Messaging.Contracts.EnvelopeKind.Chat, System.Text.Encoding.UTF8.GetBytes($"{sender.DeviceId} #{i}"), envelopeId: id);
                        acknowledged[id] = sender;
                        break;
                    }
                    catch (Exception ex) when (ex is not Xunit.Sdk.XunitException)
                    {
                        Assert.True(++attempts < 300, $"send kept failing: {ex.GetType().Name}");
                        await Task.Delay(100);
                    }
                }

                if (acknowledged.Count == PerSender / 2)
                {
                    killed.TrySetResult();
                }
            }
        }

        var senders = Task.WhenAll(SendAllAsync(a1), SendAllAsync(b1));
        await killed.Task.WaitAsync(TimeSpan.FromSeconds(60));
        await platform.Server.KillAsync();
        await Task.Delay(500);
        await platform.Server.StartAsync();
        await senders.WaitAsync(TimeSpan.FromSeconds(120));

        Assert.Equal(2 * PerSender, acknowledged.Count);
        var fromA = acknowledged.Where(e => e.Value == a1).Select(e => e.Key).ToHashSet();
        var fromB = acknowledged.Where(e => e.Value == b1).Select(e => e.Key).ToHashSet();
        var inboxB = await b1.InboxWhenAsync(inbox => fromA.IsSubsetOf(inbox.Select(m => m.EnvelopeId)), seconds: 60);
        var inboxA = await a1.InboxWhenAsync(inbox => fromB.IsSubsetOf(inbox.Select(m => m.EnvelopeId)), seconds: 60);
        Assert.Equal(inboxB.Count, inboxB.Select(m => m.EnvelopeId).Distinct().Count());
        Assert.Equal(inboxA.Count, inboxA.Select(m => m.EnvelopeId).Distinct().Count());
        Assert.Equal(PerSender, inboxB.Count);
        Assert.Equal(PerSender, inboxA.Count);
    }

    /// <summary>
    /// The server is stopped gracefully (SIGTERM) while a device sends: the drain refuses new calls with
    /// <c>server.stopping</c>, then closes the connections. The SDK reconnects (to the same URL: here the server started
    /// again on it; behind a proxy, the other instance) and sends each refused envelope once more with the same id, so the
    /// application never sees the refusal, and the recipient gets every message once. A call that is not safe to repeat
    /// still surfaces the refusal (see <c>HubLink.RetrySafeCalls</c>).
    /// </summary>
    [Fact]
    public async Task SendsRefusedWhileTheServerStops_AreSentAgainAfterTheReconnection_WithTheSameId_AndTheApplicationSeesNoError()
    {
        await using var platform = await Platform.StartAsync(serverSettings: ["--Messaging:Shutdown:CloseDelay", "00:00:01"]);
        var (_, admin) = await platform.CreateOrganisationAsync("Ville de Liège");
        var a = await platform.CreateMemberAsync(admin, "Anne");
        var b = await platform.CreateMemberAsync(admin, "Benoît");
        var patient = Platform.ClientOptions with { StoppingRetryWait = TimeSpan.FromMinutes(2) };
        var a1 = await platform.EnrolDeviceAsync(admin, a, options: patient);
        var b1 = await platform.EnrolDeviceAsync(admin, b, options: patient);
        var conversation = (await a1.CreateConversationAsync([b])).ConversationId;

        const int Count = 40;
        var acknowledged = new ConcurrentBag<Guid>();
        var stopNow = new TaskCompletionSource();
        async Task SendAllAsync()
        {
            for (var i = 0; i < Count; i++)
            {
                // No catch: a refusal reaching the application fails the test.
                var receipt = await a1.SendTextAsync(conversation, $"#{i}");
                acknowledged.Add(receipt.EnvelopeId);
                if (i == 10)
                {
                    stopNow.TrySetResult();
                }

                await Task.Delay(20);
            }
        }

        var sending = SendAllAsync();
        await stopNow.Task.WaitAsync(TimeSpan.FromSeconds(60));
        await platform.Server.StopGracefullyAsync();
        await platform.Server.StartAsync();
        await sending.WaitAsync(TimeSpan.FromSeconds(180));

        Assert.Contains("refused: server.stopping", platform.Server.Logs, StringComparison.Ordinal); // the stop met a send
        Assert.Equal(Count, acknowledged.Distinct().Count());
        var ids = acknowledged.ToHashSet();
        var inbox = await b1.InboxWhenAsync(messages => ids.IsSubsetOf(messages.Select(m => m.EnvelopeId)), seconds: 60);
        Assert.Equal(Count, inbox.Count);
        Assert.Equal(Count, inbox.Select(m => m.EnvelopeId).Distinct().Count());
    }
}
