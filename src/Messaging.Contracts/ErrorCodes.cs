namespace Messaging.Contracts;

/// <summary>
/// Stable error codes. Over HTTP they are the <c>code</c> extension of a ProblemDetails body; over the hub the
/// <c>HubException</c> message is <c>"&lt;code&gt;: &lt;text&gt;"</c> (see <see cref="TryParseHubMessage(string?, out string)"/>).
/// A code never changes meaning; new situations get new codes.
/// </summary>
public static partial class ErrorCodes
{
    /// <summary>The request is not well formed (missing field, empty id, duplicate recipient, bad count). Fix the request.</summary>
    public const string Malformed = "request.malformed";

    /// <summary>The envelope kind is not one this server knows.</summary>
    public const string UnknownKind = "envelope.unknown-kind";

    /// <summary>A ciphertext does not start with a known version tag.</summary>
    public const string UnknownCiphertextVersion = "envelope.unknown-version";

    /// <summary>A ciphertext, the whole envelope or its number of recipients exceeds the configured limit.</summary>
    public const string TooLarge = "envelope.too-large";

    /// <summary>An attachment exceeds the configured maximum size (HTTP 413); nothing was stored.</summary>
    public const string AttachmentTooLarge = "attachment.too-large";

    /// <summary>No attachment with this id (never uploaded, or expired and deleted) (HTTP 404).</summary>
    public const string AttachmentNotFound = "attachment.not-found";

    /// <summary>The device's stored attachments would exceed its quota; retry when older ones have expired (HTTP 429).</summary>
    public const string AttachmentQuotaExceeded = "attachment.quota-exceeded";

    /// <summary>The server is at its connection ceiling, or its database cannot be reached for the moment (nothing of the
    /// call was stored); retry with back-off (HTTP 503).</summary>
    public const string ServerBusy = "server.busy";

    /// <summary>This server instance is shutting down: the call was refused before doing anything (nothing stored), and the
    /// connection is about to close. Reconnect (the load balancer sends you to another instance) and retry the same call; a
    /// send keeps its envelope id, so retrying it is safe.</summary>
    public const string ServerStopping = "server.stopping";

    /// <summary>Too many calls of this kind in the current window; retry later.</summary>
    public const string RateLimited = "rate-limited";

    /// <summary>The enrolment code does not exist.</summary>
    public const string EnrolmentCodeUnknown = "enrolment.code-unknown";

    /// <summary>The enrolment code has expired; ask the admin for a new one.</summary>
    public const string EnrolmentCodeExpired = "enrolment.code-expired";

    /// <summary>The enrolment code was already used; ask the admin for a new one.</summary>
    public const string EnrolmentCodeUsed = "enrolment.code-used";

    /// <summary>The identity key is malformed, its binding signature does not verify, or its X25519 key is a low-order /
    /// non-canonical point.</summary>
    public const string IdentityKeyInvalid = "keys.identity-invalid";

    /// <summary>The identity key is already registered for another device.</summary>
    public const string IdentityKeyInUse = "keys.identity-in-use";

    /// <summary>The signed prekey is malformed, not signed by the device's identity, or a low-order / non-canonical
    /// X25519 point.</summary>
    public const string SignedPreKeyInvalid = "keys.signed-prekey-invalid";

    /// <summary>A one-time prekey is malformed (including a low-order / non-canonical X25519 point), duplicated, or the
    /// batch is too large.</summary>
    public const string OneTimePreKeyInvalid = "keys.one-time-prekey-invalid";

    /// <summary>Prekey bundles are only given for members who share a conversation with the caller; create the
    /// conversation first.</summary>
    public const string PreKeyBundleRefused = "keys.bundle-refused";

    /// <summary>No valid bearer token was presented, or it has expired.</summary>
    public const string Unauthenticated = "auth.unauthenticated";

    /// <summary>The device is unknown.</summary>
    public const string DeviceUnknown = "auth.device-unknown";

    /// <summary>The device has been revoked; enrol again.</summary>
    public const string DeviceRevoked = "auth.device-revoked";

    /// <summary>The challenge is unknown, expired or already used; ask for a new one.</summary>
    public const string ChallengeInvalid = "auth.challenge-invalid";

    /// <summary>The challenge signature does not verify under the device's identity key.</summary>
    public const string SignatureInvalid = "auth.signature-invalid";

    /// <summary>The token has expired; authenticate again.</summary>
    public const string TokenExpired = "auth.token-expired";

    /// <summary>The caller's role does not allow this operation.</summary>
    public const string Forbidden = "policy.forbidden";

    /// <summary>The message kind is refused in this conversation (collective conversation, or a member may not receive it).</summary>
    public const string KindRefused = "policy.kind-refused";

    /// <summary>The conversation does not exist or the caller is not a member of it.</summary>
    public const string ConversationNotFound = "conversation.not-found";

    /// <summary>The conversation would exceed the configured maximum number of members.</summary>
    public const string ConversationFull = "conversation.full";

