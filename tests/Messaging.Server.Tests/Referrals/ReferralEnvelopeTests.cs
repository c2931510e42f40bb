using System.Text;
using Messaging.Contracts;
using Messaging.Contracts.Referrals;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;

namespace Messaging.Server.Tests;

/// <summary>The referral and consent rules of the send path: each refusal has its code and stores nothing.</summary>
public abstract class ReferralEnvelopeTests(StorageProvider storage)
{
    public static TheoryData<EnvelopeKind> ReferralBoundKinds() =>
        [EnvelopeKind.Referral, EnvelopeKind.ReferralResponse, EnvelopeKind.IdentityShare, EnvelopeKind.CaseFile];

    private sealed class World : IAsyncDisposable
    {
        public required MessagingApp App { get; init; }

        public required TestOrganisation A { get; init; }

        public required TestOrganisation B { get; init; }

        public required TestOrganisation C { get; init; }

        public required ConnectedDevice WorkerA { get; set; }

        public required ConnectedDevice WorkerB { get; set; }

        public required Guid Conversation { get; init; }

        public required string CaseReference { get; init; }

        public async ValueTask DisposeAsync()
        {
            await WorkerA.DisposeAsync();
            await WorkerB.DisposeAsync();
            await App.DisposeAsync();
        }

        public async Task<SendEnvelopeRequest> BuildAsync(ConnectedDevice from, EnvelopeKind kind, string? caseReference = null, Guid? consentId = null)
            => await MessagingApp.BuildCaseSendAsync(from, Conversation, kind, caseReference ?? CaseReference, consentId);

        /// <summary>Asserts the refusal code and that no envelope, copy or acceptance entry was stored.</summary>
        public async Task AssertRefusedAsync(string code, ConnectedDevice from, SendEnvelopeRequest request)
        {
            var before = await App.EnvelopeRowsAsync();
            await Refusal.AssertHubAsync(code, () => from.SendAsync(request));
            Assert.Equal(before, await App.EnvelopeRowsAsync());
        }

        public static async Task AssertAcceptedAsync(ConnectedDevice from, SendEnvelopeRequest request)
            => Assert.Equal(SendOutcome.Accepted, (await from.SendAsync(request)).Outcome);
    }

    private async Task<World> SetUpAsync()
    {
        var app = new MessagingApp(storage);
        var a = await app.CreateOrganisationAsync();
        var b = await app.CreateOrganisationAsync();
        var c = await app.CreateOrganisationAsync();
        var workerA = await app.ConnectWorkerAsync(a);
        var workerB = await app.ConnectWorkerAsync(b);
        var conversation = await MessagingApp.CreateConversationAsync(workerA, false, workerB.Device.Member);
        var referral = await MessagingApp.OpenReferralAsync(workerA, b.Id);
        return new World
        {
            App = app, A = a, B = b, C = c, WorkerA = workerA, WorkerB = workerB,
            Conversation = conversation.ConversationId, CaseReference = referral.CaseReference,
        };
    }

    [Theory]
    [MemberData(nameof(ReferralBoundKinds))]
    public async Task ACaseBoundEnvelope_NamesAnExistingReferralOfItsOrganisations(EnvelopeKind kind)
    {
        await using var w = await SetUpAsync();
        await w.AssertRefusedAsync(ErrorCodes.CaseReferenceRequired, w.WorkerA, await MessagingApp.BuildSendAsync(w.WorkerA, w.Conversation, kind));
        await w.AssertRefusedAsync(ErrorCodes.Malformed, w.WorkerA, await w.BuildAsync(w.WorkerA, kind, "not-a-case-reference"));
        await w.AssertRefusedAsync(ErrorCodes.ReferralNotFound, w.WorkerA, await w.BuildAsync(w.WorkerA, kind, CaseReference.New()));

        // A referral between other organisations is invisible.
        await using var workerC = await w.App.ConnectWorkerAsync(w.C);
        var foreign = await MessagingApp.OpenReferralAsync(workerC, w.B.Id);
        await w.AssertRefusedAsync(ErrorCodes.ReferralNotFound, w.WorkerA, await w.BuildAsync(w.WorkerA, kind, foreign.CaseReference));
    }

