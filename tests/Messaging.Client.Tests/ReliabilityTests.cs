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
}
