using Messaging.Contracts;
using Messaging.Server.Features.Envelopes;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Tests;

/// <summary>
/// Realistic envelope sizes through a raw SignalR connection, at and just past every documented limit: exactly at a
/// limit is accepted, one byte (or one recipient) past it is refused with <c>envelope.too-large</c> on a connection that
/// stays usable, and stores nothing. Guards the hub frame limit, which once stayed at SignalR's 32 KiB default.
/// </summary>
public abstract class EnvelopeSizeLimitTests(StorageProvider storage)
{
    private static SendEnvelopeRequest Envelope(Guid conversationId, IEnumerable<(Guid DeviceId, int Size)> recipients)
        => new(Guid.NewGuid(), conversationId, EnvelopeKind.Chat, [.. recipients.Select(r => new RecipientCiphertext(r.DeviceId, Ciphertexts.Random(r.Size)))]);

    private static async Task<List<TestDevice>> EnrolDevicesAsync(MessagingApp app, TestMember member, int count)
    {
        var devices = new List<TestDevice>();
        for (var i = 0; i < count; i++)
        {
            devices.Add(await app.EnrolDeviceAsync(member, oneTimePreKeys: 0));
        }

        return devices;
    }

    [Fact]
    public async Task ACiphertextOf30000Bytes_OrExactlyTheLimit_IsDelivered_AndOneBytePast_IsRefusedAsTooLarge_OnAConnectionThatStaysUsable()
    {
        await using var app = new MessagingApp(storage);
        var organisation = await app.CreateOrganisationAsync();
        await using var sender = await app.ConnectWorkerAsync(organisation);
        var peer = await app.CreateMemberAsync(organisation);
        await using var receiver = await app.ConnectAsync(await app.EnrolDeviceAsync(peer));
        var conversation = await MessagingApp.CreateConversationAsync(sender, false, peer);
        var limit = app.Services.GetRequiredService<IOptions<EnvelopesOptions>>().Value.MaxCiphertextBytes;

        foreach (var size in new[] { 30_000, limit })
        {
            var accepted = await sender.SendAsync(Envelope(conversation.ConversationId, [(receiver.Device.Id, size)]));
            Assert.Equal(SendOutcome.Accepted, accepted.Outcome);
            Assert.Equal(size, Assert.Single(await receiver.ReceiveAsync(1)).Ciphertext.Length);
        }

        var before = await app.EnvelopeRowsAsync();
        await Refusal.AssertHubAsync(ErrorCodes.TooLarge, () => sender.SendAsync(Envelope(conversation.ConversationId, [(receiver.Device.Id, limit + 1)])));

        Assert.Equal(before, await app.EnvelopeRowsAsync());
        Assert.Equal(SendOutcome.Accepted, (await MessagingApp.SendAsync(sender, conversation.ConversationId)).Outcome);
        Assert.Single(await receiver.ReceiveAsync(1));
    }

    [Fact]
    public async Task ACaseNoteOf5KBForEightDevices_AndAMessageOf1500BytesForSeventeenDevices_AreAcceptedAndDelivered()
    {
        await using var app = new MessagingApp(storage);
        var organisation = await app.CreateOrganisationAsync();
        await using var sender = await app.ConnectWorkerAsync(organisation);
        var eight = await app.CreateMemberAsync(organisation);
        var nine = await app.CreateMemberAsync(organisation);
        var eightDevices = await EnrolDevicesAsync(app, eight, 8);
        var nineDevices = await EnrolDevicesAsync(app, nine, 9);
        await using var watcher = await app.ConnectAsync(eightDevices[0]);
        var small = await MessagingApp.CreateConversationAsync(sender, false, eight);
        var large = await MessagingApp.CreateConversationAsync(sender, false, eight, nine);

        var caseNote = await sender.SendAsync(Envelope(small.ConversationId, eightDevices.Select(d => (d.Id, 5 * 1024 + 200))));
        var seventeen = await sender.SendAsync(Envelope(large.ConversationId, eightDevices.Concat(nineDevices).Select(d => (d.Id, 1536))));

        Assert.Equal(SendOutcome.Accepted, caseNote.Outcome);
        Assert.Equal(SendOutcome.Accepted, seventeen.Outcome);
        var delivered = await watcher.ReceiveAsync(2);
        Assert.Equal([5 * 1024 + 200, 1536], delivered.Select(d => d.Ciphertext.Length));
    }

    [Fact]
    public async Task AnEnvelopeOfExactlyTheTotalLimit_OrTheRecipientLimit_IsAccepted_AndOneBytePastOrOneRecipientMore_IsRefusedAsTooLarge()
    {
        // The recipient limit is configured down to 17 so that a test can reach it; the byte limits are the defaults.
        await using var app = new MessagingApp(storage, new Dictionary<string, string?> { ["Messaging:Envelopes:MaxRecipients"] = "17" });
        var limits = app.Services.GetRequiredService<IOptions<EnvelopesOptions>>().Value;
        Assert.Equal(1024 * 1024, limits.MaxEnvelopeBytes);
        Assert.Equal(64 * 1024, limits.MaxCiphertextBytes);
        var organisation = await app.CreateOrganisationAsync();
        await using var sender = await app.ConnectWorkerAsync(organisation);
        var many = await app.CreateMemberAsync(organisation);
        var one = await app.CreateMemberAsync(organisation);
        var devices = await EnrolDevicesAsync(app, many, 17);
        var eighteenth = Assert.Single(await EnrolDevicesAsync(app, one, 1));
        var seventeen = await MessagingApp.CreateConversationAsync(sender, false, many);
        var eighteen = await MessagingApp.CreateConversationAsync(sender, false, many, one);

        // 15 × 64 KiB + 2 × 32 KiB = exactly 1 MiB over 17 recipients.
        int[] AtTotal(int extra) => [.. Enumerable.Repeat(limits.MaxCiphertextBytes, 15), limits.MaxEnvelopeBytes / 32, (limits.MaxEnvelopeBytes / 32) + extra];
        var atLimit = await sender.SendAsync(Envelope(seventeen.ConversationId, devices.Zip(AtTotal(0), (d, size) => (d.Id, size))));
        Assert.Equal(SendOutcome.Accepted, atLimit.Outcome);

        var before = await app.EnvelopeRowsAsync();
        await Refusal.AssertHubAsync(ErrorCodes.TooLarge,
            () => sender.SendAsync(Envelope(seventeen.ConversationId, devices.Zip(AtTotal(1), (d, size) => (d.Id, size)))));
        await Refusal.AssertHubAsync(ErrorCodes.TooLarge,
            () => sender.SendAsync(Envelope(eighteen.ConversationId, devices.Append(eighteenth).Select(d => (d.Id, 1536)))));

        Assert.Equal(before, await app.EnvelopeRowsAsync());
        Assert.Equal(SendOutcome.Accepted, (await MessagingApp.SendAsync(sender, seventeen.ConversationId)).Outcome);
        Assert.Equal(sender.Device.Id, (await sender.Hub.InvokeAsync<WhoAmIResult>(nameof(IMessagingHub.WhoAmI))).DeviceId);
    }

    public sealed class OnSqlite() : EnvelopeSizeLimitTests(StorageProvider.Sqlite);

    public sealed class OnPostgres() : EnvelopeSizeLimitTests(StorageProvider.Postgres);
}
