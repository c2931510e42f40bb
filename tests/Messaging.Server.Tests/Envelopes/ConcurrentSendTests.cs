using Messaging.Contracts;
using Messaging.Server.Features.Envelopes;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Messaging.Server.Tests;

/// <summary>
/// Sends and acknowledgements from many devices at once, on both providers. On PostgreSQL the units run in parallel: a
/// plain send and an acknowledgement run at <c>READ COMMITTED</c> (serializable sends aborted each other on the envelope
/// indexes until they failed for good), so what serializability used to settle is settled by the unique constraint, a
/// row lock and a sweep — and checked here: every send accepted, every copy delivered once, no envelope left behind.
/// </summary>
public abstract class ConcurrentSendTests(StorageProvider storage)
{
    private const int Devices = 8;
    private const int SendsEach = 25;

    [Fact]
    public async Task EightDevicesSendingAndAcknowledgingAtOnce_AreAllAccepted_AndLeaveNoEnvelopeBehind()
    {
        await using var app = new MessagingApp(storage);
        var serviceA = await app.CreateOrganisationAsync();
        var serviceB = await app.CreateOrganisationAsync();
        var members = new List<TestMember>();
        for (var i = 0; i < Devices; i++)
        {
            members.Add(await app.CreateMemberAsync(i % 2 == 0 ? serviceA : serviceB));
        }

        var devices = new List<ConnectedDevice>();
        foreach (var member in members)
        {
            devices.Add(await app.ConnectAsync(await app.EnrolDeviceAsync(member)));
        }

        try
        {
            var conversation = await MessagingApp.CreateConversationAsync(devices[0], true, [.. members.Skip(1)]);
            var template = await MessagingApp.BuildSendAsync(devices[0], conversation.ConversationId);
            Assert.Equal(Devices - 1, template.Recipients.Count);

            // Every device sends in a loop, each send also acknowledging what arrived meanwhile; all devices at once.
            var results = await Task.WhenAll(devices.Select(device => Task.Run(async () =>
            {
                var received = new List<EnvelopeDelivery>();
                var accepted = new List<long>();
                for (var i = 0; i < SendsEach; i++)
                {
                    var drained = Drain(device);
                    received.AddRange(drained);
                    var send = await MessagingApp.BuildSendAsync(device, conversation.ConversationId)
                        with { Acknowledge = [.. drained.Select(e => e.Sequence)] };
                    var result = await device.SendAsync(send);
                    Assert.Equal(SendOutcome.Accepted, result.Outcome);
                    Assert.Equal(drained.Count, result.Acknowledged);
                    accepted.Add(result.Sequence);
                }

                var rest = await device.ReceiveAsync(((Devices - 1) * SendsEach) - received.Count);
                received.AddRange(rest);
                foreach (var batch in rest.Select(e => e.Sequence).Chunk(50))
                {
                    Assert.Equal(batch.Length, (await device.AcknowledgeAsync(batch)).Acknowledged);
                }

                return (Accepted: accepted, Received: received);
            })));

            // Every send accepted once with its own sequence; every device got every other device's sends, once each.
            var all = results.SelectMany(r => r.Accepted).ToList();
            Assert.Equal(Devices * SendsEach, all.Distinct().Count());
            for (var d = 0; d < Devices; d++)
            {
                var expected = results.Where((_, other) => other != d).SelectMany(r => r.Accepted).Order();
                Assert.Equal(expected, results[d].Received.Select(e => e.Sequence).Order());
                Assert.True(await devices[d].NothingMoreAsync(50));
            }

            // Nothing waits any more, so nothing is kept: no copy, and no envelope whose last copies went at once.
            Assert.Equal((0L, 0L, 0L), await app.EnvelopeRowsAsync());
        }
        finally
        {
            foreach (var device in devices)
            {
                await device.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task AnEnvelopeStoredTwiceAtOnce_IsStoredOnce_AndTheSecondInsertIsToldSo()
    {
        await using var app = new MessagingApp(storage);
        var service = await app.CreateOrganisationAsync();
        var other = await app.CreateOrganisationAsync();
        var receiver = await app.CreateMemberAsync(other);
        await using var sender = await app.ConnectAsync(await app.EnrolDeviceAsync(await app.CreateMemberAsync(service)));
        await app.EnrolDeviceAsync(receiver);
        var conversation = await MessagingApp.CreateConversationAsync(sender, false, receiver);
        var send = await MessagingApp.BuildSendAsync(sender, conversation.ConversationId);
        var now = DbValues.ToStoragePrecision(app.Clock.GetUtcNow());

        // What a retry racing its original does below the service: the second insert of the same (sender, envelope id).
        async Task<long?> Insert() => (await app.Database.WriteAsync(s => EnvelopeRepository.StoreAsync(s, new NewEnvelope(sender.Device.Id,
            sender.Device.Member.Id, send.EnvelopeId, conversation.ConversationId, EnvelopeKind.Chat, now, now.AddDays(1), send.Recipients), [],
            commit: true),
            WriteIsolation.ReadCommitted)).Sequence;
        var inserts = await Task.WhenAll(Insert(), Insert());

        Assert.Single(inserts, i => i is not null);
        Assert.Single(inserts, i => i is null);
        Assert.Equal(1, await app.CountAsync("envelopes"));
        Assert.Equal(send.Recipients.Count, await app.CountAsync("envelope_recipients"));

        // The send itself, repeated, answers with the stored envelope.
        var repeat = await sender.SendAsync(send);
        Assert.Equal(SendOutcome.Accepted, repeat.Outcome);
        Assert.Equal(inserts.Single(i => i is not null), repeat.Sequence);
        Assert.Equal(1, await app.CountAsync("envelopes"));
    }

    [Fact]
    public async Task TheSweep_TakesCopiesLeftForARevokedDevice_AndEnvelopesLeftWithoutCopies_AndNothingElse()
    {
        await using var app = new MessagingApp(storage);
        var serviceA = await app.CreateOrganisationAsync();
        var serviceB = await app.CreateOrganisationAsync();
        var workerB = await app.CreateMemberAsync(serviceB);
        await using var a = await app.ConnectAsync(await app.EnrolDeviceAsync(await app.CreateMemberAsync(serviceA)));
        var b1 = await app.EnrolDeviceAsync(workerB);
        var b2 = await app.EnrolDeviceAsync(workerB);
        var conversation = await MessagingApp.CreateConversationAsync(a, false, workerB);
        var kept = await MessagingApp.SendAsync(a, conversation.ConversationId);
        var stranded = await MessagingApp.SendAsync(a, conversation.ConversationId);
        var orphan = await MessagingApp.SendAsync(a, conversation.ConversationId);
        Assert.Equal(SendOutcome.Accepted, orphan.Outcome);

        // What the lost races leave: b2 revoked while copies for it were being stored (they stay), and an envelope whose
        // copies all went without the envelope. b1 already acknowledged the second envelope.
        await app.ExecuteSqlAsync($"UPDATE devices SET status = 'revoked' WHERE id = '{b2.Id:D}';");
        await app.ExecuteSqlAsync($"DELETE FROM envelope_recipients WHERE recipient_device_id = '{b1.Id:D}' AND envelope_seq = {stranded.Sequence};");
        await app.ExecuteSqlAsync($"DELETE FROM envelope_recipients WHERE envelope_seq = {orphan.Sequence};");
        var job = app.Services.GetRequiredService<EnvelopeExpiryJob>();

        // b2's two copies go, and with the last of them the second envelope; the copy-less third is young: a retry of its
        // send may still need it.
        Assert.Equal(2, await job.RunAsync(CancellationToken.None));
        Assert.Equal(0, await app.CountAsync("envelope_recipients", $"recipient_device_id = '{b2.Id:D}'"));
        Assert.Equal(0, await app.CountAsync("envelopes", $"seq = {stranded.Sequence}"));
        Assert.Equal(2, await app.CountAsync("envelopes"));

        app.Clock.Advance(EnvelopeExpiryJob.StrandedGrace + TimeSpan.FromMinutes(1));
        Assert.Equal(1, await job.RunAsync(CancellationToken.None));
        Assert.Equal(1, await app.CountAsync("envelopes", $"seq = {kept.Sequence}"));
        Assert.Equal(1, await app.CountAsync("envelopes"));
        Assert.Equal(1, await app.CountAsync("envelope_recipients", $"recipient_device_id = '{b1.Id:D}' AND envelope_seq = {kept.Sequence}"));
        Assert.Equal(0, await job.RunAsync(CancellationToken.None));
    }

    private static List<EnvelopeDelivery> Drain(ConnectedDevice device)
    {
        var drained = new List<EnvelopeDelivery>();
        while (device.TryTake(out var envelope))
        {
            drained.Add(envelope);
        }

        return drained;
    }

    public sealed class OnSqlite() : ConcurrentSendTests(StorageProvider.Sqlite);

    public sealed class OnPostgres() : ConcurrentSendTests(StorageProvider.Postgres);
}
