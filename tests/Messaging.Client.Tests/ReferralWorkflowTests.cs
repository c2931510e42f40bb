using System.Text;
using Messaging.Client.Cases;
using Messaging.Client.Tests.Infrastructure;
using Messaging.Contracts;
using Messaging.Contracts.Referrals;

namespace Messaging.Client.Tests;

/// <summary>The referral workflow of protocol section 7 end to end, against the real server process (one for the class:
/// each test has its own three services and their devices).</summary>
public sealed class ReferralWorkflowTests(SharedPlatform shared) : IClassFixture<SharedPlatform>
{
    private sealed record World(Platform Platform, Guid ServiceX, Guid ServiceY, MessagingClient Aline, MessagingClient Bruno, MessagingClient BrunoPhone,
        MessagingClient Outsider);

    private async Task<World> SetUpAsync()
    {
        var platform = shared.Platform;
        var (serviceX, adminX) = await platform.CreateOrganisationAsync("Service de prévention de Molenbeek");
        var (serviceY, adminY) = await platform.CreateOrganisationAsync("Service d'aide aux familles");
        var (_, adminZ) = await platform.CreateOrganisationAsync("Ville de Verviers");
        var aline = await platform.EnrolDeviceAsync(adminX, await platform.CreateMemberAsync(adminX, "Aline"));
        var brunoId = await platform.CreateMemberAsync(adminY, "Bruno");
        var bruno = await platform.EnrolDeviceAsync(adminY, brunoId);
        var brunoPhone = await platform.EnrolDeviceAsync(adminY, brunoId);
        var outsider = await platform.EnrolDeviceAsync(adminZ, await platform.CreateMemberAsync(adminZ, "Odile"));
        return new World(platform, serviceX, serviceY, aline, bruno, brunoPhone, outsider);
    }

    private static ReferralRecord NewReferral(bool followUpOngoing = false)
        => new(CaseReference.New(), RequestNature.Individual, Requester.Family, "21012", followUpOngoing, ReasonCategory.PsychosocialSupport, Urgency.Priority);

    private static Task<IReadOnlyList<InboxMessage>> ReceivedAsync(MessagingClient device, EnvelopeKind kind, int count = 1)
        => device.InboxWhenAsync(i => i.Count(m => m.Kind == kind) >= count);

