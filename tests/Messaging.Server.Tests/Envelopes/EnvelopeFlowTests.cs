using Messaging.Contracts;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Messaging.Server.Tests;

public abstract class EnvelopeFlowTests(StorageProvider storage)
{
    /// <summary>Two workers of two organisations with two devices each, all connected.</summary>
    private sealed record TwoServices(TestDevice A1, TestDevice A2, TestDevice B1, TestDevice B2, TestMember WorkerA, TestMember WorkerB);

    private static async Task<TwoServices> TwoServicesAsync(MessagingApp app)
    {
        var serviceA = await app.CreateOrganisationAsync();
        var serviceB = await app.CreateOrganisationAsync();
        var workerA = await app.CreateMemberAsync(serviceA);
        var workerB = await app.CreateMemberAsync(serviceB);
        return new TwoServices(
            await app.EnrolDeviceAsync(workerA), await app.EnrolDeviceAsync(workerA),
            await app.EnrolDeviceAsync(workerB), await app.EnrolDeviceAsync(workerB), workerA, workerB);
    }

    [Fact]
    public async Task Envelopes_FlowBothWays_ToEveryDevice_IncludingTheSendersOtherDevice()
    {
        await using var app = new MessagingApp(storage);
        var w = await TwoServicesAsync(app);
        await using var a1 = await app.ConnectAsync(w.A1);
        await using var a2 = await app.ConnectAsync(w.A2);
        await using var b1 = await app.ConnectAsync(w.B1);
        await using var b2 = await app.ConnectAsync(w.B2);
        var conversation = await MessagingApp.CreateConversationAsync(a1, false, w.WorkerB);

        var request = await MessagingApp.BuildSendAsync(a1, conversation.ConversationId);
        Assert.Equal(new[] { w.A2.Id, w.B1.Id, w.B2.Id }.Order(), request.Recipients.Select(r => r.DeviceId).Order());
        var sent = await a1.SendAsync(request);
        Assert.Equal(SendOutcome.Accepted, sent.Outcome);

        foreach (var receiver in new[] { a2, b1, b2 })
        {
            var delivered = Assert.Single(await receiver.ReceiveAsync(1));
            Assert.Equal(request.EnvelopeId, delivered.EnvelopeId);
            Assert.Equal(sent.Sequence, delivered.Sequence);
            Assert.Equal(w.A1.Id, delivered.SenderDeviceId);
            Assert.Equal(w.WorkerA.Id, delivered.SenderMemberId);
            Assert.Equal(request.Recipients.Single(r => r.DeviceId == receiver.Device.Id).Ciphertext, delivered.Ciphertext);
        }

        Assert.True(await a1.NothingMoreAsync());

        var reply = await MessagingApp.SendAsync(b2, conversation.ConversationId);
        Assert.Equal(SendOutcome.Accepted, reply.Outcome);
        foreach (var receiver in new[] { a1, a2, b1 })
        {
            Assert.Equal(reply.Sequence, Assert.Single(await receiver.ReceiveAsync(1)).Sequence);
        }
    }

    [Fact]
    public async Task OfflineDevice_ReceivesEverythingOnReconnect_InSequenceOrder()
    {
        await using var app = new MessagingApp(storage);
        var w = await TwoServicesAsync(app);
        await using var a1 = await app.ConnectAsync(w.A1);
        var conversation = await MessagingApp.CreateConversationAsync(a1, false, w.WorkerB);

        var sequences = new List<long>();
        for (var i = 0; i < 12; i++)
        {
            sequences.Add((await MessagingApp.SendAsync(a1, conversation.ConversationId)).Sequence);
        }

        await using var b1 = await app.ConnectAsync(w.B1);
        var received = await b1.ReceiveAsync(12);
        Assert.Equal(sequences, received.Select(e => e.Sequence));
        Assert.True(await b1.NothingMoreAsync());

        var fetched = await b1.Hub.InvokeAsync<PendingEnvelopes>(nameof(IMessagingHub.FetchPending), new FetchPendingRequest(0, 5));
        Assert.Equal(sequences.Take(5), fetched.Envelopes.Select(e => e.Sequence));
        Assert.True(fetched.HasMore);
    }

