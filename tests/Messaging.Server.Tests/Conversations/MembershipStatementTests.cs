using System.Net;
using System.Net.Http.Json;
using Messaging.Contracts;
using Messaging.Crypto.CrossSigning;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;

namespace Messaging.Server.Tests;

/// <summary>
/// Signed conversation membership on the server (docs/crypto.md §12): once a conversation has a membership log, every
/// change carries the next statement, signed by the caller's current member key and matching the request; a bad one
/// gets a typed refusal and changes nothing. A conversation without a log (created without a statement) keeps the old
/// rules until one of its members snapshots it.
/// </summary>
public abstract class MembershipStatementTests(StorageProvider storage)
{
    private sealed record Signer(TestMember Member, ConnectedDevice Device, MemberSigningKey Key);

    private static async Task<Signer> SignerAsync(MessagingApp app, TestOrganisation organisation)
    {
        var member = await app.CreateMemberAsync(organisation);
        var device = await app.EnrolDeviceAsync(member);
        var key = MemberSigningKey.Generate(member.Id);
        var now = app.Clock.GetUtcNow();
        var published = await (await app.ClientAsync(device)).PostAsJsonAsync(TrustRoutes.MemberKey,
            new PublishMemberKeyRequest(key.Announce(now).ToBytes(), [new CertifiedDevice(key.Certify(device.Id, device.Keys.Identity.PublicKey, now).ToBytes(), null)]));
        Assert.Equal(HttpStatusCode.OK, published.StatusCode);
        return new Signer(member, await app.ConnectAsync(device), key);
    }

    private static async Task<(long Members, long Statements, long Audit)> CountsAsync(MessagingApp app)
        => (await app.CountAsync("conversation_members"), await app.CountAsync("conversation_membership"), await app.CountAsync("audit_log"));

    private static Task<ConversationSummary> ChangeAsync(Signer caller, string method, Guid conversationId, Guid member, MembershipStatement? statement)
        => caller.Device.InvokeAsync<ConversationSummary>(method, new ConversationMemberRequest(conversationId, member, statement?.ToBytes()));

    private static async Task<MembershipLog> LogAsync(Signer caller, Guid conversationId)
    {
        var devices = await caller.Device.InvokeAsync<ConversationDevices>(nameof(IMessagingHub.GetConversationDevices), new GetConversationDevicesRequest(conversationId));
        var log = MembershipLog.Empty(conversationId);
        foreach (var statement in devices.Membership!.Statements)
        {
            log = log.Append(MembershipStatement.Parse(statement));
        }

        return log;
    }