    [Fact]
    public async Task TheWholeFlow_SharesOnlyWhatEachStepAllows_AndTheServerNeverHoldsIdentityOrCaseText()
    {
        var w = await SetUpAsync();
        var marker = Guid.NewGuid().ToString("N")[..10];
        var identity = (string Case) => new PersonIdentity(Case, $"Dupont{marker}", $"Jean{marker}", new DateOnly(2004, 5, 6), "+32 470 12 34 56",
            $"jean.{marker}@example.be", $"Rue Haute {marker}, 1000 Bruxelles");
        var noteText = $"Synthèse confidentielle {marker} : entretien du 3 mars.";

        // Orient: the services accepting referrals for Molenbeek, local first.
        var orientation = await w.Aline.OrientAsync("21012");
        Assert.Equal("Molenbeek-Saint-Jean", orientation.Commune.Name);
        Assert.NotEmpty(orientation.Services);

        // Refer: the minimal record reaches every device of the receiving service, and nothing else does.
        var record = NewReferral();
        var sent = await w.Aline.ReferAsync(w.ServiceY, record);
        Assert.Equal(ReferralStatus.Proposed, sent.Referral.Status);
        Assert.Equal((w.ServiceX, w.ServiceY), (sent.Referral.ReferringOrganisationId, sent.Referral.ReceivingOrganisationId));
        await ReceivedAsync(w.Bruno, EnvelopeKind.Referral);
        await ReceivedAsync(w.BrunoPhone, EnvelopeKind.Referral);
        Assert.Equal(record, (await w.Bruno.GetCaseAsync(record.CaseReference)).Referral);
        Assert.Equal(record, (await w.Aline.GetCaseAsync(record.CaseReference)).Referral);
        await Assert.ThrowsAsync<CaseNotFoundException>(() => w.Outsider.GetCaseAsync(record.CaseReference));
        Assert.Empty(await w.Outsider.ListReferralsAsync());

        // The identity waits for the acceptance.
        var early = await Assert.ThrowsAsync<StateConflictException>(() => w.Aline.ShareIdentityAsync(identity(record.CaseReference)));
        Assert.Equal(ErrorCodes.ReferralNotAccepted, early.Code);

        // Accept: the status changes on the server, and the answer reaches the referring worker end to end.
        Assert.Equal(ReferralStatus.Accepted, (await w.Bruno.RespondToReferralAsync(record.CaseReference, ReferralResponse.Accept)).Status);
        await ReceivedAsync(w.Aline, EnvelopeKind.ReferralResponse);
        Assert.Equal(ReferralResponse.Accept, Assert.Single((await w.Aline.GetCaseAsync(record.CaseReference)).Answers).Response);

        // The identity, to the accepting service only.
        var identityReceipt = await w.Aline.ShareIdentityAsync(identity(record.CaseReference));
        // Bruno's two devices and the receiving service's admin: members of the accepting service only.
        Assert.Equal(3, identityReceipt.Recipients);
        await ReceivedAsync(w.Bruno, EnvelopeKind.IdentityShare);
        Assert.Equal(identity(record.CaseReference), Assert.Single((await w.Bruno.GetCaseAsync(record.CaseReference)).Identities));

        // Case-file content: refused without a consent, carried under a live one, refused again once it is revoked.
        var unconsented = await Assert.ThrowsAsync<NotPermittedException>(() =>
            w.Aline.SendCaseNoteAsync(new CaseNote(record.CaseReference, Guid.NewGuid(), noteText, [])));
        Assert.Equal(ErrorCodes.ConsentRequired, unconsented.Code);
        var consent = await w.Aline.RecordConsentAsync(record.CaseReference, w.ServiceY, TimeProvider.System.GetUtcNow().AddDays(30));
        Assert.Equal(w.Aline.MemberId, consent.RecordedByMemberId);
        await w.Aline.SendCaseNoteAsync(record.CaseReference, consent.ConsentId, noteText, [new Attachments.AttachmentFile("bilan.txt", "text/plain", Encoding.UTF8.GetBytes(noteText))]);
        await ReceivedAsync(w.Bruno, EnvelopeKind.CaseFile);
        var note = Assert.Single((await w.Bruno.GetCaseAsync(record.CaseReference)).Notes);
        Assert.Equal(noteText, note.Text);
        await w.Aline.RevokeConsentAsync(consent.ConsentId);
        var revoked = await Assert.ThrowsAsync<NotPermittedException>(() =>
            w.Aline.SendCaseNoteAsync(new CaseNote(record.CaseReference, consent.ConsentId, noteText, [])));
        Assert.Equal(ErrorCodes.ConsentRevoked, revoked.Code);
        Assert.NotNull(Assert.Single(await w.Aline.ListConsentsAsync(record.CaseReference)).RevokedAt);

        // The committee report: counts only, never a case reference.
        var report = await w.Platform.Operator.Api.GetReferralReportAsync(await w.Platform.Operator.GetAccessTokenAsync(), TimeProvider.System.GetUtcNow().Year, ReportGranularities.Year, "csv");
        Assert.StartsWith("period,partner_type", report, StringComparison.Ordinal);
        Assert.DoesNotContain(record.CaseReference, report, StringComparison.Ordinal);

        // The server's files and logs: no identity, no case text, no referral content.
        var secrets = new[] { marker, "Dupont", "2004-05-06", "+32 470 12 34 56", "Synthèse", "psychosocial-support" };
        foreach (var file in Directory.GetFiles(w.Platform.Server.DataDirectory))
        {
            var bytes = await File.ReadAllBytesAsync(file);
            foreach (var secret in secrets)
            {
                Assert.True(bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(secret)) < 0, $"'{secret}' found in {Path.GetFileName(file)}");
                Assert.True(bytes.AsSpan().IndexOf(Encoding.Unicode.GetBytes(secret)) < 0, $"'{secret}' (UTF-16) found in {Path.GetFileName(file)}");
            }
        }

