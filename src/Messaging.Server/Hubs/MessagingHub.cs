using Messaging.Contracts;
using Messaging.Contracts.Referrals;
using Messaging.Server.Features.Authentication;
using Messaging.Server.Features.Consent;
using Messaging.Server.Features.Conversations;
using Messaging.Server.Features.Devices;
using Messaging.Server.Features.Directory;
using Messaging.Server.Features.Interviews;
using Messaging.Server.Features.Envelopes;
using Messaging.Server.Features.Members;
using Messaging.Server.Features.Notices;
using Messaging.Server.Features.Organisations;
using Messaging.Server.Features.Partners;
using Messaging.Server.Features.Referrals;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;

namespace Messaging.Server.Hubs;

/// <summary>
/// The only real-time surface. Thin: every method delegates to a feature service with the caller taken from the
/// connection's token. <see cref="HubErrorFilter"/> checks the device on every call and maps refusals to HubException.
/// </summary>
[Authorize]
internal sealed class MessagingHub(
    EnvelopeService envelopes,
    ConversationService conversations,
    DeviceService devices,
    OrganisationService organisations,
    MemberService members,
    DirectoryService directory,
    PartnerService partners,
    ReferralService referrals,
    ConsentService consents,
    InterviewService interviews,
    InterviewAvailabilityService availability,
    MandateService mandates,
    NoticeIntakeService intake,
    OutcomeChaseJob outcomeChase,
    ConnectionRegistry registry,
    IDatabaseDeviceCheck deviceCheck) : Hub<IMessagingClient>, IMessagingHub
{
    public static string DeviceGroup(Guid deviceId) => "device:" + deviceId.ToString("D");

    private CallerDevice Caller => CallerDevice.Of(Context);

    /// <summary>Registers the connection, then re-checks the device (closing the race with a revocation that happened
    /// after authentication), then pushes everything pending in sequence order.</summary>
    public override async Task OnConnectedAsync()
    {
        var caller = Caller;
        registry.Add(caller.DeviceId, Context);
        if (!await deviceCheck.IsActiveAsync(caller.DeviceId, Context.ConnectionAborted))
        {
            Context.Abort();
            return;
        }

        await Groups.AddToGroupAsync(Context.ConnectionId, DeviceGroup(caller.DeviceId), Context.ConnectionAborted);
        await envelopes.PushPendingAsync(caller.DeviceId, e => Clients.Caller.ReceiveEnvelope(e), Context.ConnectionAborted);
    }

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        registry.Remove(Caller.DeviceId, Context);
        return Task.CompletedTask;
    }

    [WhileAwaitingApproval]
    public Task<WhoAmIResult> WhoAmI()
    {
        var caller = Caller;
        return Task.FromResult(new WhoAmIResult(caller.DeviceId, caller.MemberId, caller.OrganisationId, caller.Role, caller.TokenExpiresAt));
    }

    [WhileAwaitingApproval]
    [ChecksCallerInUnit]
    public Task<SendEnvelopeResult> SendEnvelope(SendEnvelopeRequest request) => envelopes.SendAsync(Caller, request, Context.ConnectionAborted);

    [WhileAwaitingApproval]
    [ChecksCallerInUnit]
    public Task<AcknowledgeResult> AcknowledgeEnvelopes(AcknowledgeRequest request) => envelopes.AcknowledgeAsync(Caller, request, Context.ConnectionAborted);

    [WhileAwaitingApproval]
    public Task<PendingEnvelopes> FetchPending(FetchPendingRequest request) => envelopes.FetchPendingAsync(Caller, request, Context.ConnectionAborted);

    public Task<IReadOnlyList<ConversationSummary>> ListConversations() => conversations.ListAsync(Caller, Context.ConnectionAborted);

    public Task<ConversationSummary> CreateConversation(CreateConversationRequest request) => conversations.CreateAsync(Caller, request, Context.ConnectionAborted);

    public Task<ConversationSummary> AddConversationMember(ConversationMemberRequest request) => conversations.AddMemberAsync(Caller, request, Context.ConnectionAborted);

    public Task<ConversationSummary> RemoveConversationMember(ConversationMemberRequest request) => conversations.RemoveMemberAsync(Caller, request, Context.ConnectionAborted);

    public Task<ConversationSummary> SnapshotConversationMembership(ConversationMembershipSnapshotRequest request) => conversations.SnapshotMembershipAsync(Caller, request, Context.ConnectionAborted);

    public Task<ConversationDevices> GetConversationDevices(GetConversationDevicesRequest request) => conversations.GetDevicesAsync(Caller, request, Context.ConnectionAborted);

    public Task<PreKeyBundles> GetPreKeyBundles(GetPreKeyBundlesRequest request) => devices.GetBundlesAsync(Caller, request, Context.ConnectionAborted);

    [WhileAwaitingApproval]
    public Task<PreKeyStatus> UploadOneTimePreKeys(UploadOneTimePreKeysRequest request) => devices.UploadOneTimePreKeysAsync(Caller, request, Context.ConnectionAborted);

    [WhileAwaitingApproval]
    public Task<PreKeyStatus> RotateSignedPreKey(RotateSignedPreKeyRequest request) => devices.RotateSignedPreKeyAsync(Caller, request, Context.ConnectionAborted);

    [WhileAwaitingApproval]
    public Task<KeyLogPage> GetKeyLog(GetKeyLogRequest request) => devices.GetKeyLogAsync(request, Context.ConnectionAborted);

    [WhileAwaitingApproval]
    public Task<IReadOnlyList<OrganisationEntry>> ListOrganisations() => organisations.ListAsync(Context.ConnectionAborted);

    [WhileAwaitingApproval]
    public Task<IReadOnlyList<MemberEntry>> ListMembers(ListMembersRequest request) => members.ListAsync(request?.OrganisationId, Context.ConnectionAborted);

    [WhileAwaitingApproval]
    public Task<OrientationResult> Orient(OrientRequest request) => directory.OrientAsync(request, Context.ConnectionAborted);

    public Task<IReadOnlyList<JoinRequestEntry>> ListJoinRequests() => partners.ListJoinRequestsAsync(Caller, Context.ConnectionAborted);

    public Task<JoinRequestEntry> ObjectToJoinRequest(ObjectToJoinRequest request) => partners.ObjectAsync(Caller, request, Context.ConnectionAborted);

    public Task<ReferralEntry> OpenReferral(OpenReferralRequest request) => referrals.OpenAsync(Caller, request, Context.ConnectionAborted);

    public Task<ReferralEntry> RespondToReferral(RespondToReferralRequest request) => referrals.RespondAsync(Caller, request, Context.ConnectionAborted);

    public Task<ReferralEntry> WithdrawReferral(WithdrawReferralRequest request) => referrals.WithdrawAsync(Caller, request, Context.ConnectionAborted);

    public Task<IReadOnlyList<ReferralEntry>> ListReferrals() => referrals.ListAsync(Caller, Context.ConnectionAborted);

    public Task<ConsentEntry> RecordConsent(RecordConsentRequest request) => consents.RecordAsync(Caller, request, Context.ConnectionAborted);

    public Task<ConsentEntry> RevokeConsent(RevokeConsentRequest request) => consents.RevokeAsync(Caller, request, Context.ConnectionAborted);

    public Task<IReadOnlyList<ConsentEntry>> ListConsents(ListConsentsRequest request) => consents.ListAsync(Caller, request, Context.ConnectionAborted);

    // ---- Tripartite interviews (Features/Interviews) ----

    public Task<InterviewAvailabilityEntry> SetInterviewAvailability(SetInterviewAvailabilityRequest request) => availability.SetAsync(Caller, request, Context.ConnectionAborted);

    public Task<InterviewAvailabilityEntry> GetInterviewAvailability() => availability.GetAsync(Caller, Context.ConnectionAborted);

    public Task<InterviewSlotsResult> FindInterviewSlots(FindInterviewSlotsRequest request) => availability.FindSlotsAsync(Caller, request, Context.ConnectionAborted);

    public Task<InterviewEntry> ProposeInterview(ProposeInterviewRequest request) => interviews.ProposeAsync(Caller, request, Context.ConnectionAborted);

    public Task<InterviewEntry> AnswerInterview(AnswerInterviewRequest request) => interviews.AnswerAsync(Caller, request, Context.ConnectionAborted);

    public Task<InterviewEntry> RescheduleInterview(RescheduleInterviewRequest request) => interviews.RescheduleAsync(Caller, request, Context.ConnectionAborted);

    public Task<InterviewEntry> CancelInterview(CancelInterviewRequest request) => interviews.CancelAsync(Caller, request, Context.ConnectionAborted);

    public Task<InterviewEntry> RecordInterviewOutcome(RecordInterviewOutcomeRequest request) => interviews.RecordOutcomeAsync(Caller, request, Context.ConnectionAborted);

    public Task<IReadOnlyList<InterviewEntry>> ListInterviews() => interviews.ListAsync(Caller, Context.ConnectionAborted);

    public Task<MandateEntry> ProposeMandate(ProposeMandateRequest request) => mandates.ProposeAsync(Caller, request, Context.ConnectionAborted);

    public Task<MandateEntry> AcceptMandate(MandateRequest request) => mandates.AcceptAsync(Caller, request, Context.ConnectionAborted);

    public Task<MandateEntry> EndMandate(MandateRequest request) => mandates.EndAsync(Caller, request, Context.ConnectionAborted);

    public Task<IReadOnlyList<MandateEntry>> ListMandates() => mandates.ListAsync(Caller, Context.ConnectionAborted);

    public Task ForwardNoticeToIntake(ForwardNoticeRequest request) => intake.ForwardAsync(Caller, request, Context.ConnectionAborted);

    public Task<IReadOnlyList<OutcomeReminderEntry>> ListOutcomeReminders() => outcomeChase.ListForHostAsync(Caller, Context.ConnectionAborted);
}
