using Messaging.Client.Cases;
using Messaging.Client.Sessions;
using Messaging.Client.Tests.Infrastructure;
using Messaging.Contracts;
using Messaging.Contracts.Referrals;
using Messaging.Crypto.CrossSigning;

namespace Messaging.Client.Tests;

/// <summary>
/// Issue 10, end to end against the real server process: a device no existing device of its member approved — enrolled
/// by the platform operator or an admin, forged, replayed or borrowed from another member — receives nothing, and the
/// sender is told; an approved device receives everything; a member-key reset blocks sends until confirmed.
/// </summary>
public sealed class GhostDeviceTests
{
    private sealed record World(Platform Platform, Guid ServiceX, Guid ServiceY, MessagingClient AdminY, MessagingClient Aline, Guid BrunoId, MessagingClient Bruno)
        : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Platform.DisposeAsync();

        public string Database => Platform.Server.DatabasePath;
    }

    private static async Task<World> SetUpAsync()
    {
        var platform = await Platform.StartAsync();
        var (serviceX, adminX) = await platform.CreateOrganisationAsync("Service de prévention de Molenbeek");
        var (serviceY, adminY) = await platform.CreateOrganisationAsync("Service d'aide aux familles");
        var aline = await platform.EnrolDeviceAsync(adminX, await platform.CreateMemberAsync(adminX, "Aline"));
        var brunoId = await platform.CreateMemberAsync(adminY, "Bruno");
        var bruno = await platform.EnrolDeviceAsync(adminY, brunoId);
        return new World(platform, serviceX, serviceY, adminY, aline, brunoId, bruno);
    }

    private static ReferralRecord NewReferral()
        => new(CaseReference.New(), RequestNature.Individual, Requester.Family, "21012", false, ReasonCategory.PsychosocialSupport, Urgency.Priority);

    private static PersonIdentity Identity(string caseReference, string marker)
        => new(caseReference, $"Dupont{marker}", $"Jean{marker}", new DateOnly(2004, 5, 6), "+32 470 12 34 56", null, null);

    private static async Task AssertHoldsNothingAsync(MessagingClient ghost, string caseReference)
    {
        await ghost.SynchronizeAsync();
        Assert.Empty(await ghost.GetInboxAsync());
        await Assert.ThrowsAsync<CaseNotFoundException>(() => ghost.GetCaseAsync(caseReference));
    }

    [Fact]
    public async Task TheOperatorsAttack_GivesItsDevicesNoPlaintext_AndTheSenderReportsThem()
    {
        await using var w = await SetUpAsync();
        var adminYMember = w.AdminY.MemberId;

        // Through the API the operator may no longer issue a code for an organisation that has an admin with a device.
        var operatorToken = await w.Platform.Operator.GetAccessTokenAsync();
        var refused = await Assert.ThrowsAsync<NotPermittedException>(() => w.Platform.Operator.Api.IssueEnrolmentCodeAsync(operatorToken, adminYMember));
        Assert.Equal(ErrorCodes.ResetRequiresOrganisationAdmin, refused.Code);
        await Assert.ThrowsAsync<NotPermittedException>(() => w.Platform.Operator.Api.IssueEnrolmentCodeAsync(operatorToken, w.BrunoId));

        // With the server host, the operator still gets a code for service Y's admin and enrols a device as that admin.
        // That device awaits approval, so the server lets it act for the admin in nothing: it cannot issue Bruno a code.
        // The host command can, and the operator enrols a second device as Bruno.
        var ghostAdmin = await w.Platform.EnrolWithCodeAsync(await w.Platform.HostCodeAsync(adminYMember));
        var ghostIssues = await Assert.ThrowsAsync<NotPermittedException>(() => w.Platform.IssueCodeAsync(ghostAdmin, w.BrunoId));
        Assert.Equal(ErrorCodes.DeviceAwaitingApproval, ghostIssues.Code);
        var ghostBruno = await w.Platform.EnrolWithCodeAsync(await w.Platform.HostCodeAsync(w.BrunoId));
        Assert.False(ghostAdmin.IsApproved);
        Assert.False(ghostBruno.IsApproved);

        // Aline refers a person to service Y; Bruno accepts; Aline shares the identity.
        var unreachable = new List<UnreachableDevice>();
        w.Aline.DeviceUnreachable += (_, device) => unreachable.Add(device);
        var record = NewReferral();
        var sent = await w.Aline.ReferAsync(w.ServiceY, record);
        await w.Bruno.InboxWhenAsync(i => i.Any(m => m.Kind == EnvelopeKind.Referral));
        await w.Bruno.RespondToReferralAsync(record.CaseReference, ReferralResponse.Accept);
        await w.Aline.InboxWhenAsync(i => i.Any(m => m.Kind == EnvelopeKind.ReferralResponse));
        var marker = Guid.NewGuid().ToString("N")[..8];
        var shared = await w.Aline.ShareIdentityAsync(Identity(record.CaseReference, marker));
        var chat = await w.Aline.SendTextAsync(sent.ConversationId, $"Famille {marker}");

        // The sender reports both unsigned devices, on every send, and encrypts nothing for them.
        foreach (var receipt in new[] { shared, chat })
        {
            Assert.Contains(receipt.Unreachable, d => d.DeviceId == ghostAdmin.DeviceId && d.Reason == UnreachableDevice.NotVouchedReason);
            Assert.Contains(receipt.Unreachable, d => d.DeviceId == ghostBruno.DeviceId && d.Reason == UnreachableDevice.NotVouchedReason);
        }

        Assert.Contains(unreachable, d => d.DeviceId == ghostBruno.DeviceId);
        Assert.Equal(0, await EndToEndTests.CountAsync(w.Database, "envelope_recipients",
            $"recipient_device_id IN ('{ghostAdmin.DeviceId:D}', '{ghostBruno.DeviceId:D}')"));

        // Bruno's real device has everything; the operator's devices have nothing.
        var brunoCase = await w.Bruno.InboxWhenAsync(i => i.Any(m => m.Kind == EnvelopeKind.IdentityShare) && i.Any(m => m.Text == $"Famille {marker}"));
        Assert.Equal($"Dupont{marker}", Assert.Single((await w.Bruno.GetCaseAsync(record.CaseReference)).Identities).FamilyName);
        await AssertHoldsNothingAsync(ghostAdmin, record.CaseReference);
        await AssertHoldsNothingAsync(ghostBruno, record.CaseReference);

        // The ghost cannot even write as Bruno through the server: it awaits approval, so the server refuses it the
        // conversation's devices. The operator, who has the database, then makes the server believe it was approved:
        // what it writes as Bruno is refused by Aline's client, which checks the certificate the server cannot forge.
        var refusedSend = await Assert.ThrowsAsync<NotPermittedException>(() => ghostBruno.SendTextAsync(sent.ConversationId, "c'est moi, Bruno"));
        Assert.Equal(ErrorCodes.DeviceAwaitingApproval, refusedSend.Code);
        await OperatorAccess.VouchOnServerAsync(w.Database, ghostBruno.DeviceId, w.BrunoId);
        var refusals = new List<DeliveryFailure>();
        w.Aline.DeliveryFailed += (_, failure) => refusals.Add(failure);
        await ghostBruno.SendTextAsync(sent.ConversationId, "c'est moi, Bruno");
        for (var waited = 0; waited < 150 && !refusals.Exists(f => f.SenderDeviceId == ghostBruno.DeviceId); waited++)
        {
            await Task.Delay(100);
        }

        Assert.Contains(refusals, f => f.SenderDeviceId == ghostBruno.DeviceId && f.Reason == UnreachableDevice.NotVouchedReason);
        Assert.DoesNotContain(await w.Aline.GetInboxAsync(), m => m.Text == "c'est moi, Bruno");

        // The ghost cannot approve itself: it holds no member key, and the server refuses an approval from it.
        await Assert.ThrowsAsync<MessagingClientException>(() => ghostBruno.ApproveDeviceAsync(ghostBruno.ApprovalCode));
    }

    [Fact]
    public async Task AnApprovedSecondDevice_ReceivesEverything_AndCanApproveTheNext_WhileContactsSeeIt()
    {
        await using var w = await SetUpAsync();
        var conversation = (await w.Aline.CreateConversationAsync([w.BrunoId])).ConversationId;
        var added = new List<MemberDevice>();
        w.Aline.MemberDeviceAdded += (_, device) => added.Add(device);
        await w.Aline.SendTextAsync(conversation, "avant");
        await w.Bruno.NextAsync();

        var phone = await w.Platform.EnrolDeviceAsync(w.AdminY, w.BrunoId, approve: false);
        var pending = Assert.Single(await w.Bruno.GetPendingDevicesAsync());
        Assert.Equal((phone.DeviceId, phone.ApprovalCode), (pending.DeviceId, pending.ApprovalCode));
        var beforeApproval = await w.Aline.SendTextAsync(conversation, "pas pour le téléphone");
        Assert.Contains(beforeApproval.Unreachable, d => d.DeviceId == phone.DeviceId);

        // Only the whole code approves: its first 8 digits are refused as malformed, one digit changed matches no device.
        var malformed = await Assert.ThrowsAsync<MessagingClientException>(() => w.Bruno.ApproveDeviceAsync(phone.ApprovalCode[..9]));
        Assert.Contains("20 digits", malformed.Message, StringComparison.Ordinal);
        var oneDigitOff = string.Concat(phone.ApprovalCode[..^1], phone.ApprovalCode[^1] == '9' ? "0" : "9");
        var unknown = await Assert.ThrowsAsync<MessagingClientException>(() => w.Bruno.ApproveDeviceAsync(oneDigitOff));
        Assert.Contains("No device", unknown.Message, StringComparison.Ordinal);
        Assert.Equal(phone.DeviceId, Assert.Single(await w.Bruno.GetPendingDevicesAsync()).DeviceId);
        await Platform.ApproveAsync(w.Bruno, phone);
        Assert.Empty(await w.Bruno.GetPendingDevicesAsync());
        var afterApproval = await w.Aline.SendTextAsync(conversation, "pour les deux");
        Assert.Empty(afterApproval.Unreachable);
        Assert.Equal("pour les deux", (await phone.InboxWhenAsync(i => i.Any(m => m.Text == "pour les deux"))).Single(m => m.Text == "pour les deux").Text);
        Assert.Contains(new MemberDevice(w.BrunoId, phone.DeviceId), added);

        // The approved phone holds the member key: it approves a third device by itself.
        var tablet = await w.Platform.EnrolDeviceAsync(w.AdminY, w.BrunoId, approve: false);
        await Platform.ApproveAsync(phone, tablet);
        await w.Aline.SendTextAsync(conversation, "pour les trois");
        await tablet.InboxWhenAsync(i => i.Any(m => m.Text == "pour les trois"));
        Assert.DoesNotContain(await phone.GetInboxAsync(), m => m.Text == "pas pour le téléphone");
    }

    [Fact]
    public async Task AReset_IsABlockingWarning_IdentitySharesWaitUntilConfirmed_ThenGoToTheNewDeviceOnly()
    {
        await using var w = await SetUpAsync();
        var record = NewReferral();
        var sent = await w.Aline.ReferAsync(w.ServiceY, record);
        await w.Bruno.InboxWhenAsync(i => i.Any(m => m.Kind == EnvelopeKind.Referral));
        await w.Bruno.RespondToReferralAsync(record.CaseReference, ReferralResponse.Accept);
        await w.Aline.InboxWhenAsync(i => i.Any(m => m.Kind == EnvelopeKind.ReferralResponse));
        var numberBefore = await w.Aline.GetMemberSafetyNumberAsync(w.BrunoId);
        Assert.NotNull(numberBefore);

        // Bruno lost his device: his admin issues a reset code, the new device resets the member key.
        var changed = new List<Guid>();
        w.Aline.MemberKeyChanged += (_, member) => changed.Add(member);
        var replacement = await w.Platform.EnrolDeviceAsync(w.AdminY, w.BrunoId, approve: false);
        await replacement.ResetMemberKeyAsync();
        Assert.True(replacement.IsApproved);

        var marker = Guid.NewGuid().ToString("N")[..8];
        var blocked = await Assert.ThrowsAsync<MemberKeyChangedException>(() => w.Aline.ShareIdentityAsync(Identity(record.CaseReference, marker)));
        Assert.Equal(w.BrunoId, blocked.MemberId);
        Assert.Contains(w.BrunoId, changed);
        await Assert.ThrowsAsync<MemberKeyChangedException>(() => w.Aline.SendTextAsync(sent.ConversationId, "bloqué"));
        Assert.True(await w.Aline.IsMemberKeyUnconfirmedAsync(w.BrunoId));
        await replacement.SynchronizeAsync();
        Assert.Empty(await replacement.GetInboxAsync());

        // The new safety number differs; after confirming it, the identity goes to the new device (the old one is revoked).
        var numberAfter = await w.Aline.GetMemberSafetyNumberAsync(w.BrunoId);
        Assert.NotEqual(numberBefore, numberAfter);
        await w.Aline.ConfirmMemberKeyAsync(w.BrunoId);
        var receipt = await w.Aline.ShareIdentityAsync(Identity(record.CaseReference, marker));
        Assert.DoesNotContain(receipt.Unreachable, d => d.DeviceId == replacement.DeviceId);
        await replacement.InboxWhenAsync(i => i.Any(m => m.Kind == EnvelopeKind.IdentityShare));
        Assert.Equal(0, await EndToEndTests.CountAsync(w.Database, "devices", $"id = '{w.Bruno.DeviceId:D}' AND status = 'active'"));
    }

    [Fact]
    public async Task AResetMadeBeforeAContactFirstWrites_IsABlockingWarningForThatContactToo()
    {
        // Outside review 2026-11-29, crypto finding 5: a contact who first needed Bruno after his reset pinned the new key
        // silently; now the first key the log named is pinned, and the later one waits for the user's confirmation.
        await using var w = await SetUpAsync();
        var replacement = await w.Platform.EnrolDeviceAsync(w.AdminY, w.BrunoId, approve: false);
        await replacement.ResetMemberKeyAsync();
        var chloeId = await w.Platform.CreateMemberAsync(w.AdminY, "Chloé");
        var chloe = await w.Platform.EnrolDeviceAsync(w.AdminY, chloeId);

        var conversation = (await chloe.CreateConversationAsync([w.BrunoId])).ConversationId;
        var blocked = await Assert.ThrowsAsync<MemberKeyChangedException>(() => chloe.SendTextAsync(conversation, "bloqué"));
        Assert.Equal(w.BrunoId, blocked.MemberId);
        Assert.True(await chloe.IsMemberKeyUnconfirmedAsync(w.BrunoId));

        await chloe.ConfirmMemberKeyAsync(w.BrunoId);
        await chloe.SendTextAsync(conversation, "premier message");
        await replacement.InboxWhenAsync(i => i.Any(m => m.Text == "premier message"));
    }

    [Fact]
    public async Task AForgedCertificate_IsDetected_AndItsDeviceGetsNothing()
    {
        await using var w = await SetUpAsync();
        var conversation = (await w.Aline.CreateConversationAsync([w.BrunoId])).ConversationId;
        var ghost = await w.Platform.EnrolWithCodeAsync(await w.Platform.HostCodeAsync(w.BrunoId));

        // The operator writes a certificate for the ghost, signed by a key it made up, into the key log (chain intact).
        using var forger = MemberSigningKey.Generate(w.BrunoId);
        var forged = forger.Certify(ghost.DeviceId, ghost.Identity, TimeProvider.System.GetUtcNow()).ToBytes();
        await OperatorAccess.AppendKeyLogAsync(w.Database, KeyLogAction.DeviceCertified, ghost.DeviceId, w.BrunoId, forged);
        await OperatorAccess.VouchOnServerAsync(w.Database, ghost.DeviceId, w.BrunoId, forged);

        var receipt = await w.Aline.SendTextAsync(conversation, "confidentiel");
        Assert.Contains(receipt.Unreachable, d => d.DeviceId == ghost.DeviceId && d.Reason == UnreachableDevice.NotVouchedReason);
        await w.Bruno.InboxWhenAsync(i => i.Any(m => m.Text == "confidentiel"));
        await ghost.SynchronizeAsync();
        Assert.Empty(await ghost.GetInboxAsync());
    }

    [Fact]
    public async Task ARevokedDevicePutBackWithItsOldCertificate_IsDetected()
    {
        await using var w = await SetUpAsync();
        var conversation = (await w.Aline.CreateConversationAsync([w.BrunoId])).ConversationId;
        var phone = await w.Platform.EnrolDeviceAsync(w.AdminY, w.BrunoId);
        await w.Aline.SendTextAsync(conversation, "avant la révocation");
        await phone.InboxWhenAsync(i => i.Count == 1);
        var oldCertificate = await OperatorAccess.CertificateOfAsync(w.Database, phone.DeviceId);
        await w.AdminY.Api.RevokeDeviceAsync(await w.AdminY.GetAccessTokenAsync(), phone.DeviceId);
        await w.Aline.SendTextAsync(conversation, "après la révocation");

        // The operator re-activates the revoked device and replays its old "added" and "certified" entries.
        await OperatorAccess.ExecuteAsync(w.Database, "UPDATE devices SET status = 'active', revoked_at = NULL WHERE id = $id", ("$id", phone.DeviceId.ToString("D")));
        await OperatorAccess.AppendKeyLogAsync(w.Database, KeyLogAction.Added, phone.DeviceId, w.BrunoId, phone.Identity.ToBytes());
        await OperatorAccess.AppendKeyLogAsync(w.Database, KeyLogAction.DeviceCertified, phone.DeviceId, w.BrunoId, oldCertificate);

        var receipt = await w.Aline.SendTextAsync(conversation, "secret");
        Assert.Contains(receipt.Unreachable, d => d.DeviceId == phone.DeviceId && d.Reason == UnreachableDevice.NotVouchedReason);
        Assert.Equal(0, await EndToEndTests.CountAsync(w.Database, "envelope_recipients", $"recipient_device_id = '{phone.DeviceId:D}'"));
    }

    [Fact]
    public async Task AnotherMembersDevice_ListedUnderThisMember_IsDetected()
    {
        await using var w = await SetUpAsync();
        var conversation = (await w.Aline.CreateConversationAsync([w.BrunoId])).ConversationId;
        await w.Aline.SendTextAsync(conversation, "bonjour");
        var chloe = await w.Platform.EnrolDeviceAsync(w.AdminY, await w.Platform.CreateMemberAsync(w.AdminY, "Chloé"));
        var ghost = await w.Platform.EnrolWithCodeAsync(await w.Platform.HostCodeAsync(w.BrunoId));

        // Chloé's device (validly signed by Chloé) is listed as Bruno's; Chloé's certificate is replayed for Bruno's ghost.
        await OperatorAccess.ExecuteAsync(w.Database, "UPDATE devices SET member_id = $m WHERE id = $id", ("$m", w.BrunoId.ToString("D")), ("$id", chloe.DeviceId.ToString("D")));
        await OperatorAccess.AppendKeyLogAsync(w.Database, KeyLogAction.DeviceCertified, ghost.DeviceId, w.BrunoId,
            await OperatorAccess.CertificateOfAsync(w.Database, chloe.DeviceId));

        var receipt = await w.Aline.SendTextAsync(conversation, "secret");
        Assert.Contains(receipt.Unreachable, d => d.DeviceId == chloe.DeviceId && d.Reason == UnreachableDevice.NotVouchedReason);
        Assert.Contains(receipt.Unreachable, d => d.DeviceId == ghost.DeviceId && d.Reason == UnreachableDevice.NotVouchedReason);
        await w.Bruno.InboxWhenAsync(i => i.Any(m => m.Text == "secret"));
        await chloe.SynchronizeAsync();
        Assert.DoesNotContain(await chloe.GetInboxAsync(), m => m.Text == "secret");
    }

    [Fact]
    public async Task WhileAResetIsUnconfirmed_OnlyTheMembersNewDevice_SpeaksAsTheMember_NotAGhostNorARelabelledDevice()
    {
        await using var w = await SetUpAsync();
        var chloeId = await w.Platform.CreateMemberAsync(w.AdminY, "Chloé");
        var chloe = await w.Platform.EnrolDeviceAsync(w.AdminY, chloeId);
        var conversation = (await w.Aline.CreateConversationAsync([w.BrunoId, chloeId])).ConversationId;
        await w.Aline.SendTextAsync(conversation, "bonjour");
        await chloe.InboxWhenAsync(i => i.Any(m => m.Text == "bonjour"));
        await chloe.SendTextAsync(conversation, "salut");
        await w.Aline.InboxWhenAsync(i => i.Any(m => m.Text == "salut"));

        // Bruno resets (legitimately); Aline has seen the new key and not confirmed it.
        var replacement = await w.Platform.EnrolDeviceAsync(w.AdminY, w.BrunoId, approve: false);
        await replacement.ResetMemberKeyAsync();
        Assert.NotNull(await w.Aline.GetMemberSafetyNumberAsync(w.BrunoId));
        Assert.True(await w.Aline.IsMemberKeyUnconfirmedAsync(w.BrunoId));

        // Meanwhile the operator enrols an uncertified ghost under Bruno, which writes as Bruno: refused. Bruno's new
        // device, certified under the new key, is heard.
        var refusals = new System.Collections.Concurrent.ConcurrentQueue<DeliveryFailure>();
        w.Aline.DeliveryFailed += (_, failure) => refusals.Enqueue(failure);
        var ghost = await w.Platform.EnrolWithCodeAsync(await w.Platform.HostCodeAsync(w.BrunoId));
        await OperatorAccess.VouchOnServerAsync(w.Database, ghost.DeviceId, w.BrunoId); // past the server's own refusal
        await ghost.ConfirmMemberKeyAsync(w.BrunoId); // the operator's client accepts whatever it is shown
        await ghost.SendTextAsync(conversation, "c'est moi, Bruno");
        await replacement.SendTextAsync(conversation, "mon nouveau téléphone");
        await w.Aline.InboxWhenAsync(i => i.Any(m => m.Text == "mon nouveau téléphone" && m.SenderMemberId == w.BrunoId));
        for (var waited = 0; waited < 150 && !refusals.Any(f => f.SenderDeviceId == ghost.DeviceId); waited++)
        {
            await Task.Delay(100);
        }

        Assert.Contains(refusals, f => f.SenderDeviceId == ghost.DeviceId && f.Reason == UnreachableDevice.NotVouchedReason);
        Assert.DoesNotContain(await w.Aline.GetInboxAsync(), m => m.Text == "c'est moi, Bruno");

        // While Aline is offline, Chloé (who has confirmed Bruno's new key) writes and the operator relabels the envelope
        // as Bruno's.
        var alineStore = await w.Platform.ReleaseAsync(w.Aline);
        await chloe.ConfirmMemberKeyAsync(w.BrunoId);
        var relabelled = await chloe.SendTextAsync(conversation, "relabellisé");
        await OperatorAccess.ExecuteAsync(w.Database, "UPDATE envelopes SET sender_member_id = $m WHERE sender_device_id = $d AND envelope_id = $e",
            ("$m", w.BrunoId.ToString("D")), ("$d", chloe.DeviceId.ToString("D")), ("$e", relabelled.EnvelopeId.ToString("D")));
        await using var aline = await w.Platform.OpenAsync(alineStore, connect: false);
        var caught = new System.Collections.Concurrent.ConcurrentQueue<EnvelopeDelivery>();
        aline.InboxPart.Received += caught.Enqueue;
        aline.DeliveryFailed += (_, failure) => refusals.Enqueue(failure);
        await aline.ConnectAsync();
        await aline.SynchronizeAsync();
        Assert.Contains(refusals, f => f.SenderDeviceId == chloe.DeviceId && f.Reason == UnreachableDevice.NotVouchedReason);
        Assert.DoesNotContain(await aline.GetInboxAsync(), m => m.Text == "relabellisé");

        // The sessions refuse it by themselves too: the one with Chloé's device opens nothing labelled as Bruno's.
        var delivery = caught.First(d => d.EnvelopeId == relabelled.EnvelopeId);
        Assert.Equal(w.BrunoId, delivery.SenderMemberId);
        await aline.Store.LockAsync(CancellationToken.None);
        try
        {
            using var page = new DecryptionPage(aline.Store);
            var associatedData = MessagingClient.AssociatedData(delivery.EnvelopeId, delivery.ConversationId, delivery.SenderDeviceId, delivery.Kind);
            Assert.Throws<SenderMemberMismatchException>(() => aline.SessionsPart.Decrypt(page, delivery, null, associatedData));
        }
        finally
        {
            aline.Store.Release();
        }
    }

    [Fact]
    public async Task AFirstMessageFromAVouchedDevice_RevokedBeforeTheRecipientConnects_IsStillReceived()
    {
        await using var w = await SetUpAsync();
        var conversation = (await w.Aline.CreateConversationAsync([w.BrunoId])).ConversationId;
        var phone = await w.Platform.EnrolDeviceAsync(w.AdminY, w.BrunoId);
        Assert.True(phone.IsApproved);

        // Aline is offline; Bruno's phone starts its session with her (a prekey message), then is revoked.
        var alineStore = await w.Platform.ReleaseAsync(w.Aline);
        await phone.SendTextAsync(conversation, "envoyé avant la révocation");
        await w.AdminY.Api.RevokeDeviceAsync(await w.AdminY.GetAccessTokenAsync(), phone.DeviceId);

        await using var aline = await w.Platform.OpenAsync(alineStore, connect: false);
        var failures = new System.Collections.Concurrent.ConcurrentQueue<DeliveryFailure>();
        aline.DeliveryFailed += (_, failure) => failures.Enqueue(failure);
        await aline.ConnectAsync();
        await aline.SynchronizeAsync();
        Assert.Empty(failures);
        var received = Assert.Single(await aline.GetInboxAsync(), m => m.Text == "envoyé avant la révocation");
        Assert.Equal((w.BrunoId, phone.DeviceId), (received.SenderMemberId, received.SenderDeviceId));
        Assert.Contains((phone.DeviceId, false), await aline.GetDevicesAsync(w.BrunoId));
    }
}

