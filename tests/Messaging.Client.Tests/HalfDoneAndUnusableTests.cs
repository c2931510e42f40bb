using Messaging.Client.Cases;
using Messaging.Client.Tests.Infrastructure;
using Messaging.Contracts;
using Messaging.Contracts.Referrals;
using Microsoft.Data.Sqlite;

namespace Messaging.Client.Tests;

/// <summary>Issue 11: a device with an unusable prekey bundle does not sink a send; refer and respond resume after a
/// failed step with the same envelope id.</summary>
public sealed class HalfDoneAndUnusableTests(SharedPlatform shared) : IClassFixture<SharedPlatform>
{
    [Fact]
    public async Task ARecipientDeviceWithAnUnusableBundle_IsSkippedAndReported_AndTheOthersReceive()
    {
        var platform = shared.Platform;
        var (_, admin) = await platform.CreateOrganisationAsync("Ville d'Anderlecht");
        var alice = await platform.EnrolDeviceAsync(admin, await platform.CreateMemberAsync(admin, "Alice"));
        var bobMember = await platform.CreateMemberAsync(admin, "Bob");
        var bob = await platform.EnrolDeviceAsync(admin, bobMember);
        var carolMember = await platform.CreateMemberAsync(admin, "Carol");
        var carol = await platform.EnrolDeviceAsync(admin, carolMember);

        // Carol's device now publishes an all-zero (low-order) signed prekey: written in the server's database, as a
        // server that no longer accepts such keys at upload could still hold one from before.
        await using (var connection = new SqliteConnection($"Data Source={platform.Server.DatabasePath}"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "UPDATE devices SET signed_prekey_public = $key WHERE id = $id";
            command.Parameters.AddWithValue("$key", new byte[32]);
            command.Parameters.AddWithValue("$id", carol.DeviceId.ToString("D"));
            Assert.Equal(1, await command.ExecuteNonQueryAsync());
        }

        var reported = new List<UnreachableDevice>();
        alice.DeviceUnreachable += (_, device) => reported.Add(device);
        var conversation = await alice.CreateConversationAsync([bobMember, carolMember]);
        var receipt = await alice.SendTextAsync(conversation.ConversationId, "à tous");

        Assert.Equal("à tous", (await bob.NextAsync()).Text);
        var skipped = Assert.Single(receipt.Unreachable);
        Assert.Equal((carol.DeviceId, carolMember), (skipped.DeviceId, skipped.MemberId));
        Assert.Equal(skipped, Assert.Single(reported));
        Assert.Equal(1, receipt.Recipients);
    }

    [Fact]
    public async Task AReferralWhoseSendFailed_IsCompletedByARetry_UnderOneReferralAndOneEnvelopeId()
    {
        // Depends on the server's idempotent OpenReferral (a repeat while proposed returns the existing entry).
        var platform = shared.Platform;
        var (_, adminX) = await platform.CreateOrganisationAsync("Service de prévention de Molenbeek");
        var aline = await platform.EnrolDeviceAsync(adminX, await platform.CreateMemberAsync(adminX, "Aline"));
        // Service Y has no enrolled device yet: the referral is opened, then its envelope has nowhere to go.
        var token = await platform.Operator.GetAccessTokenAsync();
        var serviceY = (await platform.Operator.Api.CreateOrganisationAsync(token, new CreateOrganisationRequest("Service d'aide aux familles", OrganisationTypes.PreventionService))).OrganisationId;
        var adminY = await platform.Operator.Api.CreateMemberAsync(token, new CreateMemberRequest(serviceY, "Bruno", Roles.OrganisationAdmin, "bruno@aide.example"));
        var record = new ReferralRecord(CaseReference.New(), RequestNature.Individual, Requester.Family, "21012", false, ReasonCategory.PsychosocialSupport, Urgency.Priority);

        await Assert.ThrowsAsync<MessagingClientException>(() => aline.ReferAsync(serviceY, record));

        var bruno = await platform.EnrolDeviceAsync(platform.Operator, adminY.MemberId);
        var sent = await aline.ReferAsync(serviceY, record);

        Assert.Equal(ReferralStatus.Proposed, sent.Referral.Status);
        Assert.Single(await aline.ListReferralsAsync(), r => r.CaseReference == record.CaseReference);
        await bruno.InboxWhenAsync(i => i.Any(m => m.Kind == EnvelopeKind.Referral && m.EnvelopeId == sent.EnvelopeId));
        Assert.Equal(record, (await bruno.GetCaseAsync(record.CaseReference)).Referral);
        Assert.Empty(await aline.Store.UnderLockAsync(() => aline.Store.Keys.PendingOperations.Keys.ToList(), CancellationToken.None));
    }

    [Fact]
    public async Task AResponseWhoseEnvelopeWasRefused_IsCompletedByARetry_WithTheSameEnvelopeId()
    {
        // Depends on the server's idempotent RespondToReferral (the same response again returns the current entry).
        var platform = shared.Platform;
        var (_, adminX) = await platform.CreateOrganisationAsync("Service de prévention de Molenbeek");
        var (serviceY, adminY) = await platform.CreateOrganisationAsync("Service d'aide aux familles");
        var (_, adminZ) = await platform.CreateOrganisationAsync("Ville de Verviers");
        var aline = await platform.EnrolDeviceAsync(adminX, await platform.CreateMemberAsync(adminX, "Aline"));
        var bruno = await platform.EnrolDeviceAsync(adminY, await platform.CreateMemberAsync(adminY, "Bruno"));
        var outsider = await platform.CreateMemberAsync(adminZ, "Odile");
        var record = new ReferralRecord(CaseReference.New(), RequestNature.Individual, Requester.Family, "21012", false, ReasonCategory.PsychosocialSupport, Urgency.Priority);
        var sent = await aline.ReferAsync(serviceY, record);
        await bruno.InboxWhenAsync(i => i.Any(m => m.Kind == EnvelopeKind.Referral));

        // A member of a third service in the case's conversation: the server records the acceptance, then refuses the
        // answer's envelope (case-bound envelopes stay between the two services).
        await aline.AddConversationMemberAsync(sent.ConversationId, outsider);
        await Assert.ThrowsAsync<NotPermittedException>(() => bruno.RespondToReferralAsync(record.CaseReference, ReferralResponse.Accept));
        Assert.Equal(ReferralStatus.Accepted, (await bruno.ListReferralsAsync()).Single(r => r.CaseReference == record.CaseReference).Status);
        var pending = await bruno.Store.UnderLockAsync(() => bruno.Store.Keys.PendingOperations[record.CaseReference], CancellationToken.None);

        await aline.RemoveConversationMemberAsync(sent.ConversationId, outsider);
        var entry = await bruno.RespondToReferralAsync(record.CaseReference, ReferralResponse.Accept);

        Assert.Equal(ReferralStatus.Accepted, entry.Status);
        var answer = (await aline.InboxWhenAsync(i => i.Any(m => m.Kind == EnvelopeKind.ReferralResponse))).Single(m => m.Kind == EnvelopeKind.ReferralResponse);
        Assert.Equal(pending.EnvelopeId, answer.EnvelopeId);
        Assert.Equal(ReferralResponse.Accept, Assert.Single((await aline.GetCaseAsync(record.CaseReference)).Answers).Response);
        Assert.Empty(await bruno.Store.UnderLockAsync(() => bruno.Store.Keys.PendingOperations.Keys.ToList(), CancellationToken.None));
    }
}
