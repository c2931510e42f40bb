using Messaging.Contracts.Referrals;

namespace Messaging.Contracts;

/// <summary>Where the hub lives and how it authenticates.</summary>
public static class HubRoutes
{
    /// <summary>The hub path. Authenticate with the bearer token (header, or <c>access_token</c> query for WebSockets).</summary>
    public const string Messaging = "/hubs/messaging";
}

/// <summary>
/// Methods a device may invoke on the hub. The hub implements this interface, so the method names here are the
/// SignalR method names (use <c>nameof(IMessagingHub.SendEnvelope)</c>). Every call is authenticated, checks that the
/// device is still active, and applies the server's policy; refusals arrive as a <c>HubException</c> whose message is
/// <c>"&lt;code&gt;: &lt;text&gt;"</c> with a code from <see cref="ErrorCodes"/>.
/// </summary>
public interface IMessagingHub
{
    /// <summary>Who the connection is authenticated as.</summary>
    Task<WhoAmIResult> WhoAmI();

    /// <summary>Stores an envelope durably, then pushes it to connected recipient devices. A device mismatch is a normal
    /// result, not an error.</summary>
    Task<SendEnvelopeResult> SendEnvelope(SendEnvelopeRequest request);

    /// <summary>Deletes this device's copies of the envelopes with these server sequence numbers. Idempotent.</summary>
    Task<AcknowledgeResult> AcknowledgeEnvelopes(AcknowledgeRequest request);

    /// <summary>Pending (unacknowledged) envelopes for this device in server sequence order.</summary>
    Task<PendingEnvelopes> FetchPending(FetchPendingRequest request);

    /// <summary>The conversations the caller's member belongs to.</summary>
    Task<IReadOnlyList<ConversationSummary>> ListConversations();

    /// <summary>Creates a conversation with the caller's member and the given members. With a membership statement
    /// (a Create signed by the caller's member key), the conversation takes the statement's id and starts its signed
    /// membership log; repeating the same statement returns the conversation it created.</summary>
    Task<ConversationSummary> CreateConversation(CreateConversationRequest request);

    /// <summary>Adds a member to a conversation the caller belongs to. Once the conversation has a membership log the
    /// request carries the next statement (an Add signed by the caller's member key).</summary>
    Task<ConversationSummary> AddConversationMember(ConversationMemberRequest request);

    /// <summary>Removes a member: any member may remove themselves; only the creator may remove others. Once the
    /// conversation has a membership log the request carries the next statement (a Remove signed by the caller's member
    /// key).</summary>
    Task<ConversationSummary> RemoveConversationMember(ConversationMemberRequest request);

    /// <summary>Starts the membership log of a conversation that has none (created before membership was signed, or by
    /// a caller without statements): a LegacySnapshot by the caller of the creator, collective flag and members as they
    /// stand.</summary>
    Task<ConversationSummary> SnapshotConversationMembership(ConversationMembershipSnapshotRequest request);

    /// <summary>The active devices of every member of a conversation: the exact recipient set of a send, minus the
    /// sending device; with the conversation's membership (its signed log and its members as the server lists them),
    /// read in the same transaction.</summary>
    Task<ConversationDevices> GetConversationDevices(GetConversationDevicesRequest request);

    /// <summary>One bundle per active device of a member, consuming one one-time prekey per bundle when one is left.</summary>
    Task<PreKeyBundles> GetPreKeyBundles(GetPreKeyBundlesRequest request);

    /// <summary>Adds one-time prekeys for the calling device.</summary>
    Task<PreKeyStatus> UploadOneTimePreKeys(UploadOneTimePreKeysRequest request);

    /// <summary>Replaces the calling device's signed prekey (the signature is verified against its identity).</summary>
    Task<PreKeyStatus> RotateSignedPreKey(RotateSignedPreKeyRequest request);

    /// <summary>Key-log entries from an index, for the client to verify and to detect key changes.</summary>
    Task<KeyLogPage> GetKeyLog(GetKeyLogRequest request);

    /// <summary>Every organisation of the directory.</summary>
    Task<IReadOnlyList<OrganisationEntry>> ListOrganisations();