    [Fact]
    public async Task Acknowledging_DeletesTheDevicesCopy_AndTheEnvelopeOnceEveryDeviceAcknowledged()
    {
        await using var app = new MessagingApp(storage);
        var w = await TwoServicesAsync(app);
        await using var a1 = await app.ConnectAsync(w.A1);
        var conversation = await MessagingApp.CreateConversationAsync(a1, false, w.WorkerB);
        var sent = await MessagingApp.SendAsync(a1, conversation.ConversationId);
        Assert.Equal((1L, 3L, 0L), await app.EnvelopeRowsAsync()); // no audit entry for an envelope

        await using var b1 = await app.ConnectAsync(w.B1);
        await b1.ReceiveAsync(1);
        Assert.Equal(1, (await b1.AcknowledgeAsync(sent.Sequence)).Acknowledged);
        Assert.Equal(0, (await b1.AcknowledgeAsync(sent.Sequence)).Acknowledged);
        Assert.Equal(2, await app.CountAsync("envelope_recipients"));

        await using var b2 = await app.ConnectAsync(w.B2);
        await using var a2 = await app.ConnectAsync(w.A2);
        await b2.AcknowledgeAsync(sent.Sequence);
        await a2.AcknowledgeAsync(sent.Sequence);
        Assert.Equal(0, await app.CountAsync("envelope_recipients"));
        Assert.Equal(0, await app.CountAsync("envelopes"));

        // A new connection gets nothing: acknowledged envelopes are gone.
        await using var b1Again = await app.ConnectAsync(w.B1);
        Assert.True(await b1Again.NothingMoreAsync());
    }

    [Fact]
    public async Task SendingTheSameEnvelopeIdTwice_StoresItOnce_AndReturnsTheFirstAcceptance()
    {
        await using var app = new MessagingApp(storage);
        var w = await TwoServicesAsync(app);
        await using var a1 = await app.ConnectAsync(w.A1);
        var conversation = await MessagingApp.CreateConversationAsync(a1, false, w.WorkerB);
        var request = await MessagingApp.BuildSendAsync(a1, conversation.ConversationId);

        var first = await a1.SendAsync(request);
        app.Clock.Advance(TimeSpan.FromSeconds(5));
        var second = await a1.SendAsync(request with { Recipients = [.. request.Recipients.Select(r => r with { Ciphertext = Ciphertexts.Random(32) })] });

        Assert.Equal(first, second with { MissingDevices = first.MissingDevices, StaleDeviceIds = first.StaleDeviceIds });
        Assert.Equal((1L, 3L, 0L), await app.EnvelopeRowsAsync()); // no audit entry for an envelope
    }

    /// <summary>The instance that accepted a send can die (or lose Redis) between its commit and its pushes: the
    /// sender's retry of the same envelope id then pushes the copies still waiting, so that a recipient connected all
    /// along does not wait for its next connection. Only those still waiting, each with its first ciphertext.</summary>
    [Fact]
    public async Task ARetriedSend_PushesAgainTheCopiesStillWaiting_WhenTheFirstPushesNeverLeft()
    {
        var signals = new PushesSwitch();
        await using var app = new MessagingApp(storage, configureServices: signals.Register);
        var w = await TwoServicesAsync(app);
        await using var a1 = await app.ConnectAsync(w.A1);
        await using var a2 = await app.ConnectAsync(w.A2);
        await using var b1 = await app.ConnectAsync(w.B1);
        await using var b2 = await app.ConnectAsync(w.B2);
        var conversation = await MessagingApp.CreateConversationAsync(a1, false, w.WorkerB);
        var request = await MessagingApp.BuildSendAsync(a1, conversation.ConversationId);

        signals.Dropping = true;
        var first = await a1.SendAsync(request);
        Assert.Equal(SendOutcome.Accepted, first.Outcome);
        Assert.True(await b1.NothingMoreAsync());
        signals.Dropping = false;

        var retry = request with { Recipients = [.. request.Recipients.Select(r => r with { Ciphertext = Ciphertexts.Random(32) })] };
        Assert.Equal(first.Sequence, (await a1.SendAsync(retry)).Sequence);
        foreach (var device in new[] { a2, b1, b2 })
        {
            var pushed = Assert.Single(await device.ReceiveAsync(1));
            Assert.Equal((first.Sequence, request.EnvelopeId), (pushed.Sequence, pushed.EnvelopeId));
            Assert.Equal(request.Recipients.Single(r => r.DeviceId == device.Device.Id).Ciphertext, pushed.Ciphertext);
        }

        await b1.AcknowledgeAsync(first.Sequence);
        await a1.SendAsync(retry);
        Assert.Equal(first.Sequence, (await b2.ReceiveAsync(1))[0].Sequence);
        Assert.Equal(first.Sequence, (await a2.ReceiveAsync(1))[0].Sequence);
        Assert.True(await b1.NothingMoreAsync());
        Assert.Equal((1L, 2L, 0L), await app.EnvelopeRowsAsync());
    }