    [Fact]
    public async Task ReferralsGoFromTheReferringService_ResponsesFromTheReceivingService()
    {
        await using var w = await SetUpAsync();
        await World.AssertAcceptedAsync(w.WorkerA, await w.BuildAsync(w.WorkerA, EnvelopeKind.Referral));
        await w.AssertRefusedAsync(ErrorCodes.ReferralWrongParty, w.WorkerB, await w.BuildAsync(w.WorkerB, EnvelopeKind.Referral));
        await World.AssertAcceptedAsync(w.WorkerB, await w.BuildAsync(w.WorkerB, EnvelopeKind.ReferralResponse));
        await w.AssertRefusedAsync(ErrorCodes.ReferralWrongParty, w.WorkerA, await w.BuildAsync(w.WorkerA, EnvelopeKind.ReferralResponse));
    }

    [Fact]
    public async Task AnIdentityShare_BeforeAcceptance_IsRefused_AfterItGoesToTheAcceptingService()
    {
        await using var w = await SetUpAsync();
        await w.AssertRefusedAsync(ErrorCodes.ReferralNotAccepted, w.WorkerA, await w.BuildAsync(w.WorkerA, EnvelopeKind.IdentityShare));
        await MessagingApp.RespondAsync(w.WorkerB, w.CaseReference, ReferralResponse.ProposeTripartite);
        await w.AssertRefusedAsync(ErrorCodes.ReferralNotAccepted, w.WorkerA, await w.BuildAsync(w.WorkerA, EnvelopeKind.IdentityShare));

        await MessagingApp.RespondAsync(w.WorkerB, w.CaseReference, ReferralResponse.Accept);
        await w.AssertRefusedAsync(ErrorCodes.ReferralWrongParty, w.WorkerB, await w.BuildAsync(w.WorkerB, EnvelopeKind.IdentityShare));
        await World.AssertAcceptedAsync(w.WorkerA, await w.BuildAsync(w.WorkerA, EnvelopeKind.IdentityShare));
        Assert.Single(await w.WorkerB.ReceiveAsync(1), e => e.Kind == EnvelopeKind.IdentityShare);
    }

    [Theory]
    [MemberData(nameof(ReferralBoundKinds))]
    public async Task AConversationWithAThirdOrganisation_CarriesNoCaseEnvelope(EnvelopeKind kind)
    {
        await using var w = await SetUpAsync();
        var outsider = await w.App.CreateMemberAsync(w.C);
        await w.App.EnrolDeviceAsync(outsider);
        await w.WorkerA.InvokeAsync<ConversationSummary>(nameof(IMessagingHub.AddConversationMember), new ConversationMemberRequest(w.Conversation, outsider.Id));
        var from = kind == EnvelopeKind.ReferralResponse ? w.WorkerB : w.WorkerA;
        await w.AssertRefusedAsync(ErrorCodes.ReferralParticipantsOutside, from, await w.BuildAsync(from, kind));
    }

    [Theory]
    [MemberData(nameof(ReferralBoundKinds))]
    public async Task AFinalReferral_CarriesNoMoreCaseEnvelopes(EnvelopeKind kind)
    {
        await using var w = await SetUpAsync();
        await MessagingApp.RespondAsync(w.WorkerB, w.CaseReference, ReferralResponse.Decline, ReferralDeclineReason.OutsideTerritory);
        var from = kind == EnvelopeKind.ReferralResponse ? w.WorkerB : w.WorkerA;
        await w.AssertRefusedAsync(ErrorCodes.ReferralClosed, from, await w.BuildAsync(from, kind));
    }