    /// <summary>Members of the directory, optionally of one organisation (ids, names, roles, active devices).</summary>
    Task<IReadOnlyList<MemberEntry>> ListMembers(ListMembersRequest request);

    /// <summary>The services accepting referrals for a commune, local first, then regional, then community-wide.</summary>
    Task<OrientationResult> Orient(OrientRequest request);

    /// <summary>Join requests (platform operator and organisation admins), newest first.</summary>
    Task<IReadOnlyList<JoinRequestEntry>> ListJoinRequests();

    /// <summary>An organisation admin objects, for their organisation, to a pending join request before its deadline.</summary>
    Task<JoinRequestEntry> ObjectToJoinRequest(ObjectToJoinRequest request);

    /// <summary>A worker or organisation admin opens a referral from their organisation to a service accepting referrals.</summary>
    Task<ReferralEntry> OpenReferral(OpenReferralRequest request);

    /// <summary>A worker or organisation admin of the receiving service accepts, declines or proposes a tripartite interview.</summary>
    Task<ReferralEntry> RespondToReferral(RespondToReferralRequest request);

    /// <summary>A worker or organisation admin of the referring service withdraws a referral awaiting a decision.</summary>
    Task<ReferralEntry> WithdrawReferral(WithdrawReferralRequest request);

    /// <summary>The referrals sent or received by the caller's organisation, newest first.</summary>
    Task<IReadOnlyList<ReferralEntry>> ListReferrals();

    /// <summary>A worker or organisation admin of the referring service records the person's express consent.</summary>
    Task<ConsentEntry> RecordConsent(RecordConsentRequest request);

    /// <summary>A worker or organisation admin of the referring service revokes a consent; idempotent.</summary>
    Task<ConsentEntry> RevokeConsent(RevokeConsentRequest request);

    /// <summary>The consents under a case reference (both organisations of the referral).</summary>
    Task<IReadOnlyList<ConsentEntry>> ListConsents(ListConsentsRequest request);

    // ---- Tripartite interviews (issue 13; records in Interviews.cs) ----

    /// <summary>Sets the caller's working hours (Europe/Brussels), absences and optional external feed (a secret URL:
    /// never logged, never returned).</summary>
    Task<InterviewAvailabilityEntry> SetInterviewAvailability(SetInterviewAvailabilityRequest request);

    /// <summary>The caller's availability (the feed only as set or not).</summary>
    Task<InterviewAvailabilityEntry> GetInterviewAvailability();

    /// <summary>The earliest slots common to the caller and the given members, with feed problems and, when nothing
    /// fits, why.</summary>
    Task<InterviewSlotsResult> FindInterviewSlots(FindInterviewSlotsRequest request);

    /// <summary>A worker of a service on the case proposes an interview; invitations go out by email.</summary>
    Task<InterviewEntry> ProposeInterview(ProposeInterviewRequest request);

    /// <summary>A participant accepts, declines or proposes another time.</summary>
    Task<InterviewEntry> AnswerInterview(AnswerInterviewRequest request);

    /// <summary>The organiser moves the interview or changes its place; updates go out (same UID, SEQUENCE + 1).</summary>
    Task<InterviewEntry> RescheduleInterview(RescheduleInterviewRequest request);

    /// <summary>The organiser cancels; cancellations go out (METHOD:CANCEL).</summary>
    Task<InterviewEntry> CancelInterview(CancelInterviewRequest request);

    /// <summary>The organiser records the outcome once the start has passed.</summary>
    Task<InterviewEntry> RecordInterviewOutcome(RecordInterviewOutcomeRequest request);

    /// <summary>The interviews the caller organises or is invited to, soonest first.</summary>
    Task<IReadOnlyList<InterviewEntry>> ListInterviews();

    // ---- Mandates and attendance notices (protocol 7.C) ----

    /// <summary>A worker or organisation admin of the following service sets up a mandate with one justice assistant.</summary>
    Task<MandateEntry> ProposeMandate(ProposeMandateRequest request);

    /// <summary>The mandate's justice assistant accepts it; notices may travel from then on. Idempotent.</summary>
    Task<MandateEntry> AcceptMandate(MandateRequest request);