    /// <summary>Stands for an instance that died between its commit and its pushes: while on, pushes of envelopes go
    /// nowhere.</summary>
    private sealed class PushesSwitch
    {
        public volatile bool Dropping;

        public void Register(IServiceCollection services)
        {
            var real = services.Last(d => d.ServiceType == typeof(Server.Features.Devices.IDeviceSignals));
            services.Remove(real);
            services.AddSingleton<Server.Features.Devices.IDeviceSignals>(sp => new Switched(
                (Server.Features.Devices.IDeviceSignals)ActivatorUtilities.CreateInstance(sp, real.ImplementationType!), this));
        }

        private sealed class Switched(Server.Features.Devices.IDeviceSignals inner, PushesSwitch owner) : Server.Features.Devices.IDeviceSignals
        {
            public Task DeviceRevokedAsync(Guid deviceId) => inner.DeviceRevokedAsync(deviceId);

            public Task PreKeysLowAsync(Guid deviceId, int remaining) => inner.PreKeysLowAsync(deviceId, remaining);

            public Task PushEnvelopeAsync(Guid deviceId, EnvelopeDelivery envelope)
                => owner.Dropping ? Task.CompletedTask : inner.PushEnvelopeAsync(deviceId, envelope);
        }
    }

    [Fact]
    public async Task UndeliveredEnvelopes_ArePurged_AfterTheRetentionPeriod()
    {
        await using var app = new MessagingApp(storage, new Dictionary<string, string?> { ["Messaging:Envelopes:Retention"] = "2.00:00:00" });
        var w = await TwoServicesAsync(app);
        await using var a1 = await app.ConnectAsync(w.A1);
        var conversation = await MessagingApp.CreateConversationAsync(a1, false, w.WorkerB);
        await MessagingApp.SendAsync(a1, conversation.ConversationId);

        app.Clock.Advance(TimeSpan.FromDays(1));
        await app.RunSweepsAsync();
        Assert.Equal(1, await app.CountAsync("envelopes"));

        app.Clock.Advance(TimeSpan.FromDays(1));
        await app.RunSweepsAsync();
        Assert.Equal((0L, 0L), (await app.CountAsync("envelopes"), await app.CountAsync("envelope_recipients")));
    }

    [Fact]
    public async Task AWrongRecipientSet_IsADeviceMismatch_ListingMissingAndStaleDevices_AndStoresNothing()
    {
        await using var app = new MessagingApp(storage);
        var w = await TwoServicesAsync(app);
        var outsider = await app.EnrolDeviceAsync(await app.CreateMemberAsync(await app.CreateOrganisationAsync()));
        await using var a1 = await app.ConnectAsync(w.A1);
        var conversation = await MessagingApp.CreateConversationAsync(a1, false, w.WorkerB);
        var request = await MessagingApp.BuildSendAsync(a1, conversation.ConversationId);
        var before = await app.EnvelopeRowsAsync();

        var wrong = request with
        {
            Recipients = [.. request.Recipients.Where(r => r.DeviceId != w.B2.Id), new RecipientCiphertext(outsider.Id, Ciphertexts.Random(40))],
        };
        var result = await a1.SendAsync(wrong);

        Assert.Equal(SendOutcome.DeviceMismatch, result.Outcome);
        Assert.Equal([new DeviceAddress(w.WorkerB.Id, w.B2.Id)], result.MissingDevices);
        Assert.Equal([outsider.Id], result.StaleDeviceIds);
        Assert.Equal(before, await app.EnvelopeRowsAsync());

        // The sending device itself is not a valid recipient either.
        var toSelf = request with { Recipients = [.. request.Recipients, new RecipientCiphertext(w.A1.Id, Ciphertexts.Random(40))] };
        var selfResult = await a1.SendAsync(toSelf);
        Assert.Equal([w.A1.Id], selfResult.StaleDeviceIds);
        Assert.Equal(before, await app.EnvelopeRowsAsync());
    }