    [Fact]
    public async Task ACaseFile_WithoutALiveConsentForTheRecipients_IsRefused_WithALiveOneItTravels()
    {
        await using var w = await SetUpAsync();
        await MessagingApp.RespondAsync(w.WorkerB, w.CaseReference, ReferralResponse.Accept);
        var now = w.App.Clock.GetUtcNow();
        await using var workerC = await w.App.ConnectWorkerAsync(w.C);
        var otherCase = await MessagingApp.OpenReferralAsync(w.WorkerA, w.C.Id);
        var forOtherCase = await MessagingApp.RecordConsentAsync(w.WorkerA, otherCase.CaseReference, w.C.Id, now.AddDays(30));
        var revoked = await MessagingApp.RecordConsentAsync(w.WorkerA, w.CaseReference, w.B.Id, now.AddDays(30));
        await w.WorkerA.InvokeAsync<ConsentEntry>(nameof(IMessagingHub.RevokeConsent), new RevokeConsentRequest(revoked.ConsentId));
        var shortLived = await MessagingApp.RecordConsentAsync(w.WorkerA, w.CaseReference, w.B.Id, now.AddMinutes(10));
        var live = await MessagingApp.RecordConsentAsync(w.WorkerA, w.CaseReference, w.B.Id, now.AddDays(90));

        await w.AssertRefusedAsync(ErrorCodes.ConsentRequired, w.WorkerA, await w.BuildAsync(w.WorkerA, EnvelopeKind.CaseFile));
        await w.AssertRefusedAsync(ErrorCodes.ConsentRequired, w.WorkerA, await w.BuildAsync(w.WorkerA, EnvelopeKind.CaseFile, consentId: Guid.NewGuid()));
        await w.AssertRefusedAsync(ErrorCodes.ConsentRequired, w.WorkerA, await w.BuildAsync(w.WorkerA, EnvelopeKind.CaseFile, consentId: forOtherCase.ConsentId));
        await w.AssertRefusedAsync(ErrorCodes.ConsentRevoked, w.WorkerA, await w.BuildAsync(w.WorkerA, EnvelopeKind.CaseFile, consentId: revoked.ConsentId));

        // The receiving service cannot send the case file back under the referring service's consent.
        await w.AssertRefusedAsync(ErrorCodes.ConsentOtherService, w.WorkerB, await w.BuildAsync(w.WorkerB, EnvelopeKind.CaseFile, consentId: live.ConsentId));

        await World.AssertAcceptedAsync(w.WorkerA, await w.BuildAsync(w.WorkerA, EnvelopeKind.CaseFile, consentId: shortLived.ConsentId));
        w.App.Clock.SetUtcNow(shortLived.ValidUntil);
        await w.AssertRefusedAsync(ErrorCodes.ConsentExpired, w.WorkerA, await w.BuildAsync(w.WorkerA, EnvelopeKind.CaseFile, consentId: shortLived.ConsentId));
        await World.AssertAcceptedAsync(w.WorkerA, await w.BuildAsync(w.WorkerA, EnvelopeKind.CaseFile, consentId: live.ConsentId));
        Assert.Equal(2, (await w.WorkerB.ReceiveAsync(2)).Count(e => e.Kind == EnvelopeKind.CaseFile));
    }

    [Fact]
    public async Task ACaseFile_BeforeAcceptance_IsRefused_EvenUnderALiveConsent()
    {
        await using var w = await SetUpAsync();
        var consent = await MessagingApp.RecordConsentAsync(w.WorkerA, w.CaseReference, w.B.Id, w.App.Clock.GetUtcNow().AddDays(30));
        await w.AssertRefusedAsync(ErrorCodes.ReferralNotAccepted, w.WorkerA, await w.BuildAsync(w.WorkerA, EnvelopeKind.CaseFile, consentId: consent.ConsentId));
        await MessagingApp.RespondAsync(w.WorkerB, w.CaseReference, ReferralResponse.ProposeTripartite);
        await w.AssertRefusedAsync(ErrorCodes.ReferralNotAccepted, w.WorkerA, await w.BuildAsync(w.WorkerA, EnvelopeKind.CaseFile, consentId: consent.ConsentId));

        await MessagingApp.RespondAsync(w.WorkerB, w.CaseReference, ReferralResponse.Accept);
        await World.AssertAcceptedAsync(w.WorkerA, await w.BuildAsync(w.WorkerA, EnvelopeKind.CaseFile, consentId: consent.ConsentId));
    }

    [Fact]
    public async Task AConsent_NamesTheReferralsReceivingService_AndNoOther()
    {
        await using var w = await SetUpAsync();
        var now = w.App.Clock.GetUtcNow();
        await Refusal.AssertHubAsync(ErrorCodes.ConsentOtherService, () => MessagingApp.RecordConsentAsync(w.WorkerA, w.CaseReference, w.C.Id, now.AddDays(30)));
        await using var workerC = await w.App.ConnectWorkerAsync(w.C);
        await Refusal.AssertHubAsync(ErrorCodes.ReferralNotFound, () => MessagingApp.RecordConsentAsync(workerC, w.CaseReference, w.B.Id, now.AddDays(30)));
        Assert.Equal(0, await w.App.CountAsync("consents"));
        Assert.Equal(0, await w.App.CountAsync("audit_log", "event_type = 'consent.recorded'"));
    }