    /// <summary>Either side (a worker or admin of the service, or the assistant) ends the mandate. Idempotent.</summary>
    Task<MandateEntry> EndMandate(MandateRequest request);

    /// <summary>The mandates of the caller's service, or of the calling justice assistant, newest first.</summary>
    Task<IReadOnlyList<MandateEntry>> ListMandates();

    /// <summary>The issuing device hands a relayed notice's signed bytes over for the Maison de justice's own system
    /// (only when its mandate says <see cref="MandateEntry.IntakeConfigured"/>). Idempotent.</summary>
    Task ForwardNoticeToIntake(ForwardNoticeRequest request);

    /// <summary>The interviews under mandate the calling host was reminded to record an outcome for, still open.</summary>
    Task<IReadOnlyList<OutcomeReminderEntry>> ListOutcomeReminders();
}

/// <summary>Callbacks the server invokes on a connected device.</summary>
public interface IMessagingClient
{
    /// <summary>An envelope for this device. Acknowledge it with <see cref="IMessagingHub.AcknowledgeEnvelopes"/> once
    /// it is safely processed; it may arrive more than once (drop duplicates by sender device and envelope id).</summary>
    Task ReceiveEnvelope(EnvelopeDelivery envelope);

    /// <summary>The device's one-time prekeys fell below the configured threshold; upload more.</summary>
    Task PreKeysLow(int remaining);

    /// <summary>The device was revoked; the server closes the connection right after.</summary>
    Task DeviceRevoked();

    /// <summary>A public entity asks to join the protocol, or a partner filed its withdrawal (protocol section 9).
    /// Clients that do not handle it may ignore it; <see cref="IMessagingHub.ListJoinRequests"/> has the same data.</summary>
    Task PartnerAnnouncement(PartnerAnnouncementDto announcement);
}

/// <summary>The authenticated identity of a connection.</summary>
public sealed record WhoAmIResult(Guid DeviceId, Guid MemberId, Guid OrganisationId, string Role, DateTimeOffset TokenExpiresAt);

/// <summary>One recipient device's ciphertext. Byte 0 is the <see cref="CiphertextFormat"/> version tag.</summary>
public sealed record RecipientCiphertext(Guid DeviceId, byte[] Ciphertext);

/// <summary>A send. The sender device is the authenticated connection's device, never a field of the request.</summary>
/// <param name="EnvelopeId">Client-chosen, unique per sending device; sending the same id again returns the first
/// acceptance and stores nothing.</param>
/// <param name="ConversationId">The conversation.</param>
/// <param name="Kind">The kind, checked against the policy.</param>
/// <param name="Recipients">Exactly one entry per active device of every conversation member, the sender's other
/// devices included and the sending device excluded.</param>
/// <param name="CaseReference">Required for referral, referral-response, identity-share and case-file envelopes: the
/// referral they travel under; ignored for other kinds.</param>
/// <param name="ConsentId">Required for case-file envelopes: a live consent under <paramref name="CaseReference"/> for the
/// recipients' organisation.</param>
/// <param name="Acknowledge">Optional: sequences of envelopes this device received and processed, acknowledged in the
/// same call (as <see cref="IMessagingHub.AcknowledgeEnvelopes"/> would, at most 500), so that a device that sends as
/// well as receives needs no separate acknowledgement call. Applied only when the send is accepted (a first acceptance
/// or a repeat): a refused or mismatched send changes nothing, and the client acknowledges those sequences again.</param>
/// <param name="Unreachable">Optional: active devices of the conversation the sender could not encrypt for (their
/// prekey bundle is unusable). They count as addressed for the recipient check, receive nothing, and the sender reports
/// them to its user; at most as many as recipients are allowed.</param>
/// <param name="Notice">Required for attendance-notice envelopes (with <paramref name="CaseReference"/>), refused on every
/// other kind: the notice id and kind, the only notice fields the server reads.</param>
public sealed record SendEnvelopeRequest(
    Guid EnvelopeId,
    Guid ConversationId,
    EnvelopeKind Kind,
    IReadOnlyList<RecipientCiphertext> Recipients,
    string? CaseReference = null,
    Guid? ConsentId = null,
    IReadOnlyList<long>? Acknowledge = null,
    IReadOnlyList<Guid>? Unreachable = null,
    NoticeRouting? Notice = null);