    [Fact]
    public async Task ASendCarryingAcknowledgements_DeletesThoseCopies_OnlyTheSendersOwn_AndOnlyWhenAccepted()
    {
        await using var app = new MessagingApp(storage);
        var w = await TwoServicesAsync(app);
        await using var a1 = await app.ConnectAsync(w.A1);
        await using var b1 = await app.ConnectAsync(w.B1);
        var conversation = await MessagingApp.CreateConversationAsync(a1, false, w.WorkerB);
        var first = await MessagingApp.SendAsync(a1, conversation.ConversationId);
        await b1.ReceiveAsync(1);
        string B1Copy() => $"recipient_device_id = '{w.B1.Id:D}' AND envelope_seq = {first.Sequence}";

        // A mismatched send changes nothing, its acknowledgements included.
        var reply = await MessagingApp.BuildSendAsync(b1, conversation.ConversationId);
        var mismatch = await b1.SendAsync(reply with { Recipients = reply.Recipients.Skip(1).ToList(), Acknowledge = [first.Sequence] });
        Assert.Equal((SendOutcome.DeviceMismatch, 0), (mismatch.Outcome, mismatch.Acknowledged));
        Assert.Equal(1, await app.CountAsync("envelope_recipients", B1Copy()));

        // A refused send neither.
        await Refusal.AssertHubAsync(ErrorCodes.ConversationNotFound,
            () => b1.SendAsync(reply with { ConversationId = Guid.NewGuid(), Acknowledge = [first.Sequence] }));
        Assert.Equal(1, await app.CountAsync("envelope_recipients", B1Copy()));

        // An accepted one deletes the sender's own copy, and only that: A1's sequence names no copy of A1's.
        var accepted = await b1.SendAsync(reply with { Acknowledge = [first.Sequence, first.Sequence] });
        Assert.Equal((SendOutcome.Accepted, 1), (accepted.Outcome, accepted.Acknowledged));
        Assert.Equal(0, await app.CountAsync("envelope_recipients", B1Copy()));
        Assert.Equal(2, await app.CountAsync("envelope_recipients", $"envelope_seq = {first.Sequence}"));
        var fromA1 = await a1.SendAsync(await MessagingApp.BuildSendAsync(a1, conversation.ConversationId) with { Acknowledge = [first.Sequence] });
        Assert.Equal((SendOutcome.Accepted, 0), (fromA1.Outcome, fromA1.Acknowledged));
        Assert.Equal(2, await app.CountAsync("envelope_recipients", $"envelope_seq = {first.Sequence}"));

        // Repeating the accepted send applies what it carries too (a retry after a lost answer).
        await using var b2 = await app.ConnectAsync(w.B2);
        var forB2 = await b2.ReceiveAsync(3);
        var b2Send = await MessagingApp.BuildSendAsync(b2, conversation.ConversationId);
        await b2.SendAsync(b2Send);
        var repeat = await b2.SendAsync(b2Send with { Acknowledge = [.. forB2.Select(e => e.Sequence)] });
        Assert.Equal(3, repeat.Acknowledged);
        Assert.Equal(0, await app.CountAsync("envelope_recipients", $"recipient_device_id = '{w.B2.Id:D}'"));
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(-4L)]
    public async Task ASendCarryingMalformedAcknowledgements_IsRefused_AndStoresNothing(long sequence)
    {
        await using var app = new MessagingApp(storage);
        var w = await TwoServicesAsync(app);
        await using var a1 = await app.ConnectAsync(w.A1);
        var conversation = await MessagingApp.CreateConversationAsync(a1, false, w.WorkerB);
        var request = await MessagingApp.BuildSendAsync(a1, conversation.ConversationId);
        var before = await app.EnvelopeRowsAsync();

        await Refusal.AssertHubAsync(ErrorCodes.Malformed, () => a1.SendAsync(request with { Acknowledge = [1, sequence] }));
        await Refusal.AssertHubAsync(ErrorCodes.Malformed, () => a1.SendAsync(request with { Acknowledge = [.. Enumerable.Range(1, 501).Select(i => (long)i)] }));
        Assert.Equal(before, await app.EnvelopeRowsAsync());
    }

    public sealed class OnSqlite() : EnvelopeFlowTests(StorageProvider.Sqlite);

    public sealed class OnPostgres() : EnvelopeFlowTests(StorageProvider.Postgres);
}