    [Fact]
    public async Task RevokingAConsent_StopsTheNextCaseFileAtOnce()
    {
        await using var w = await SetUpAsync();
        await MessagingApp.RespondAsync(w.WorkerB, w.CaseReference, ReferralResponse.Accept);
        var consent = await MessagingApp.RecordConsentAsync(w.WorkerA, w.CaseReference, w.B.Id, w.App.Clock.GetUtcNow().AddDays(30));
        await World.AssertAcceptedAsync(w.WorkerA, await w.BuildAsync(w.WorkerA, EnvelopeKind.CaseFile, consentId: consent.ConsentId));

        // The person told the receiving service: either side records the revocation.
        var revoked = await w.WorkerB.InvokeAsync<ConsentEntry>(nameof(IMessagingHub.RevokeConsent), new RevokeConsentRequest(consent.ConsentId));
        Assert.Equal(w.WorkerB.Device.Member.Id, revoked.RevokedByMemberId);
        await w.AssertRefusedAsync(ErrorCodes.ConsentRevoked, w.WorkerA, await w.BuildAsync(w.WorkerA, EnvelopeKind.CaseFile, consentId: consent.ConsentId));
        Assert.Equal(revoked, await w.WorkerA.InvokeAsync<ConsentEntry>(nameof(IMessagingHub.RevokeConsent), new RevokeConsentRequest(consent.ConsentId)));
        var listed = await w.WorkerA.InvokeAsync<IReadOnlyList<ConsentEntry>>(nameof(IMessagingHub.ListConsents), new ListConsentsRequest(w.CaseReference));
        Assert.Equal([revoked], listed);
        Assert.Equal(1, await w.App.CountAsync("audit_log", "event_type = 'consent.revoked'"));
    }

    [Fact]
    public async Task RecordingAConsent_IsForTheReferringService_WithABoundedValidity()
    {
        await using var w = await SetUpAsync();
        var now = w.App.Clock.GetUtcNow();
        await using var workerC = await w.App.ConnectWorkerAsync(w.C);
        await Refusal.AssertHubAsync(ErrorCodes.ReferralWrongParty, () => MessagingApp.RecordConsentAsync(w.WorkerB, w.CaseReference, w.A.Id, now.AddDays(1)));
        await Refusal.AssertHubAsync(ErrorCodes.ReferralNotFound, () => MessagingApp.RecordConsentAsync(workerC, w.CaseReference, w.B.Id, now.AddDays(1)));
        await Refusal.AssertHubAsync(ErrorCodes.Malformed, () => MessagingApp.RecordConsentAsync(w.WorkerA, w.CaseReference, w.B.Id, now));
        await Refusal.AssertHubAsync(ErrorCodes.Malformed, () => MessagingApp.RecordConsentAsync(w.WorkerA, w.CaseReference, w.B.Id, now.AddDays(366)));
        await Refusal.AssertHubAsync(ErrorCodes.ConsentOtherService, () => MessagingApp.RecordConsentAsync(w.WorkerA, w.CaseReference, Guid.NewGuid(), now.AddDays(1)));
        await Refusal.AssertHubAsync(ErrorCodes.ConsentOtherService, () => MessagingApp.RecordConsentAsync(w.WorkerA, w.CaseReference, w.C.Id, now.AddDays(1)));
        await Refusal.AssertHubAsync(ErrorCodes.ReferralNotFound, () => workerC.InvokeAsync<IReadOnlyList<ConsentEntry>>(nameof(IMessagingHub.ListConsents), new ListConsentsRequest(w.CaseReference)));
        Assert.Equal(0, await w.App.CountAsync("consents"));

        var consent = await MessagingApp.RecordConsentAsync(w.WorkerA, w.CaseReference, w.B.Id, now.AddDays(365));
        Assert.Equal((w.WorkerA.Device.Member.Id, w.B.Id, (DateTimeOffset?)null), (consent.RecordedByMemberId, consent.ReceivingOrganisationId, consent.RevokedAt));
        Assert.Equal([consent], await w.WorkerB.InvokeAsync<IReadOnlyList<ConsentEntry>>(nameof(IMessagingHub.ListConsents), new ListConsentsRequest(w.CaseReference)));
    }

