using System.Collections.Concurrent;
using Messaging.Contracts;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace Messaging.Server.Tests.Hosting;

/// <summary>A stop (SIGTERM, <c>StopAsync</c>) during traffic: every send that had started is either acknowledged and
/// stored, or refused with <c>server.stopping</c> and not stored; none fails with a bare connection error; then the server
/// closes the connections, which is what makes clients reconnect to another instance.</summary>
public abstract class GracefulShutdownTests(StorageProvider storage)
{
    private const int Senders = 3;

    [Fact]
    public async Task SendsInFlightDuringAStop_AreAcknowledgedAndStored_OrRefusedWithServerStopping_ThenConnectionsClose()
    {
        await using var app = new MessagingApp(storage);
        var serviceA = await app.CreateOrganisationAsync();
        var serviceB = await app.CreateOrganisationAsync();
        var workerA = await app.CreateMemberAsync(serviceA);
        var workerB = await app.CreateMemberAsync(serviceB);
        await app.EnrolDeviceAsync(workerB); // offline recipient: everything stays pending, to be counted afterwards
        var senders = new List<ConnectedDevice>();
        for (var i = 0; i < Senders; i++)
        {
            senders.Add(await app.ConnectAsync(await app.EnrolDeviceAsync(workerA)));
        }

        var conversation = await MessagingApp.CreateConversationAsync(senders[0], false, workerB);
        var accepted = new ConcurrentBag<Guid>();
        var refused = new ConcurrentBag<Guid>();
        var failed = new ConcurrentBag<string>();
        var enoughSent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var loops = senders.Select(async sender =>
        {
            var template = await MessagingApp.BuildSendAsync(sender, conversation.ConversationId);
            while (true)
            {
                var request = template with { EnvelopeId = Guid.NewGuid() };
                try
                {
                    Assert.Equal(SendOutcome.Accepted, (await sender.SendAsync(request)).Outcome);
                    accepted.Add(request.EnvelopeId);
                    if (accepted.Count >= 15)
                    {
                        enoughSent.TrySetResult();
                    }
                }
                catch (HubException ex) when (ErrorCodes.TryParseHubMessage(ex.Message, out var code) && code == ErrorCodes.ServerStopping)
                {
                    refused.Add(request.EnvelopeId);
                    return;
                }
                catch (Exception ex)
                {
                    failed.Add($"{ex.GetType().Name}: {ex.Message}");
                    return;
                }
            }
        }).ToList();

        await enoughSent.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await app.StopHostAsync();
        await Task.WhenAll(loops).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Empty(failed);
        Assert.Equal(Senders, refused.Count); // every sender was still sending when the drain began
        var stored = (await app.QueryRowsAsync("SELECT envelope_id FROM envelopes;")).Select(r => Guid.Parse(r[0]!)).ToHashSet();
        Assert.Subset(stored, accepted.ToHashSet());
        Assert.Empty(stored.Intersect(refused));
        Assert.Equal(accepted.Count, stored.Count);

        foreach (var sender in senders)
        {
            await sender.Closed.WaitAsync(TimeSpan.FromSeconds(10));
            await sender.DisposeAsync();
        }
    }

    [Fact]
    public async Task AfterTheDrainBegan_ANewConnectionIsClosedAtOnce()
    {
        await using var app = new MessagingApp(storage, new Dictionary<string, string?> { ["Messaging:Shutdown:CloseDelay"] = "00:00:05" });
        var service = await app.CreateOrganisationAsync();
        var worker = await app.CreateMemberAsync(service);
        var device = await app.EnrolDeviceAsync(worker);
        await using var first = await app.ConnectAsync(device);

        var stopping = app.StopHostAsync(); // the open connection holds the close for CloseDelay
        await Refusal.AssertHubAsync(ErrorCodes.ServerStopping,
            () => first.Hub.InvokeAsync<IReadOnlyList<ConversationSummary>>(nameof(IMessagingHub.ListConversations)));
        await Assert.ThrowsAnyAsync<Exception>(() => app.ConnectAsync(device));
        await stopping.WaitAsync(TimeSpan.FromSeconds(30));
        await first.Closed.WaitAsync(TimeSpan.FromSeconds(10));
    }

    public sealed class OnSqlite() : GracefulShutdownTests(StorageProvider.Sqlite);

    public sealed class OnPostgres() : GracefulShutdownTests(StorageProvider.Postgres);
}