/// <summary>Outcome of a send.</summary>
public enum SendOutcome
{
    /// <summary>Stored durably; it will be delivered.</summary>
    Accepted = 1,

    /// <summary>Nothing stored: the recipient set does not match the conversation's active devices.</summary>
    DeviceMismatch = 2,
}

/// <summary>A device and the member it belongs to.</summary>
public sealed record DeviceAddress(Guid MemberId, Guid DeviceId);

/// <summary>The result of <see cref="IMessagingHub.SendEnvelope"/>.</summary>
/// <param name="Outcome">Accepted or device mismatch.</param>
/// <param name="Sequence">The server sequence number (accepted only, otherwise 0).</param>
/// <param name="AcceptedAt">When the server stored it (accepted only).</param>
/// <param name="ExpiresAt">When undelivered copies are purged (accepted only).</param>
/// <param name="MissingDevices">Active devices the request left out (fetch their bundles, encrypt, resend).</param>
/// <param name="StaleDeviceIds">Devices in the request that are not active devices of the conversation (drop their
/// sessions).</param>
/// <param name="Acknowledged">How many of the request's <see cref="SendEnvelopeRequest.Acknowledge"/> sequences deleted
/// one of this device's copies (accepted only).</param>
public sealed record SendEnvelopeResult(
    SendOutcome Outcome,
    long Sequence,
    DateTimeOffset? AcceptedAt,
    DateTimeOffset? ExpiresAt,
    IReadOnlyList<DeviceAddress> MissingDevices,
    IReadOnlyList<Guid> StaleDeviceIds,
    int Acknowledged = 0)
{
    /// <summary>An acceptance.</summary>
    public static SendEnvelopeResult Accepted(long sequence, DateTimeOffset acceptedAt, DateTimeOffset expiresAt, int acknowledged = 0)
        => new(SendOutcome.Accepted, sequence, acceptedAt, expiresAt, [], [], acknowledged);

    /// <summary>A mismatch.</summary>
    public static SendEnvelopeResult Mismatch(IReadOnlyList<DeviceAddress> missing, IReadOnlyList<Guid> stale)
        => new(SendOutcome.DeviceMismatch, 0, null, null, missing, stale);
}

/// <summary>An envelope delivered to one device.</summary>
public sealed record EnvelopeDelivery(
    long Sequence,
    Guid EnvelopeId,
    Guid ConversationId,
    Guid SenderMemberId,
    Guid SenderDeviceId,
    EnvelopeKind Kind,
    byte[] Ciphertext,
    DateTimeOffset SentAt,
    DateTimeOffset ExpiresAt);

/// <summary>Server sequence numbers to acknowledge (at most 500 per call). Sequences are used rather than envelope ids
/// because they are unique server-wide, while an envelope id is only unique per sending device.</summary>
public sealed record AcknowledgeRequest(IReadOnlyList<long> Sequences);

/// <summary>How many of this device's copies were deleted (unknown or already acknowledged sequences count 0).</summary>
public sealed record AcknowledgeResult(int Acknowledged);

/// <summary>Fetch pending envelopes with a sequence greater than <paramref name="AfterSequence"/> (0 for all), at most
/// <paramref name="Limit"/> (1–500).</summary>
public sealed record FetchPendingRequest(long AfterSequence, int Limit);

/// <summary>A page of pending envelopes.</summary>
public sealed record PendingEnvelopes(IReadOnlyList<EnvelopeDelivery> Envelopes, bool HasMore);

/// <summary>Create a conversation of the caller's member with <paramref name="MemberIds"/> (the caller is added
/// implicitly). <paramref name="Collective"/> marks an inter-service meeting where case-bound kinds are refused.
/// <paramref name="Statement"/>, optional, is the Create membership statement signed by the caller's member key
/// (docs/crypto.md §12): it names the new conversation's id, and must list exactly the caller and
/// <paramref name="MemberIds"/> with the same collective flag.</summary>
public sealed record CreateConversationRequest(IReadOnlyList<Guid> MemberIds, bool Collective, byte[]? Statement = null);