    [Theory]
    [InlineData(EnvelopeKind.Referral)]
    [InlineData(EnvelopeKind.ReferralResponse)]
    [InlineData(EnvelopeKind.IdentityShare)]
    [InlineData(EnvelopeKind.CaseFile)]
    [InlineData(EnvelopeKind.AttendanceNotice)]
    public async Task ACollectiveConversation_StillRefusesEveryCaseBoundKind_EvenUnderAValidReferralAndConsent(EnvelopeKind kind)
    {
        await using var w = await SetUpAsync();
        await MessagingApp.RespondAsync(w.WorkerB, w.CaseReference, ReferralResponse.Accept);
        var consent = await MessagingApp.RecordConsentAsync(w.WorkerA, w.CaseReference, w.B.Id, w.App.Clock.GetUtcNow().AddDays(30));
        var collective = await MessagingApp.CreateConversationAsync(w.WorkerA, true, w.WorkerB.Device.Member);
        var from = kind == EnvelopeKind.ReferralResponse ? w.WorkerB : w.WorkerA;
        var request = await MessagingApp.BuildCaseSendAsync(from, collective.ConversationId, kind, w.CaseReference, consent.ConsentId);
        await w.AssertRefusedAsync(ErrorCodes.KindRefused, from, request);
    }

    [Fact]
    public async Task TheServer_StoresOnlyTheCaseReferenceOrganisationsStatusAndTimes_AndLogsNoCaseReference()
    {
        await using var w = await SetUpAsync();
        const string Marker = "Yasmine Marqueur-Privé, née le 04/05/2006, rue Haute 12, 1000 Bruxelles";
        await MessagingApp.RespondAsync(w.WorkerB, w.CaseReference, ReferralResponse.Accept);
        var consent = await MessagingApp.RecordConsentAsync(w.WorkerA, w.CaseReference, w.B.Id, w.App.Clock.GetUtcNow().AddDays(30));
        foreach (var (kind, consentId) in new[] { (EnvelopeKind.Referral, (Guid?)null), (EnvelopeKind.IdentityShare, null), (EnvelopeKind.CaseFile, consent.ConsentId) })
        {
            var request = await w.BuildAsync(w.WorkerA, kind, consentId: consentId);
            Assert.DoesNotContain(request.Recipients, r => r.Ciphertext.AsSpan().IndexOf(Encoding.UTF8.GetBytes(Marker)) >= 0);
            await World.AssertAcceptedAsync(w.WorkerA, request);
        }

        // The referral table has exactly these columns: no field for content, person, member or free text.
        var columns = await w.App.ColumnsAsync("referrals");
        Assert.Equal(["case_reference", "id", "referring_organisation_id", "receiving_organisation_id", "status", "decline_reason", "opened_at",
            "status_changed_at", "expires_at", "accepted_at", "declined_at"], columns);
        var consentColumns = await w.App.ColumnsAsync("consents");
        Assert.Equal(["id", "case_reference", "receiving_organisation_id", "recorded_by_member_id", "recorded_at", "valid_until", "revoked_at", "revoked_by_member_id"], consentColumns);

        // The case reference appears in the referral and consent rows only: not in envelopes, the audit log, or the logs.
        foreach (var (table, expression) in new[]
        {
            ("audit_log", "event_type || subjects || COALESCE(detail, '')"), ("envelopes", "envelope_id || conversation_id"),
            ("organisations", "name"), ("members", "display_name || work_email"),
        })
        {
            Assert.Equal(0, await w.App.CountAsync(table, $"{expression} LIKE '%{w.CaseReference}%'"));
        }

        Assert.DoesNotContain(w.App.Logs.Lines, l => l.Contains(w.CaseReference, StringComparison.Ordinal) || l.Contains("Marqueur", StringComparison.Ordinal));
        Assert.False(await w.App.StoredBytesContainAsync(Encoding.UTF8.GetBytes("Marqueur")));
    }

    public sealed class OnSqlite() : ReferralEnvelopeTests(StorageProvider.Sqlite);

    public sealed class OnPostgres() : ReferralEnvelopeTests(StorageProvider.Postgres);
}
