using System.Net.Http.Json;
using Messaging.Contracts;
using Messaging.Contracts.Referrals;
using Messaging.Crypto.Keys;
using Messaging.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Messaging.Server.Tests;

/// <summary>
/// The authorisation matrix: every role × every message kind (as sender and as recipient), every role × every hub
/// method, every admin role × every admin endpoint. The expectations are written out here independently of the
/// server's policy class.
/// </summary>
public abstract class PolicyMatrixTests(PolicyWorld world)
{
    private static readonly EnvelopeKind[] ChatOnly = [EnvelopeKind.Chat, EnvelopeKind.SessionControl];

    private static readonly EnvelopeKind[] ReferralBound = [EnvelopeKind.Referral, EnvelopeKind.ReferralResponse, EnvelopeKind.IdentityShare, EnvelopeKind.CaseFile,
        EnvelopeKind.Invitation];

    private static readonly string[] Practitioners = [Roles.Worker, Roles.OrganisationAdmin];

    private static readonly Dictionary<string, EnvelopeKind[]> MaySend = new(StringComparer.Ordinal)
    {
        [Roles.Worker] = [.. EnvelopeKinds.All],
        [Roles.OrganisationAdmin] = [.. EnvelopeKinds.All],
        [Roles.JusticeAssistant] = ChatOnly,
        [Roles.PlatformOperator] = ChatOnly,
    };

    private static readonly Dictionary<string, EnvelopeKind[]> MayReceive = new(StringComparer.Ordinal)
    {
        [Roles.Worker] = [.. EnvelopeKinds.All],
        [Roles.OrganisationAdmin] = [.. EnvelopeKinds.All],
        [Roles.JusticeAssistant] = [EnvelopeKind.Chat, EnvelopeKind.SessionControl, EnvelopeKind.AttendanceNotice, EnvelopeKind.Invitation],
        [Roles.PlatformOperator] = ChatOnly,
    };

    public static TheoryData<string, EnvelopeKind> RolesAndKinds()
    {
        var data = new TheoryData<string, EnvelopeKind>();
        foreach (var role in Roles.All)
        {
            foreach (var kind in EnvelopeKinds.All)
            {
                data.Add(role, kind);
            }
        }

        return data;
    }

    public static TheoryData<EnvelopeKind> Kinds() => [.. EnvelopeKinds.All];

    [Theory]
    [MemberData(nameof(RolesAndKinds))]
    public async Task ASender_SendsOnlyTheKindsItsRoleAllows(string role, EnvelopeKind kind)
    {
        var sender = world.ByRole[role];
        var conversation = await MessagingApp.CreateConversationAsync(sender, false, world.WorkerB);
        await AssertSendAsync(sender, conversation.ConversationId, kind, MaySend[role].Contains(kind));
    }

