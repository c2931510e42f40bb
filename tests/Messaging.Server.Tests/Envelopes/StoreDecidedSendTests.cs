using Messaging.Contracts;
using Messaging.Server.Features.Envelopes;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;

namespace Messaging.Server.Tests.Envelopes;

/// <summary>
/// PostgreSQL's send in one round trip (<see cref="EnvelopeRepository.StoreIfAllowedAsync"/>): the storing statement
/// itself refuses every send the full path would refuse for what it reads — a revoked sender, a sender not in the
/// conversation, a collective conversation for a kind it refuses, a member whose role may not receive the kind, devices
/// addressed that are not exactly the expected ones — and then stores nothing and applies no acknowledgement the send
/// carries (unless the send repeats an accepted one). Called directly, with the kind policy given as the service derives
/// it, so the rules the kinds of today never trigger (every role receives chat) are checked as well.
/// </summary>
public sealed class StoreDecidedSendTests
{
    private static readonly string[] EveryRole = [.. Roles.All];

    [Fact]
    public async Task TheStoringStatement_StoresOnlyWhatPassesEveryCheck_AndOtherwiseWritesNothing()
    {
        await using var app = new MessagingApp(StorageProvider.Postgres);
        var serviceA = await app.CreateOrganisationAsync();
        var serviceB = await app.CreateOrganisationAsync();
        var workerA = await app.CreateMemberAsync(serviceA);
        var workerB = await app.CreateMemberAsync(serviceB);
        var outsider = await app.EnrolDeviceAsync(await app.CreateMemberAsync(serviceB));
        var a1 = await app.EnrolDeviceAsync(workerA);
        var a2 = await app.EnrolDeviceAsync(workerA);
        var b1 = await app.EnrolDeviceAsync(workerB);
        var b2 = await app.EnrolDeviceAsync(workerB);
        await using var a1Hub = await app.ConnectAsync(a1);
        var conversation = (await MessagingApp.CreateConversationAsync(a1Hub, false, workerB)).ConversationId;
        var collective = (await MessagingApp.CreateConversationAsync(a1Hub, true, workerB)).ConversationId;
        Guid[] expected = [a2.Id, b1.Id, b2.Id];

        // One copy of an envelope from B1 waits for A1, so that acknowledgements have something to delete.
        var forA1 = await StoreAsync(app, b1, conversation, [a1.Id, a2.Id, b2.Id]);
        Assert.NotNull(forA1.Sequence);
        string A1Copy() => $"recipient_device_id = '{a1.Id:D}' AND envelope_seq = {forA1.Sequence}";
        var before = await app.EnvelopeRowsAsync();

        // Each refusal: nothing stored, the acknowledgement carried not applied.
        (Guid[] Recipients, Guid[] Unreachable, Guid Conversation, string[] Receivers, bool CollectiveAllowed, string Case)[] refused =
        [
            ([a2.Id, b1.Id], [], conversation, EveryRole, true, "a device missing"),
            ([.. expected, outsider.Id], [], conversation, EveryRole, true, "a device outside the conversation"),
            ([.. expected, a1.Id], [], conversation, EveryRole, true, "the sending device itself"),
            ([a2.Id, b1.Id], [outsider.Id], conversation, EveryRole, true, "an outsider declared unreachable in place of a member's device"),
            (expected, [], Guid.NewGuid(), EveryRole, true, "an unknown conversation"),
            (expected, [], collective, EveryRole, false, "a collective conversation for a kind it refuses"),
            (expected, [], conversation, [Roles.OrganisationAdmin, Roles.JusticeAssistant], true, "members whose role may not receive the kind"),
        ];
        foreach (var (recipients, unreachable, target, receivers, collectiveAllowed, name) in refused)
        {
            var result = await StoreAsync(app, a1, target, recipients, unreachable, receivers, collectiveAllowed, [forA1.Sequence!.Value]);
            Assert.True(result == (null, 0), name);
            Assert.Equal(before, await app.EnvelopeRowsAsync());
            Assert.Equal(1, await app.CountAsync("envelope_recipients", A1Copy()));
        }

        // A sender whose member is not in the conversation.
        Assert.Equal((null, 0), await StoreAsync(app, outsider, conversation, [a1.Id, a2.Id, b1.Id, b2.Id]));
        Assert.Equal(before, await app.EnvelopeRowsAsync());

        // Accepted: the collective conversation when the kind is allowed there; a device declared unreachable in place of
        // its copy; a device both addressed and declared unreachable (a set, as in the full path).
        Assert.NotNull((await StoreAsync(app, a1, collective, expected)).Sequence);
        Assert.NotNull((await StoreAsync(app, a1, conversation, [a2.Id, b1.Id], [b2.Id])).Sequence);
        Assert.NotNull((await StoreAsync(app, a1, conversation, expected, [b2.Id])).Sequence);

        // Accepted with an acknowledgement: it deletes A1's copy; the envelope's copies are exactly its recipients'.
        var id = Guid.NewGuid();
        var accepted = await StoreAsync(app, a1, conversation, expected, acknowledge: [forA1.Sequence!.Value], envelopeId: id);
        Assert.Equal(1, accepted.Acknowledged);
        Assert.Equal(0, await app.CountAsync("envelope_recipients", A1Copy()));
        Assert.Equal(3, await app.CountAsync("envelope_recipients", $"envelope_seq = {accepted.Sequence}"));

        // The same envelope id again stores nothing more (the full path answers a repeat).
        var copies = await app.CountAsync("envelope_recipients");
        Assert.Equal((null, 0), await StoreAsync(app, a1, conversation, expected, envelopeId: id));
        Assert.Equal(copies, await app.CountAsync("envelope_recipients"));

        // A revoked sender: nothing, not even its repeat's acknowledgement.
        var forA1Again = await StoreAsync(app, b1, conversation, [a1.Id, a2.Id, b2.Id]);
        await app.ExecuteSqlAsync($"UPDATE devices SET status = 'revoked' WHERE id = '{a1.Id:D}'");
        var rowsBefore = await app.EnvelopeRowsAsync();
        Assert.Equal((null, 0), await StoreAsync(app, a1, conversation, expected, acknowledge: [forA1Again.Sequence!.Value], envelopeId: id));
        Assert.Equal(rowsBefore, await app.EnvelopeRowsAsync());
    }