/// <summary>A conversation and its members.</summary>
public sealed record ConversationSummary(Guid ConversationId, bool Collective, Guid CreatedBy, DateTimeOffset CreatedAt, IReadOnlyList<Guid> MemberIds);

/// <summary>Add or remove one member. <paramref name="Statement"/> is the next statement of the conversation's
/// membership log (an Add or Remove of <paramref name="MemberId"/> signed by the caller's member key), required once the
/// conversation has a log and refused while it has none.</summary>
public sealed record ConversationMemberRequest(Guid ConversationId, Guid MemberId, byte[]? Statement = null);

/// <summary>Start a conversation's membership log with a LegacySnapshot statement signed by the caller's member key.</summary>
public sealed record ConversationMembershipSnapshotRequest(Guid ConversationId, byte[] Statement);

/// <summary>Ask for a conversation's devices.</summary>
public sealed record GetConversationDevicesRequest(Guid ConversationId);

/// <summary>A conversation's membership as the server holds it: the signed log (empty for a conversation created before
/// membership was signed), the members it lists, its creator and collective flag.</summary>
public sealed record ConversationMembership(IReadOnlyList<byte[]> Statements, IReadOnlyList<Guid> MemberIds, Guid CreatedBy, bool Collective);

/// <summary>The active devices of every member of a conversation, with its membership (read together).</summary>
public sealed record ConversationDevices(Guid ConversationId, IReadOnlyList<DeviceAddress> Devices, ConversationMembership? Membership = null);

/// <summary>A signed prekey on the wire: id, X25519 public key (32), Ed25519 signature (64).</summary>
public sealed record SignedPreKeyData(uint Id, byte[] PublicKey, byte[] Signature);

/// <summary>A one-time prekey on the wire: id, X25519 public key (32).</summary>
public sealed record OneTimePreKeyData(uint Id, byte[] PublicKey);

/// <summary>Ask for the prekey bundles of every active device of a member.</summary>
public sealed record GetPreKeyBundlesRequest(Guid MemberId);

/// <summary>What a sender needs to start a session with one device.</summary>
/// <param name="DeviceId">The device.</param>
/// <param name="IdentityKey">The device's 129-byte identity public key.</param>
/// <param name="SignedPreKey">Its current signed prekey.</param>
/// <param name="OneTimePreKey">A one-time prekey, consumed by this fetch; null when none was left.</param>
public sealed record DevicePreKeyBundle(Guid DeviceId, byte[] IdentityKey, SignedPreKeyData SignedPreKey, OneTimePreKeyData? OneTimePreKey);

/// <summary>The bundles of a member's active devices (excluding the calling device).</summary>
public sealed record PreKeyBundles(Guid MemberId, IReadOnlyList<DevicePreKeyBundle> Bundles);

/// <summary>Upload one-time prekeys (ids unique for the device).</summary>
public sealed record UploadOneTimePreKeysRequest(IReadOnlyList<OneTimePreKeyData> PreKeys);

/// <summary>Replace the signed prekey.</summary>
public sealed record RotateSignedPreKeyRequest(SignedPreKeyData SignedPreKey);

/// <summary>The calling device's prekey state.</summary>
public sealed record PreKeyStatus(int OneTimePreKeysRemaining, uint SignedPreKeyId);

/// <summary>Ask for key-log entries with index ≥ <paramref name="FromIndex"/>, at most <paramref name="Limit"/> (1–1000).</summary>
public sealed record GetKeyLogRequest(long FromIndex, int Limit);

/// <summary>A page of the key log.</summary>
public sealed record KeyLogPage(IReadOnlyList<KeyLogEntry> Entries, bool HasMore);

/// <summary>An organisation of the directory.</summary>
public sealed record OrganisationEntry(Guid OrganisationId, string Name, string Type);

/// <summary>Filter members by organisation, or null for all.</summary>
public sealed record ListMembersRequest(Guid? OrganisationId);

/// <summary>A member of the directory: work identity only (no email).</summary>
public sealed record MemberEntry(Guid MemberId, Guid OrganisationId, string DisplayName, string Role, IReadOnlyList<Guid> ActiveDeviceIds);