    [Fact]
    public async Task OnceAConversationHasALog_EveryChangeNeedsTheNextStatementSignedByTheCaller_AndABadOneChangesNothing()
    {
        await using var app = new MessagingApp(storage);
        var organisation = await app.CreateOrganisationAsync();
        var alice = await SignerAsync(app, organisation);
        var bruno = await SignerAsync(app, organisation);
        var carla = await SignerAsync(app, organisation);
        var conversationId = Guid.NewGuid();
        var create = MembershipLog.SignCreate(alice.Key, conversationId, [bruno.Member.Id], collective: false);

        // A creation whose statement lists other members, or is signed by another key, is refused.
        var wrongMembers = MembershipLog.SignCreate(alice.Key, conversationId, [carla.Member.Id], collective: false);
        await Refusal.AssertHubAsync(ErrorCodes.ConversationMembershipStatementInvalid, () => alice.Device.InvokeAsync<ConversationSummary>(
            nameof(IMessagingHub.CreateConversation), new CreateConversationRequest([bruno.Member.Id], false, wrongMembers.ToBytes())));
        using (var forged = MemberSigningKey.Generate(alice.Member.Id))
        {
            await Refusal.AssertHubAsync(ErrorCodes.ConversationMembershipStatementInvalid, () => alice.Device.InvokeAsync<ConversationSummary>(
                nameof(IMessagingHub.CreateConversation), new CreateConversationRequest([bruno.Member.Id], false, MembershipLog.SignCreate(forged, conversationId, [bruno.Member.Id], false).ToBytes())));
        }

        Assert.Equal(0, await app.CountAsync("conversations"));

        // The creation takes the statement's id; sent again, it returns the same conversation.
        var created = await alice.Device.InvokeAsync<ConversationSummary>(nameof(IMessagingHub.CreateConversation), new CreateConversationRequest([bruno.Member.Id], false, create.ToBytes()));
        Assert.Equal(conversationId, created.ConversationId);
        Assert.Equal(conversationId, (await alice.Device.InvokeAsync<ConversationSummary>(nameof(IMessagingHub.CreateConversation),
            new CreateConversationRequest([bruno.Member.Id], false, create.ToBytes()))).ConversationId);
        Assert.Equal(1, await app.CountAsync("conversations"));
        var log = await LogAsync(bruno, conversationId);
        Assert.Equal(1, log.NextIndex);
        var before = await CountsAsync(app);

        // Without a statement; signed by a key that is not the caller's; at the wrong index; after the wrong previous
        // hash; made by another member than the caller; naming another member than the request; the wrong operation;
        // a snapshot on a conversation that has a log.
        var add = nameof(IMessagingHub.AddConversationMember);
        await Refusal.AssertHubAsync(ErrorCodes.ConversationMembershipStatementRequired, () => ChangeAsync(bruno, add, conversationId, carla.Member.Id, null));
        using (var forged = MemberSigningKey.Generate(bruno.Member.Id))
        {
            await Refusal.AssertHubAsync(ErrorCodes.ConversationMembershipStatementInvalid, () => ChangeAsync(bruno, add, conversationId, carla.Member.Id, log.SignChange(forged, MembershipOperation.Add, carla.Member.Id)));
        }

        await Refusal.AssertHubAsync(ErrorCodes.ConversationMembershipStatementInvalid, () => ChangeAsync(bruno, add, conversationId, carla.Member.Id,
            bruno.Key.SignMembership(conversationId, 2, log.Head, MembershipOperation.Add, Guid.Empty, false, [carla.Member.Id])));
        await Refusal.AssertHubAsync(ErrorCodes.ConversationMembershipStatementInvalid, () => ChangeAsync(bruno, add, conversationId, carla.Member.Id,
            bruno.Key.SignMembership(conversationId, 1, new byte[32], MembershipOperation.Add, Guid.Empty, false, [carla.Member.Id])));
        await Refusal.AssertHubAsync(ErrorCodes.ConversationMembershipStatementInvalid, () => ChangeAsync(bruno, add, conversationId, carla.Member.Id, log.SignChange(alice.Key, MembershipOperation.Add, carla.Member.Id)));
        await Refusal.AssertHubAsync(ErrorCodes.ConversationMembershipStatementInvalid, () => ChangeAsync(bruno, add, conversationId, carla.Member.Id, log.SignChange(bruno.Key, MembershipOperation.Add, organisation.Admin.Member.Id)));
        await Refusal.AssertHubAsync(ErrorCodes.ConversationMembershipStatementInvalid, () => ChangeAsync(bruno, add, conversationId, carla.Member.Id, log.SignChange(bruno.Key, MembershipOperation.Remove, carla.Member.Id)));
        await Refusal.AssertHubAsync(ErrorCodes.ConversationMembershipStatementInvalid, () => bruno.Device.InvokeAsync<ConversationSummary>(nameof(IMessagingHub.SnapshotConversationMembership),
            new ConversationMembershipSnapshotRequest(conversationId, MembershipLog.Empty(conversationId).SignLegacySnapshot(bruno.Key, alice.Member.Id, false, [alice.Member.Id, bruno.Member.Id]).ToBytes())));

        // Bruno may not remove Alice (only the creator removes others), whatever he signs.
        await Refusal.AssertHubAsync(ErrorCodes.Forbidden, () => ChangeAsync(bruno, nameof(IMessagingHub.RemoveConversationMember), conversationId, alice.Member.Id,
            log.SignChange(bruno.Key, MembershipOperation.Remove, alice.Member.Id)));
        Assert.Equal(before, await CountsAsync(app));

        // The right statements go through, each appended to the log.
        Assert.Equal(3, (await ChangeAsync(bruno, add, conversationId, carla.Member.Id, log.SignChange(bruno.Key, MembershipOperation.Add, carla.Member.Id))).MemberIds.Count);
        log = await LogAsync(carla, conversationId);
        Assert.Equal(2, (await ChangeAsync(carla, nameof(IMessagingHub.RemoveConversationMember), conversationId, carla.Member.Id,
            log.SignChange(carla.Key, MembershipOperation.Remove, carla.Member.Id))).MemberIds.Count);
        log = await LogAsync(alice, conversationId);
        Assert.Equal(3, log.NextIndex);
        Assert.Equal(new HashSet<Guid> { alice.Member.Id, bruno.Member.Id }, log.Members.ToHashSet());
        Assert.Equal(3, await app.CountAsync("conversation_membership", $"conversation_id = '{conversationId:D}'"));
    }