    [Fact]
    public async Task ARepeatedSend_AppliesTheAcknowledgementItCarries_OnceAndCounted()
    {
        await using var app = new MessagingApp(StorageProvider.Postgres);
        var workerA = await app.CreateMemberAsync(await app.CreateOrganisationAsync());
        var workerB = await app.CreateMemberAsync(await app.CreateOrganisationAsync());
        var a1 = await app.EnrolDeviceAsync(workerA);
        var b1 = await app.EnrolDeviceAsync(workerB);
        await using var a1Hub = await app.ConnectAsync(a1);
        var conversation = (await MessagingApp.CreateConversationAsync(a1Hub, false, workerB)).ConversationId;
        var id = Guid.NewGuid();
        Assert.NotNull((await StoreAsync(app, a1, conversation, [b1.Id], envelopeId: id)).Sequence);
        var forA1 = await StoreAsync(app, b1, conversation, [a1.Id]);

        // The repeat stores nothing and says so (null), but the acknowledgement applies: the sender's envelope with this id
        // is stored. The service adds this count to the full path's answer, which finds the copy already gone.
        Assert.Equal((null, 1), await StoreAsync(app, a1, conversation, [b1.Id], acknowledge: [forA1.Sequence!.Value], envelopeId: id));
        Assert.Equal(0, await app.CountAsync("envelope_recipients", $"envelope_seq = {forA1.Sequence}"));

        // Through the hub, the repeat answers the first acceptance with the count of copies it acknowledged.
        var forA1Next = await StoreAsync(app, b1, conversation, [a1.Id]);
        var request = await MessagingApp.BuildSendAsync(a1Hub, conversation);
        var first = await a1Hub.SendAsync(request);
        var repeat = await a1Hub.SendAsync(request with { Acknowledge = [forA1Next.Sequence!.Value] });
        Assert.Equal((SendOutcome.Accepted, first.Sequence, 1), (repeat.Outcome, repeat.Sequence, repeat.Acknowledged));
    }

    private static Task<(long? Sequence, int Acknowledged)> StoreAsync(MessagingApp app, TestDevice sender, Guid conversationId, Guid[] recipients,
        Guid[]? unreachable = null, string[]? receivers = null, bool collectiveAllowed = true, long[]? acknowledge = null, Guid? envelopeId = null)
    {
        var now = DbValues.ToStoragePrecision(app.Clock.GetUtcNow());
        return app.Database.WriteAsync(s => EnvelopeRepository.StoreIfAllowedAsync(s, new NewEnvelope(sender.Id, sender.Member.Id,
            envelopeId ?? Guid.NewGuid(), conversationId, EnvelopeKind.Chat, now, now.AddDays(7),
            [.. recipients.Select(d => new RecipientCiphertext(d, Ciphertexts.Random(64)))]), unreachable ?? [], receivers ?? EveryRole, collectiveAllowed, acknowledge ?? []), WriteIsolation.ReadCommitted);
    }
}
