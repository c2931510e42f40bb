using Messaging.Client.Tests.Infrastructure;
using Messaging.Contracts;

namespace Messaging.Client.Tests;

/// <summary>
/// Conversation membership signed by participants (docs/crypto.md §12), end to end against the real server process: a
/// member row the operator writes into the database gets nothing, a participant's signed addition is taken at once, a
/// log stripped or rewound behind a device's back is refused, and a conversation from before gets its snapshot.
/// </summary>
public sealed class SignedMembershipTests
{
    private sealed record World(Platform Platform, MessagingClient AdminY, MessagingClient Aline, MessagingClient Bruno, MessagingClient Carla) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Platform.DisposeAsync();

        public string Database => Platform.Server.DatabasePath;
    }

    private static async Task<World> SetUpAsync()
    {
        var platform = await Platform.StartAsync();
        var (_, adminX) = await platform.CreateOrganisationAsync("Service de prévention de Molenbeek");
        var (_, adminY) = await platform.CreateOrganisationAsync("Service d'aide aux familles");
        var aline = await platform.EnrolDeviceAsync(adminX, await platform.CreateMemberAsync(adminX, "Aline"));
        var bruno = await platform.EnrolDeviceAsync(adminY, await platform.CreateMemberAsync(adminY, "Bruno"));
        var carla = await platform.EnrolDeviceAsync(adminY, await platform.CreateMemberAsync(adminY, "Carla"));
        return new World(platform, adminY, aline, bruno, carla);
    }

    private static Task InsertMemberRowAsync(World w, Guid conversationId, Guid memberId)
        => OperatorAccess.ExecuteAsync(w.Database, "INSERT INTO conversation_members (conversation_id, member_id, added_at) VALUES ($c, $m, 0)",
            ("$c", conversationId.ToString("D")), ("$m", memberId.ToString("D")));

    [Fact]
    public async Task AMemberRowTheOperatorWrites_GetsNothing_AndTheSenderReportsItsDevices()
    {
        await using var w = await SetUpAsync();
        var conversation = (await w.Aline.CreateConversationAsync([w.Bruno.MemberId])).ConversationId;
        await w.Aline.SendTextAsync(conversation, "avant");
        Assert.Equal("avant", (await w.Bruno.NextAsync()).Text);

        // The operator, with the database, puts a member of its own in the conversation: an admin whose device is
        // genuinely vouched for under its own member key. No participant signed for it.
        var eve = w.AdminY;
        await InsertMemberRowAsync(w, conversation, eve.MemberId);
        var unreachable = new List<UnreachableDevice>();
        w.Aline.DeviceUnreachable += (_, device) => unreachable.Add(device);

        var marker = Guid.NewGuid().ToString("N")[..8];
        var receipt = await w.Aline.SendTextAsync(conversation, $"après {marker}");
        Assert.Contains(receipt.Unreachable, d => d.DeviceId == eve.DeviceId && d.Reason == UnreachableDevice.NotInSignedMembershipReason);
        Assert.Contains(unreachable, d => d.DeviceId == eve.DeviceId && d.Reason == UnreachableDevice.NotInSignedMembershipReason);
        var fromBruno = await w.Bruno.SendTextAsync(conversation, $"réponse {marker}");
        Assert.Contains(fromBruno.Unreachable, d => d.DeviceId == eve.DeviceId);

        Assert.Equal(0, await EndToEndTests.CountAsync(w.Database, "envelope_recipients", $"recipient_device_id = '{eve.DeviceId:D}'"));
        await w.Bruno.InboxWhenAsync(i => i.Any(m => m.Text == $"après {marker}"));
        await w.Aline.InboxWhenAsync(i => i.Any(m => m.Text == $"réponse {marker}"));
        await eve.SynchronizeAsync();
        Assert.DoesNotContain(await eve.GetInboxAsync(), m => m.ConversationId == conversation);
    }

    [Fact]
    public async Task AParticipantsSignedAddition_IsTakenAtOnce_AndTheAddedMemberReceives()
    {
        await using var w = await SetUpAsync();
        var conversation = (await w.Aline.CreateConversationAsync([w.Bruno.MemberId])).ConversationId;
        await w.Aline.SendTextAsync(conversation, "avant");
        await w.Bruno.NextAsync();

        Assert.Equal(3, (await w.Bruno.AddConversationMemberAsync(conversation, w.Carla.MemberId)).MemberIds.Count);
        var receipt = await w.Aline.SendTextAsync(conversation, "bienvenue Carla");
        Assert.Empty(receipt.Unreachable);
        Assert.Equal("bienvenue Carla", (await w.Carla.NextAsync()).Text);

        // Carla leaves (her own signed removal), and Aline's next message is not for her.
        Assert.Equal(2, (await w.Carla.RemoveConversationMemberAsync(conversation, w.Carla.MemberId)).MemberIds.Count);
        Assert.Equal(1, (await w.Aline.SendTextAsync(conversation, "au revoir")).Recipients);
        Assert.Equal(3, await EndToEndTests.CountAsync(w.Database, "conversation_membership", $"conversation_id = '{conversation:D}'"));
    }

    [Fact]
    public async Task ALogStrippedOrRewoundBehindADevicesBack_IsRefused_AndNothingIsSent()
    {
        await using var w = await SetUpAsync();
        var conversation = (await w.Aline.CreateConversationAsync([w.Bruno.MemberId])).ConversationId;
        await w.Bruno.AddConversationMemberAsync(conversation, w.Carla.MemberId);
        await w.Aline.SendTextAsync(conversation, "à trois");
        await w.Carla.NextAsync();

        // The operator rewinds the log to before Carla's addition and takes her row out; Aline verified both statements.
        await OperatorAccess.ExecuteAsync(w.Database, "DELETE FROM conversation_membership WHERE conversation_id = $c AND idx = 1", ("$c", conversation.ToString("D")));
        await OperatorAccess.ExecuteAsync(w.Database, "DELETE FROM conversation_members WHERE conversation_id = $c AND member_id = $m",
            ("$c", conversation.ToString("D")), ("$m", w.Carla.MemberId.ToString("D")));
        var rewound = await Assert.ThrowsAsync<ConversationMembershipRejectedException>(() => w.Aline.SendTextAsync(conversation, "rembobiné"));
        Assert.Equal(conversation, rewound.ConversationId);

        // Stripped altogether, it would pass for a conversation from before signed membership: not to Aline.
        await OperatorAccess.ExecuteAsync(w.Database, "DELETE FROM conversation_membership WHERE conversation_id = $c", ("$c", conversation.ToString("D")));
        await Assert.ThrowsAsync<ConversationMembershipRejectedException>(() => w.Aline.SendTextAsync(conversation, "effacé"));
        await Assert.ThrowsAsync<ConversationMembershipRejectedException>(() => w.Aline.AddConversationMemberAsync(conversation, w.AdminY.MemberId));
        await w.Bruno.SynchronizeAsync();
        Assert.DoesNotContain(await w.Bruno.GetInboxAsync(), m => m.Text is "rembobiné" or "effacé");
    }

    [Fact]
    public async Task AConversationFromBefore_GetsItsSnapshotFromTheFirstSender_AndThenWorks()
    {
        await using var w = await SetUpAsync();

        // Created the old way (no statement), as a client from before or a raw caller would.
        var conversation = (await w.Aline.HubPart.InvokeAsync<ConversationSummary>(nameof(IMessagingHub.CreateConversation),
            new CreateConversationRequest([w.Bruno.MemberId], false), CancellationToken.None)).ConversationId;
        Assert.Equal(0, await EndToEndTests.CountAsync(w.Database, "conversation_membership"));

        var receipt = await w.Bruno.SendTextAsync(conversation, "premier");
        Assert.Empty(receipt.Unreachable);
        Assert.Equal("premier", (await w.Aline.NextAsync()).Text);
        Assert.Equal(1, await EndToEndTests.CountAsync(w.Database, "conversation_membership", $"conversation_id = '{conversation:D}'"));

        // From then on the log's rules apply: Aline verifies Bruno's snapshot, and a row written behind it gets nothing.
        await InsertMemberRowAsync(w, conversation, w.Carla.MemberId);
        var reply = await w.Aline.SendTextAsync(conversation, "réponse");
        Assert.Contains(reply.Unreachable, d => d.DeviceId == w.Carla.DeviceId && d.Reason == UnreachableDevice.NotInSignedMembershipReason);
        Assert.Equal("réponse", (await w.Bruno.NextAsync()).Text);
    }
}