/// <summary>Devices enrolled before cross-signing become their member's first signed set.</summary>
public sealed class CrossSigningMigrationTests
{
    [Fact]
    public async Task TheFirstUpgradedDevice_CertifiesTheMembersListedDevices_AndTheOthersTakeTheKeyWhenTheyConnect()
    {
        await using var platform = await Platform.StartAsync();
        var (_, adminX) = await platform.CreateOrganisationAsync("Service de prévention de Molenbeek");
        var (_, adminY) = await platform.CreateOrganisationAsync("CAPREV");
        var aline = await platform.EnrolDeviceAsync(adminX, await platform.CreateMemberAsync(adminX, "Aline"));
        var bruno = await platform.CreateMemberAsync(adminY, "Bruno");
        var legacy = Platform.ClientOptions with { WithoutCrossSigning = true };
        var legacyLaptop = await platform.EnrolDeviceAsync(adminY, bruno, connect: false, options: legacy);
        Assert.False(legacyLaptop.IsApproved, "right after enrol");
        var oldLaptop = await platform.ReleaseAsync(legacyLaptop);
        var oldPhone = await platform.ReleaseAsync(await platform.EnrolDeviceAsync(adminY, bruno, connect: false, options: legacy));
        var conversation = (await aline.CreateConversationAsync([bruno])).ConversationId;

        // Before any upgrade, Bruno's devices are vouched for by nothing: they get nothing and Aline is told.
        var before = await Assert.ThrowsAsync<SendNotCompletedException>(() => aline.SendTextAsync(conversation, "avant"));
        Assert.Contains("vouched", before.Message, StringComparison.Ordinal);

        var laptop = await platform.OpenAsync(oldLaptop);
        Assert.True(laptop.IsApproved);
        var phone = await platform.OpenAsync(oldPhone);
        Assert.True(phone.IsApproved);

        var receipt = await aline.SendTextAsync(conversation, "après");
        Assert.Empty(receipt.Unreachable);
        await laptop.InboxWhenAsync(i => i.Any(m => m.Text == "après"));
        await phone.InboxWhenAsync(i => i.Any(m => m.Text == "après"));
    }
}