    [Theory]
    [MemberData(nameof(RolesAndKinds))]
    public async Task AConversation_ReceivesOnlyTheKindsEveryMembersRoleAllows(string role, EnvelopeKind kind)
    {
        var sender = world.WorkerBDevice;
        var conversation = await MessagingApp.CreateConversationAsync(sender, false, world.ByRole[role].Device.Member);
        await AssertSendAsync(sender, conversation.ConversationId, kind, MayReceive[role].Contains(kind));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task ACollectiveConversation_RefusesEveryCaseBoundKind(EnvelopeKind kind)
    {
        var sender = world.ByRole[Roles.Worker];
        var conversation = await MessagingApp.CreateConversationAsync(sender, true, world.WorkerB);
        var caseBound = kind is EnvelopeKind.Referral or EnvelopeKind.ReferralResponse or EnvelopeKind.IdentityShare
            or EnvelopeKind.CaseFile or EnvelopeKind.AttendanceNotice;
        await AssertSendAsync(sender, conversation.ConversationId, kind, !caseBound);
    }

    [Theory]
    [InlineData(EnvelopeKind.Referral)]
    [InlineData(EnvelopeKind.ReferralResponse)]
    [InlineData(EnvelopeKind.IdentityShare)]
    [InlineData(EnvelopeKind.CaseFile)]
    public async Task AJusticeAssistant_NeverReceivesReferralsOrCaseFiles_EvenInAGroup(EnvelopeKind kind)
    {
        var sender = world.ByRole[Roles.Worker];
        var conversation = await MessagingApp.CreateConversationAsync(sender, false, world.WorkerB, world.JusticeAssistant);
        await AssertSendAsync(sender, conversation.ConversationId, kind, allowed: false);
        Assert.Equal(0, await world.App.CountAsync("envelope_recipients", $"recipient_device_id = '{world.ByRole[Roles.JusticeAssistant].Device.Id:D}' AND envelope_seq IN (SELECT seq FROM envelopes WHERE kind = {(int)kind})"));
    }

    [Fact]
    public async Task AJusticeAssistant_ReceivesAttendanceNoticesAndInvitations()
    {
        var sender = world.ByRole[Roles.Worker];
        var conversation = await MessagingApp.CreateConversationAsync(sender, false, world.JusticeAssistant);
        await AssertSendAsync(sender, conversation.ConversationId, EnvelopeKind.AttendanceNotice, allowed: true);
        await AssertSendAsync(sender, conversation.ConversationId, EnvelopeKind.Invitation, allowed: true);
    }

    // ---- Hub methods ----------------------------------------------------------------------------------------------

    public static TheoryData<string, string> RolesAndHubMethods()
    {
        var data = new TheoryData<string, string>();
        foreach (var role in Roles.All)
        {
            foreach (var method in typeof(IMessagingHub).GetMethods().Select(m => m.Name).Append("CreateCollectiveConversation"))
            {
                data.Add(role, method);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(RolesAndHubMethods))]
    public async Task EveryHubMethod_IsAllowedOrRefused_AsTheRolePolicySays(string role, string method)
    {
        var caller = world.ByRole[role];
        var practitionerOnly = method is nameof(IMessagingHub.OpenReferral) or nameof(IMessagingHub.RespondToReferral)
            or nameof(IMessagingHub.WithdrawReferral) or nameof(IMessagingHub.ListReferrals) or nameof(IMessagingHub.RecordConsent)
            or nameof(IMessagingHub.RevokeConsent) or nameof(IMessagingHub.ListConsents) or "CreateCollectiveConversation";
        var interviewParticipantOnly = method is nameof(IMessagingHub.SetInterviewAvailability) or nameof(IMessagingHub.GetInterviewAvailability)
            or nameof(IMessagingHub.AnswerInterview) or nameof(IMessagingHub.ListInterviews);
        practitionerOnly |= method is nameof(IMessagingHub.FindInterviewSlots) or nameof(IMessagingHub.ProposeInterview)
            or nameof(IMessagingHub.RescheduleInterview) or nameof(IMessagingHub.CancelInterview) or nameof(IMessagingHub.RecordInterviewOutcome);
        var refused = (practitionerOnly && !Practitioners.Contains(role))
            || (interviewParticipantOnly && role == Roles.PlatformOperator)
            || (method == nameof(IMessagingHub.ListJoinRequests) && role is Roles.Worker or Roles.JusticeAssistant)
            || (method == nameof(IMessagingHub.ObjectToJoinRequest) && role != Roles.OrganisationAdmin);
        refused |= method is nameof(IMessagingHub.ProposeMandate) or nameof(IMessagingHub.ListOutcomeReminders) && !Practitioners.Contains(role);
        refused |= method is nameof(IMessagingHub.AcceptMandate) or nameof(IMessagingHub.EndMandate) or nameof(IMessagingHub.ListMandates)
            && role == Roles.PlatformOperator;
        var refusedCode = refused ? ErrorCodes.Forbidden
            : method == nameof(IMessagingHub.AcceptMandate) && Practitioners.Contains(role) ? ErrorCodes.MandateTransitionRefused
            : method == nameof(IMessagingHub.ForwardNoticeToIntake) ? ErrorCodes.NoticeInvalid : null;
        var b = world.ServiceB.Id;
        Func<Task> call = method switch
        {
            nameof(IMessagingHub.WhoAmI) => () => caller.Hub.InvokeAsync<WhoAmIResult>(method),
            nameof(IMessagingHub.SendEnvelope) => async () =>
            {
                var conversation = await MessagingApp.CreateConversationAsync(caller, false, world.WorkerB);
                Assert.Equal(SendOutcome.Accepted, (await MessagingApp.SendAsync(caller, conversation.ConversationId)).Outcome);
            },
            nameof(IMessagingHub.AcknowledgeEnvelopes) => () => caller.Hub.InvokeAsync<AcknowledgeResult>(method, new AcknowledgeRequest([1, 2])),
            nameof(IMessagingHub.FetchPending) => () => caller.Hub.InvokeAsync<PendingEnvelopes>(method, new FetchPendingRequest(0, 10)),
            nameof(IMessagingHub.ListConversations) => () => caller.Hub.InvokeAsync<IReadOnlyList<ConversationSummary>>(method),
            nameof(IMessagingHub.CreateConversation) => () => MessagingApp.CreateConversationAsync(caller, false, world.WorkerB),
            "CreateCollectiveConversation" => () => MessagingApp.CreateConversationAsync(caller, true, world.WorkerB),
            nameof(IMessagingHub.AddConversationMember) => async () =>
            {
                var conversation = await MessagingApp.CreateConversationAsync(caller, false, world.WorkerB);
                var added = await caller.Hub.InvokeAsync<ConversationSummary>(method, new ConversationMemberRequest(conversation.ConversationId, world.JusticeAssistant.Id == caller.Device.Member.Id ? world.WorkerA.Id : world.JusticeAssistant.Id));
                Assert.Equal(3, added.MemberIds.Count);
            },
            nameof(IMessagingHub.RemoveConversationMember) => async () =>
            {
                var conversation = await MessagingApp.CreateConversationAsync(caller, false, world.WorkerB);
                var removed = await caller.Hub.InvokeAsync<ConversationSummary>(method, new ConversationMemberRequest(conversation.ConversationId, world.WorkerB.Id));
                Assert.Single(removed.MemberIds);
            },
            nameof(IMessagingHub.SnapshotConversationMembership) => async () =>
            {
                // Open to every member of the conversation: a statement that is not a snapshot is refused by its own check.
                var conversation = await MessagingApp.CreateConversationAsync(caller, false, world.WorkerB);
                await Refusal.AssertHubAsync(ErrorCodes.ConversationMembershipStatementInvalid, () => caller.InvokeAsync<ConversationSummary>(method,
                    new ConversationMembershipSnapshotRequest(conversation.ConversationId, [1, 2, 3])));
            },
            nameof(IMessagingHub.GetConversationDevices) => async () =>
            {
                var conversation = await MessagingApp.CreateConversationAsync(caller, false, world.WorkerB);
                var devices = await caller.Hub.InvokeAsync<ConversationDevices>(method, new GetConversationDevicesRequest(conversation.ConversationId));
                Assert.Contains(devices.Devices, d => d.DeviceId == world.WorkerBDevice.Device.Id);
            },
            nameof(IMessagingHub.GetPreKeyBundles) => async () =>
            {
                await MessagingApp.CreateConversationAsync(caller, false, world.WorkerB);
                Assert.NotEmpty((await caller.Hub.InvokeAsync<PreKeyBundles>(method, new GetPreKeyBundlesRequest(world.WorkerB.Id))).Bundles);
            },
            nameof(IMessagingHub.UploadOneTimePreKeys) => () =>
            {
                var first = (uint)Random.Shared.Next(10_000, int.MaxValue - 10);
                var keys = OneTimePreKeyPair.GenerateBatch(first, 2);
                return caller.Hub.InvokeAsync<PreKeyStatus>(method, new UploadOneTimePreKeysRequest([.. keys.Select(k => new OneTimePreKeyData(k.Id, k.PublicKey.PublicKey))]));
            },
            nameof(IMessagingHub.RotateSignedPreKey) => () =>
            {
                using var rotated = SignedPreKeyPair.Generate(caller.Device.Keys.Identity, 7);
                return caller.Hub.InvokeAsync<PreKeyStatus>(method, new RotateSignedPreKeyRequest(
                    new SignedPreKeyData(7, rotated.PublicKey.PublicKey, rotated.PublicKey.Signature)));
            },
            nameof(IMessagingHub.GetKeyLog) => () => caller.Hub.InvokeAsync<KeyLogPage>(method, new GetKeyLogRequest(0, 100)),
            nameof(IMessagingHub.ListOrganisations) => async () =>
                Assert.True((await caller.Hub.InvokeAsync<IReadOnlyList<OrganisationEntry>>(method)).Count >= 4),
            nameof(IMessagingHub.ListMembers) => async () =>
                Assert.Contains(await caller.Hub.InvokeAsync<IReadOnlyList<MemberEntry>>(method, new ListMembersRequest(null)), m => m.MemberId == world.WorkerB.Id),
            nameof(IMessagingHub.Orient) => async () =>
                Assert.NotEmpty((await caller.InvokeAsync<OrientationResult>(method, new OrientRequest("21004"))).Services),
            nameof(IMessagingHub.ListJoinRequests) => () => caller.Hub.InvokeAsync<IReadOnlyList<JoinRequestEntry>>(method),
            nameof(IMessagingHub.ObjectToJoinRequest) => async () =>
            {
                var http = await world.App.ClientAsync(world.ByRole[Roles.PlatformOperator].Device);
                var response = role == Roles.OrganisationAdmin
                    ? await http.PostAsJsonAsync(ApiRoutes.JoinRequests, new FileJoinRequest("Ville de Mons", OrganisationTypes.PreventionService, ServiceLevels.Local))
                    : null;
                var id = response is null ? Guid.NewGuid() : (await response.Content.ReadFromJsonAsync<JoinRequestEntry>())!.JoinRequestId;
                Assert.Equal(1, (await caller.InvokeAsync<JoinRequestEntry>(method, new ObjectToJoinRequest(id, ObjectionReasons.OutsideScope))).Objections);
            },
            nameof(IMessagingHub.OpenReferral) => () => MessagingApp.OpenReferralAsync(caller, b),
            nameof(IMessagingHub.RespondToReferral) => async () =>
            {
                var referral = Practitioners.Contains(role) ? await MessagingApp.OpenReferralAsync(world.WorkerBDevice, world.ServiceA.Id) : null;
                var answered = await MessagingApp.RespondAsync(caller, referral?.CaseReference ?? CaseReference.New(), ReferralResponse.Accept);
                Assert.Equal(ReferralStatus.Accepted, answered.Status);
            },
            nameof(IMessagingHub.WithdrawReferral) => async () =>
            {
                var referral = Practitioners.Contains(role) ? await MessagingApp.OpenReferralAsync(caller, b) : null;
                Assert.Equal(ReferralStatus.Withdrawn, (await MessagingApp.WithdrawReferralAsync(caller, referral?.CaseReference ?? CaseReference.New())).Status);
            },
            nameof(IMessagingHub.ListReferrals) => () => caller.Hub.InvokeAsync<IReadOnlyList<ReferralEntry>>(method),
            nameof(IMessagingHub.RecordConsent) => async () =>
            {
                var referral = Practitioners.Contains(role) ? await MessagingApp.OpenReferralAsync(caller, b) : null;
                await MessagingApp.RecordConsentAsync(caller, referral?.CaseReference ?? CaseReference.New(), b, world.App.Clock.GetUtcNow().AddDays(30));
            },
            nameof(IMessagingHub.RevokeConsent) => async () =>
            {
                var referral = Practitioners.Contains(role) ? await MessagingApp.OpenReferralAsync(caller, b) : null;
                var consent = referral is null ? null : await MessagingApp.RecordConsentAsync(caller, referral.CaseReference, b, world.App.Clock.GetUtcNow().AddDays(30));
                var revoked = await caller.InvokeAsync<ConsentEntry>(method, new RevokeConsentRequest(consent?.ConsentId ?? Guid.NewGuid()));
                Assert.NotNull(revoked.RevokedAt);
            },
            nameof(IMessagingHub.ListConsents) => async () =>
            {
                var referral = Practitioners.Contains(role) ? await MessagingApp.OpenReferralAsync(caller, b) : null;
                Assert.Empty(await caller.InvokeAsync<IReadOnlyList<ConsentEntry>>(method, new ListConsentsRequest(referral?.CaseReference ?? CaseReference.New())));
            },
            nameof(IMessagingHub.ProposeMandate) => async () => Assert.Equal(MandateStatus.Proposed, (await caller.InvokeAsync<MandateEntry>(method,
                new ProposeMandateRequest(CaseReference.New(), world.JusticeAssistant.Id))).Status),
            nameof(IMessagingHub.AcceptMandate) => async () =>
            {
                var mandate = role == Roles.PlatformOperator ? null : await world.ByRole[Roles.Worker].InvokeAsync<MandateEntry>(
                    nameof(IMessagingHub.ProposeMandate), new ProposeMandateRequest(CaseReference.New(), world.JusticeAssistant.Id));
                Assert.Equal(MandateStatus.Accepted, (await caller.InvokeAsync<MandateEntry>(method, new MandateRequest(mandate?.MandateId ?? Guid.NewGuid()))).Status);
            },
            nameof(IMessagingHub.EndMandate) => async () =>
            {
                var mandate = role == Roles.PlatformOperator ? null : await world.ByRole[Roles.Worker].InvokeAsync<MandateEntry>(
                    nameof(IMessagingHub.ProposeMandate), new ProposeMandateRequest(CaseReference.New(), world.JusticeAssistant.Id));
                Assert.Equal(MandateStatus.Ended, (await caller.InvokeAsync<MandateEntry>(method, new MandateRequest(mandate?.MandateId ?? Guid.NewGuid()))).Status);
            },
            nameof(IMessagingHub.ListMandates) => () => caller.Hub.InvokeAsync<IReadOnlyList<MandateEntry>>(method),
            nameof(IMessagingHub.ListOutcomeReminders) => () => caller.Hub.InvokeAsync<IReadOnlyList<OutcomeReminderEntry>>(method),
            nameof(IMessagingHub.ForwardNoticeToIntake) => () => caller.InvokeAsync<object?>(method, new ForwardNoticeRequest(Guid.NewGuid(), [1, 2, 3])),
            nameof(IMessagingHub.SetInterviewAvailability) => () => caller.InvokeAsync<InterviewAvailabilityEntry>(method, new SetInterviewAvailabilityRequest(
                [new WorkingPeriodEntry(DayOfWeek.Monday, new TimeOnly(9, 0), new TimeOnly(12, 0))], [])),
            nameof(IMessagingHub.GetInterviewAvailability) => () => caller.Hub.InvokeAsync<InterviewAvailabilityEntry>(method),
            nameof(IMessagingHub.ListInterviews) => () => caller.Hub.InvokeAsync<IReadOnlyList<InterviewEntry>>(method),
            nameof(IMessagingHub.FindInterviewSlots) => async () =>
            {
                var caseReference = await TripartiteCaseAsync(caller, role);
                await caller.InvokeAsync<InterviewSlotsResult>(method, new FindInterviewSlotsRequest(caseReference, [world.WorkerB.Id], 60));
            },
            nameof(IMessagingHub.ProposeInterview) => () => ProposeAsync(caller, role),
            nameof(IMessagingHub.RescheduleInterview) => async () =>
            {
                var id = Practitioners.Contains(role) ? (await ProposeAsync(caller, role)).InterviewId : Guid.NewGuid();
                Assert.Equal(1, (await caller.InvokeAsync<InterviewEntry>(method, new RescheduleInterviewRequest(id, world.App.Clock.GetUtcNow().AddDays(9), 60, "Rue 2"))).Sequence);
            },
            nameof(IMessagingHub.CancelInterview) => async () =>
            {
                var id = Practitioners.Contains(role) ? (await ProposeAsync(caller, role)).InterviewId : Guid.NewGuid();
                Assert.Equal(InterviewState.Cancelled, (await caller.InvokeAsync<InterviewEntry>(method, new CancelInterviewRequest(id))).State);
            },
            nameof(IMessagingHub.RecordInterviewOutcome) => async () =>
            {
                // Allowed to the organiser, and refused by the state machine before the start: the role check passed.
                var id = Practitioners.Contains(role) ? (await ProposeAsync(caller, role)).InterviewId : Guid.NewGuid();
                var call = () => caller.InvokeAsync<InterviewEntry>(method, new RecordInterviewOutcomeRequest(id, false));
                await (Practitioners.Contains(role) ? Refusal.AssertHubAsync(ErrorCodes.InterviewTransitionRefused, call) : call());
            },
            nameof(IMessagingHub.AnswerInterview) => async () =>
            {
                // Worker B's service organises; the caller (and the justice assistant, or worker A) are invited.
                Guid id = Guid.NewGuid();
                if (role != Roles.PlatformOperator)
                {
                    var referral = await MessagingApp.OpenReferralAsync(world.WorkerBDevice, world.ServiceA.Id);
                    await MessagingApp.RespondAsync(world.ByRole[Roles.Worker], referral.CaseReference, ReferralResponse.ProposeTripartite);
                    Guid[] invited = role == Roles.JusticeAssistant ? [world.WorkerA.Id, world.JusticeAssistant.Id] : [caller.Device.Member.Id, world.JusticeAssistant.Id];
                    id = (await world.WorkerBDevice.InvokeAsync<InterviewEntry>(nameof(IMessagingHub.ProposeInterview), new ProposeInterviewRequest(
                        Guid.NewGuid(), referral.CaseReference, invited, false, world.App.Clock.GetUtcNow().AddDays(8), 60, "Rue 1"))).InterviewId;
                }

                await caller.InvokeAsync<InterviewEntry>(method, new AnswerInterviewRequest(id, InterviewAnswer.Accepted));
            },
            _ => throw new InvalidOperationException($"No case for hub method {method}: add one."),
        };

        if (refusedCode is null)
        {
            await call();
        }
        else
        {
            await Refusal.AssertHubAsync(refusedCode, call);
        }
    }

    /// <summary>A referral from the caller's service to B answered "tripartite" (a fresh reference for refused roles).</summary>
    private async Task<string> TripartiteCaseAsync(ConnectedDevice caller, string role)
    {
        if (!Practitioners.Contains(role))
        {
            return CaseReference.New();
        }

        var referral = await MessagingApp.OpenReferralAsync(caller, world.ServiceB.Id);
        await MessagingApp.RespondAsync(world.WorkerBDevice, referral.CaseReference, ReferralResponse.ProposeTripartite);
        return referral.CaseReference;
    }

    private async Task<InterviewEntry> ProposeAsync(ConnectedDevice caller, string role)
        => await caller.InvokeAsync<InterviewEntry>(nameof(IMessagingHub.ProposeInterview), new ProposeInterviewRequest(
            Guid.NewGuid(), await TripartiteCaseAsync(caller, role), [world.WorkerB.Id, world.JusticeAssistant.Id], true,
            world.App.Clock.GetUtcNow().AddDays(7), 60, "Rue de la Loi 16"));

    [Fact]
    public async Task ANonMember_CannotSeeSendToOrChangeAConversation()
    {
        var owner = world.ByRole[Roles.Worker];
        var outsider = world.ByRole[Roles.OrganisationAdmin];
        var conversation = await MessagingApp.CreateConversationAsync(owner, false, world.WorkerB);
        var request = await MessagingApp.BuildSendAsync(owner, conversation.ConversationId);
        var before = await world.App.EnvelopeRowsAsync();

        await Refusal.AssertHubAsync(ErrorCodes.ConversationNotFound, () => outsider.SendAsync(request));
        await Refusal.AssertHubAsync(ErrorCodes.ConversationNotFound, () => outsider.Hub.InvokeAsync<ConversationDevices>(
            nameof(IMessagingHub.GetConversationDevices), new GetConversationDevicesRequest(conversation.ConversationId)));
        await Refusal.AssertHubAsync(ErrorCodes.ConversationNotFound, () => outsider.Hub.InvokeAsync<ConversationSummary>(
            nameof(IMessagingHub.AddConversationMember), new ConversationMemberRequest(conversation.ConversationId, outsider.Device.Member.Id)));
        Assert.DoesNotContain(await outsider.Hub.InvokeAsync<IReadOnlyList<ConversationSummary>>(nameof(IMessagingHub.ListConversations)),
            c => c.ConversationId == conversation.ConversationId);

        // A member who is not the creator removes only themselves.
        await Refusal.AssertHubAsync(ErrorCodes.Forbidden, () => world.WorkerBDevice.Hub.InvokeAsync<ConversationSummary>(
            nameof(IMessagingHub.RemoveConversationMember), new ConversationMemberRequest(conversation.ConversationId, world.WorkerA.Id)));
        Assert.Equal(before, await world.App.EnvelopeRowsAsync());
    }

    // ---- Admin endpoints ------------------------------------------------------------------------------------------

    public static TheoryData<string, string, int> AdminCases() => new()
    {
        { Roles.PlatformOperator, "create-organisation", 201 },
        { Roles.OrganisationAdmin, "create-organisation", 403 },
        { Roles.Worker, "create-organisation", 403 },
        { Roles.JusticeAssistant, "create-organisation", 403 },
        { "foreign-org-admin", "create-organisation", 403 },
        { Roles.PlatformOperator, "create-worker-in-A", 403 },
        { Roles.OrganisationAdmin, "create-worker-in-A", 201 },
        { Roles.Worker, "create-worker-in-A", 403 },
        { Roles.JusticeAssistant, "create-worker-in-A", 403 },
        { "foreign-org-admin", "create-worker-in-A", 403 },
        { Roles.PlatformOperator, "create-admin-in-A", 201 },
        { Roles.OrganisationAdmin, "create-admin-in-A", 201 },
        { Roles.Worker, "create-admin-in-A", 403 },
        { Roles.JusticeAssistant, "create-admin-in-A", 403 },
        { "foreign-org-admin", "create-admin-in-A", 403 },
        { Roles.OrganisationAdmin, "create-operator-in-A", 403 },
        { Roles.OrganisationAdmin, "create-justice-assistant-in-A", 403 },
        { Roles.PlatformOperator, "issue-code-for-worker-A", 403 },
        { Roles.OrganisationAdmin, "issue-code-for-worker-A", 200 },
        { Roles.Worker, "issue-code-for-worker-A", 403 },
        { Roles.JusticeAssistant, "issue-code-for-worker-A", 403 },
        { "foreign-org-admin", "issue-code-for-worker-A", 403 },
        { Roles.PlatformOperator, "revoke-device-of-worker-A", 204 },
        { Roles.OrganisationAdmin, "revoke-device-of-worker-A", 204 },
        { Roles.Worker, "revoke-device-of-worker-A", 403 },
        { Roles.JusticeAssistant, "revoke-device-of-worker-A", 403 },
        { "foreign-org-admin", "revoke-device-of-worker-A", 403 },
    };

    [Theory]
    [MemberData(nameof(AdminCases))]
    public async Task EveryAdminEndpoint_IsAllowedOrRefused_AsTheRolePolicySays(string caller, string action, int expectedStatus)
    {
        var device = caller == "foreign-org-admin" ? world.JusticeHouse.Admin : world.ByRole[caller].Device;
        var http = await world.App.ClientAsync(device);
        var a = world.ServiceA.Id;
        var response = action switch
        {
            "create-organisation" => await http.PostAsJsonAsync(ApiRoutes.Organisations, new CreateOrganisationRequest("New service", OrganisationTypes.PreventionService)),
            "create-worker-in-A" => await http.PostAsJsonAsync(ApiRoutes.Members, new CreateMemberRequest(a, "W", Roles.Worker, "w@a.example")),
            "create-admin-in-A" => await http.PostAsJsonAsync(ApiRoutes.Members, new CreateMemberRequest(a, "Ad", Roles.OrganisationAdmin, "ad@a.example")),
            "create-operator-in-A" => await http.PostAsJsonAsync(ApiRoutes.Members, new CreateMemberRequest(a, "Op", Roles.PlatformOperator, "op@a.example")),
            "create-justice-assistant-in-A" => await http.PostAsJsonAsync(ApiRoutes.Members, new CreateMemberRequest(a, "Ja", Roles.JusticeAssistant, "ja@a.example")),
            "issue-code-for-worker-A" => await http.PostAsync(ApiRoutes.EnrolmentCodesFor(world.WorkerA.Id), null),
            "revoke-device-of-worker-A" => await http.PostAsync(ApiRoutes.RevokeDeviceFor((await world.App.EnrolDeviceAsync(world.WorkerA)).Id), null),
            _ => throw new InvalidOperationException(action),
        };

        Assert.Equal(expectedStatus, (int)response.StatusCode);
        if (expectedStatus == 403)
        {
            await Refusal.AssertHttpAsync(ErrorCodes.Forbidden, 403, response);
        }
    }

    private async Task AssertSendAsync(ConnectedDevice sender, Guid conversationId, EnvelopeKind kind, bool allowed)
    {
        var request = await MessagingApp.BuildSendAsync(sender, conversationId, kind);
        var before = await world.App.EnvelopeRowsAsync();
        if (allowed && kind == EnvelopeKind.AttendanceNotice)
        {
            // The kind policy lets it through; the notice gate (Notices/NoticeGateTests) then asks for its routing.
            await Refusal.AssertHubAsync(ErrorCodes.NoticeRoutingInvalid, () => sender.SendAsync(request));
            Assert.Equal(before, await world.App.EnvelopeRowsAsync());
        }
        else if (allowed && ReferralBound.Contains(kind))
        {
            // The kind policy lets it through; the referral or interview gate (ReferralEnvelopeTests, InterviewMailboxAndGateTests)
            // then asks which case it is for.
            await Refusal.AssertHubAsync(ErrorCodes.CaseReferenceRequired, () => sender.SendAsync(request));
            Assert.Equal(before, await world.App.EnvelopeRowsAsync());
        }
        else if (allowed)
        {
            Assert.Equal(SendOutcome.Accepted, (await sender.SendAsync(request)).Outcome);
        }
        else
        {
            await Refusal.AssertHubAsync(ErrorCodes.KindRefused, () => sender.SendAsync(request));
            Assert.Equal(before, await world.App.EnvelopeRowsAsync());
        }
    }

    public sealed class OnSqlite(PolicyWorld.OnSqlite world) : PolicyMatrixTests(world), IClassFixture<PolicyWorld.OnSqlite>;

    public sealed class OnPostgres(PolicyWorld.OnPostgres world) : PolicyMatrixTests(world), IClassFixture<PolicyWorld.OnPostgres>;
}
