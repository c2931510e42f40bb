using Messaging.Contracts;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Messaging.Server.Tests;

/// <summary>
/// Sending and acknowledging read the calling device's status in their own unit of work, not through the per-call cache:
/// a device revoked where this server did not hear of it (another instance while Redis is down, a host command) is refused
/// at its very next send or acknowledgement, which changes nothing, and its connection is closed. The test clock never
/// moves, so the per-call cache's "active" answer would still hold.
/// </summary>
public abstract class RevokedDeviceTests(StorageProvider storage)
{
    /// <summary>A sender and a receiver of two services, connected, in one conversation.</summary>
    private sealed class Pair(MessagingApp app, ConnectedDevice sender, ConnectedDevice receiver, Guid conversationId) : IAsyncDisposable
    {
        public MessagingApp App => app;

        public ConnectedDevice Sender => sender;

        public ConnectedDevice Receiver => receiver;

        public Guid ConversationId => conversationId;

        public async ValueTask DisposeAsync()
        {
            await sender.DisposeAsync();
            await receiver.DisposeAsync();
            await app.DisposeAsync();
        }
    }

    private async Task<Pair> PairAsync()
    {
        var app = new MessagingApp(storage);
        var serviceA = await app.CreateOrganisationAsync();
        var serviceB = await app.CreateOrganisationAsync();
        var receiver = await app.CreateMemberAsync(serviceB);
        var sender = await app.ConnectAsync(await app.EnrolDeviceAsync(await app.CreateMemberAsync(serviceA)));
        var connected = await app.ConnectAsync(await app.EnrolDeviceAsync(receiver));
        var conversation = await MessagingApp.CreateConversationAsync(sender, false, receiver);
        return new Pair(app, sender, connected, conversation.ConversationId);
    }

    /// <summary>What another instance's revocation leaves in the database, without this server hearing of it.</summary>
    private static Task RevokeElsewhereAsync(MessagingApp app, ConnectedDevice device)
        => app.ExecuteSqlAsync($"UPDATE devices SET status = 'revoked' WHERE id = '{device.Device.Id:D}';");

    [Fact]
    public async Task ADeviceRevokedElsewhere_HasItsNextSendRefusedAtOnce_EvenARepeat_AndNothingIsStored()
    {
        await using var pair = await PairAsync();
        var (app, sender) = (pair.App, pair.Sender);
        var first = await MessagingApp.BuildSendAsync(sender, pair.ConversationId);
        Assert.Equal(SendOutcome.Accepted, (await sender.SendAsync(first)).Outcome);
        var next = await MessagingApp.BuildSendAsync(sender, pair.ConversationId);
        var before = await app.EnvelopeRowsAsync();

        await RevokeElsewhereAsync(app, sender);

        await Refusal.AssertHubAsync(ErrorCodes.DeviceRevoked, () => sender.SendAsync(next));
        Assert.Equal(before, await app.EnvelopeRowsAsync());
        await sender.Closed.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(HubConnectionState.Disconnected, sender.Hub.State);

        // Reconnected with a token issued before the revocation, a retry of the accepted send gets no acceptance back.
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var again = await app.ConnectAsync(sender.Device, authenticate: false);
            await again.SendAsync(first);
        });
        Assert.Equal(before, await app.EnvelopeRowsAsync());
    }

    [Fact]
    public async Task ADeviceRevokedElsewhere_HasItsNextAcknowledgementRefusedAtOnce_AndItsCopyStays()
    {
        await using var pair = await PairAsync();
        var (app, sender, receiver) = (pair.App, pair.Sender, pair.Receiver);
        var sent = await MessagingApp.SendAsync(sender, pair.ConversationId);
        Assert.Equal(sent.Sequence, Assert.Single(await receiver.ReceiveAsync(1)).Sequence);

        await RevokeElsewhereAsync(app, receiver);

        await Refusal.AssertHubAsync(ErrorCodes.DeviceRevoked, () => receiver.AcknowledgeAsync(sent.Sequence));
        Assert.Equal(1, await app.CountAsync("envelope_recipients", $"recipient_device_id = '{receiver.Device.Id:D}' AND envelope_seq = {sent.Sequence}"));
        Assert.Equal(1, await app.CountAsync("envelopes", $"seq = {sent.Sequence}"));
        await receiver.Closed.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(HubConnectionState.Disconnected, receiver.Hub.State);
    }

    [Fact]
    public async Task AnActiveDevice_AcknowledgingItsCopyAndSequencesNotItsOwn_DeletesOnlyItsCopy_AndTheEnvelopeWithTheLastCopy()
    {
        await using var pair = await PairAsync();
        var (app, sender, receiver) = (pair.App, pair.Sender, pair.Receiver);
        var toReceiver = await MessagingApp.SendAsync(sender, pair.ConversationId);
        var toSender = await MessagingApp.SendAsync(receiver, pair.ConversationId);
        await receiver.ReceiveAsync(1);

        // The sender's own envelope and one that does not exist are no copies of the receiver's: they are left alone.
        var result = await receiver.AcknowledgeAsync(toSender.Sequence, toReceiver.Sequence, toSender.Sequence + 1000);

        Assert.Equal(1, result.Acknowledged);
        Assert.Equal(0, await app.CountAsync("envelopes", $"seq = {toReceiver.Sequence}"));
        Assert.Equal(1, await app.CountAsync("envelope_recipients", $"envelope_seq = {toSender.Sequence}"));
        Assert.Equal(1, await app.CountAsync("envelopes", $"seq = {toSender.Sequence}"));
        Assert.Equal(0, (await receiver.AcknowledgeAsync()).Acknowledged);
    }

    public sealed class OnSqlite() : RevokedDeviceTests(StorageProvider.Sqlite);

    public sealed class OnPostgres() : RevokedDeviceTests(StorageProvider.Postgres);
}