    [Fact]
    public async Task AConversationWithoutALog_ChangesWithoutStatements_UntilAMemberSnapshotsItAsItStands()
    {
        await using var app = new MessagingApp(storage);
        var organisation = await app.CreateOrganisationAsync();
        var alice = await SignerAsync(app, organisation);
        var bruno = await SignerAsync(app, organisation);
        var carla = await SignerAsync(app, organisation);

        // The old call, as raw callers and clients from before make it: accepted, no log.
        var legacy = await MessagingApp.CreateConversationAsync(alice.Device, false, bruno.Member);
        var id = legacy.ConversationId;
        Assert.Equal(3, (await ChangeAsync(alice, nameof(IMessagingHub.AddConversationMember), id, carla.Member.Id, null)).MemberIds.Count);
        var empty = await LogAsync(bruno, id);
        Assert.True(empty.IsEmpty);

        // A change with a statement needs a log first; a snapshot must state the conversation as it stands.
        await Refusal.AssertHubAsync(ErrorCodes.ConversationMembershipStatementInvalid, () => ChangeAsync(carla, nameof(IMessagingHub.RemoveConversationMember), id, carla.Member.Id,
            empty.SignChange(carla.Key, MembershipOperation.Remove, carla.Member.Id)));
        var before = await CountsAsync(app);
        var snapshot = nameof(IMessagingHub.SnapshotConversationMembership);
        foreach (var wrong in new[]
        {
            empty.SignLegacySnapshot(bruno.Key, alice.Member.Id, false, [alice.Member.Id, bruno.Member.Id]),
            empty.SignLegacySnapshot(bruno.Key, bruno.Member.Id, false, [alice.Member.Id, bruno.Member.Id, carla.Member.Id]),
            empty.SignLegacySnapshot(bruno.Key, alice.Member.Id, true, [alice.Member.Id, bruno.Member.Id, carla.Member.Id]),
            empty.SignLegacySnapshot(alice.Key, alice.Member.Id, false, [alice.Member.Id, bruno.Member.Id, carla.Member.Id]),
        })
        {
            await Refusal.AssertHubAsync(ErrorCodes.ConversationMembershipStatementInvalid, () => bruno.Device.InvokeAsync<ConversationSummary>(snapshot,
                new ConversationMembershipSnapshotRequest(id, wrong.ToBytes())));
        }

        Assert.Equal(before, await CountsAsync(app));
        await bruno.Device.InvokeAsync<ConversationSummary>(snapshot, new ConversationMembershipSnapshotRequest(id,
            empty.SignLegacySnapshot(bruno.Key, alice.Member.Id, false, [alice.Member.Id, bruno.Member.Id, carla.Member.Id]).ToBytes()));
        var log = await LogAsync(carla, id);
        Assert.Equal((1L, alice.Member.Id), (log.NextIndex, log.Creator));

        // From then on the log's rules apply: no change without a statement, and a second snapshot is refused.
        await Refusal.AssertHubAsync(ErrorCodes.ConversationMembershipStatementRequired, () => ChangeAsync(carla, nameof(IMessagingHub.RemoveConversationMember), id, carla.Member.Id, null));
        await Refusal.AssertHubAsync(ErrorCodes.ConversationMembershipStatementInvalid, () => alice.Device.InvokeAsync<ConversationSummary>(snapshot,
            new ConversationMembershipSnapshotRequest(id, empty.SignLegacySnapshot(alice.Key, alice.Member.Id, false, [alice.Member.Id, bruno.Member.Id, carla.Member.Id]).ToBytes())));
        Assert.Equal(2, (await ChangeAsync(alice, nameof(IMessagingHub.RemoveConversationMember), id, carla.Member.Id, log.SignChange(alice.Key, MembershipOperation.Remove, carla.Member.Id))).MemberIds.Count);
    }

    public sealed class OnSqlite() : MembershipStatementTests(StorageProvider.Sqlite);

    public sealed class OnPostgres() : MembershipStatementTests(StorageProvider.Postgres);
}