        var logs = w.Platform.Server.Logs;
        Assert.NotEmpty(logs);
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(secret, logs, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task AFollowUpRunningElsewhere_AllowsOnlyATripartiteInterviewFirst()
    {
        var w = await SetUpAsync();
        var record = NewReferral(followUpOngoing: true);
        await w.Aline.ReferAsync(w.ServiceY, record);
        await ReceivedAsync(w.Bruno, EnvelopeKind.Referral);

        await Assert.ThrowsAsync<FollowUpOngoingException>(() => w.Bruno.RespondToReferralAsync(record.CaseReference, ReferralResponse.Accept));
        await Assert.ThrowsAsync<FollowUpOngoingException>(() => w.Bruno.RespondToReferralAsync(record.CaseReference, ReferralResponse.Decline, ReferralDeclineReason.NoCapacity));
        Assert.Equal(ReferralStatus.Proposed, Assert.Single(await w.Aline.ListReferralsAsync()).Status);

        Assert.Equal(ReferralStatus.TripartiteProposed, (await w.Bruno.RespondToReferralAsync(record.CaseReference, ReferralResponse.ProposeTripartite)).Status);
        // After the interview the receiving service decides freely (7.B: a complementary intervention).
        Assert.Equal(ReferralStatus.Accepted, (await w.Bruno.RespondToReferralAsync(record.CaseReference, ReferralResponse.Accept)).Status);
    }

    [Fact]
    public async Task ARecordOutsideTheSchema_IsRefusedOnTheDevice_BeforeAnythingIsSent()
    {
        var w = await SetUpAsync();
        var draft = """{"nature":"individual","requester":"family","commune":"21012","followUpOngoing":false,"reason":"psychosocial-support","urgency":"normal","name":"Jean Dupont"}""";

        var refused = await Assert.ThrowsAsync<CaseRecordException>(() => w.Aline.ReferAsync(w.ServiceY, Encoding.UTF8.GetBytes(draft)));

        Assert.Equal("name", refused.Field);
        Assert.Empty(await w.Aline.ListReferralsAsync());
        Assert.Empty(await w.Aline.ListConversationsAsync());
        Assert.Empty(await w.Bruno.GetInboxAsync());
    }

    [Fact]
    public async Task OnlyTheReceivingService_Answers_AndOnlyTheReferringService_Withdraws()
    {
        var w = await SetUpAsync();
        var record = NewReferral();
        await w.Aline.ReferAsync(w.ServiceY, record);
        await ReceivedAsync(w.Bruno, EnvelopeKind.Referral);

        // The referring worker holds the record but is not the receiving party.
        var wrongParty = await Assert.ThrowsAsync<NotPermittedException>(() => w.Aline.RespondToReferralAsync(record.CaseReference, ReferralResponse.Accept));
        Assert.Equal(ErrorCodes.ReferralWrongParty, wrongParty.Code);
        await Assert.ThrowsAsync<NotPermittedException>(() => w.Bruno.WithdrawReferralAsync(record.CaseReference));

        Assert.Equal(ReferralStatus.Withdrawn, (await w.Aline.WithdrawReferralAsync(record.CaseReference)).Status);
        var closed = await Assert.ThrowsAsync<StateConflictException>(() => w.Bruno.RespondToReferralAsync(record.CaseReference, ReferralResponse.Accept));
        Assert.Equal(ErrorCodes.ReferralTransitionRefused, closed.Code);
    }
}