    /// <summary>The conversation has a signed membership log: a change carries the next statement, signed by the
    /// caller's member key.</summary>
    public const string ConversationMembershipStatementRequired = "conversation.membership-statement-required";

    /// <summary>The membership statement does not match the request (conversation, next index, previous hash, operation,
    /// members, actor), is not allowed at this point of the log, or does not verify under the caller's current member
    /// key; or another change was made first. Nothing changed: read the conversation again and sign anew.</summary>
    public const string ConversationMembershipStatementInvalid = "conversation.membership-statement-invalid";

    /// <summary>The member does not exist (or is not visible to the caller).</summary>
    public const string MemberNotFound = "member.not-found";

    /// <summary>The organisation does not exist.</summary>
    public const string OrganisationNotFound = "organisation.not-found";

    /// <summary>The device does not exist (or is not visible to the caller).</summary>
    public const string DeviceNotFound = "device.not-found";

    /// <summary>A case-bound envelope (referral, referral response, identity share, case file) names no case reference.</summary>
    public const string CaseReferenceRequired = "referral.case-reference-required";

    /// <summary>No referral with this case reference is visible to the caller's organisation.</summary>
    public const string ReferralNotFound = "referral.not-found";

    /// <summary>The case reference is already used by another referral; generate a fresh one.</summary>
    public const string CaseReferenceInUse = "referral.case-reference-in-use";

    /// <summary>The transition is not allowed from the referral's current status (final statuses admit none).</summary>
    public const string ReferralTransitionRefused = "referral.transition-refused";

    /// <summary>Only the other side of the referral may do this (the receiving service responds, the referring service
    /// withdraws and sends referral, identity and case-file envelopes).</summary>
    public const string ReferralWrongParty = "referral.wrong-party";

    /// <summary>The referral is final (declined, withdrawn, expired, closed): no case-bound envelope travels under it.</summary>
    public const string ReferralClosed = "referral.closed";

    /// <summary>The conversation holds members outside the referral's two organisations.</summary>
    public const string ReferralParticipantsOutside = "referral.participants-outside";

    /// <summary>An identity share before the referral was accepted.</summary>
    public const string ReferralNotAccepted = "referral.not-accepted";

    /// <summary>The receiving service does not accept referrals, or has left the protocol.</summary>
    public const string ReferralsNotAccepted = "referral.receiver-unavailable";

    /// <summary>A case-file envelope names no consent, or a consent that does not exist under this case reference.</summary>
    public const string ConsentRequired = "consent.required";

    /// <summary>The consent named has expired.</summary>
    public const string ConsentExpired = "consent.expired";

    /// <summary>The consent named was revoked.</summary>
    public const string ConsentRevoked = "consent.revoked";

    /// <summary>The consent named covers another receiving service than the recipients'.</summary>
    public const string ConsentOtherService = "consent.other-service";

    /// <summary>The consent does not exist (or is not visible to the caller).</summary>
    public const string ConsentNotFound = "consent.not-found";

    /// <summary>The commune is not in the directory.</summary>
    public const string CommuneNotFound = "directory.commune-not-found";

    /// <summary>The join request does not exist.</summary>
    public const string JoinRequestNotFound = "partners.join-request-not-found";

    /// <summary>The objection window is over (or the request was already decided).</summary>
    public const string ObjectionWindowClosed = "partners.objection-window-closed";

    /// <summary>The organisation has withdrawn (or a withdrawal is already pending).</summary>
    public const string PartnerWithdrawn = "partners.withdrawn";

    /// <summary>
    /// Extracts the code from a hub error message. The SignalR client reports a server <c>HubException</c> as
    /// <c>"An unexpected error occurred invoking 'X' on the server. HubException: &lt;code&gt;: &lt;text&gt;"</c>;
    /// both that form and the bare <c>"&lt;code&gt;: &lt;text&gt;"</c> are accepted. False for any other message.
    /// </summary>
    public static bool TryParseHubMessage(string? message, out string code) => TryParseHubMessage(message, out code, out _);

    /// <summary>As <see cref="TryParseHubMessage(string?, out string)"/>, also returning the server's text after the code
    /// (without the SignalR client's prefix).</summary>
    public static bool TryParseHubMessage(string? message, out string code, out string text)
    {
        code = string.Empty;
        text = string.Empty;
        if (string.IsNullOrEmpty(message))
        {
            return false;
        }

        const string Marker = "HubException: ";
        var start = message.LastIndexOf(Marker, StringComparison.Ordinal);
        var rest = start >= 0 ? message[(start + Marker.Length)..] : message;
        var separator = rest.IndexOf(": ", StringComparison.Ordinal);
        if (separator <= 0)
        {
            return false;
        }

        var candidate = rest[..separator];
        foreach (var c in candidate)
        {
            if (c is not ((>= 'a' and <= 'z') or '.' or '-'))
            {
                return false;
            }
        }

        code = candidate;
        text = rest[(separator + 2)..];
        return true;
    }
}
