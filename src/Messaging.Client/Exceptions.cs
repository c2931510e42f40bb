using Messaging.Contracts;

namespace Messaging.Client;

/// <summary>Base type of the client SDK's errors. The message never contains plaintext, keys or tokens.</summary>
public class MessagingClientException : Exception
{
    /// <summary>Creates the exception.</summary>
    public MessagingClientException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception around a cause.</summary>
    public MessagingClientException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The server refused a call with a stable error code (see <c>Messaging.Contracts.ErrorCodes</c>).
/// Nothing was stored. The subtypes say what the caller can do about it; this base type alone means the request itself
/// is wrong (malformed, too large, unknown kind): fix it before retrying.</summary>
public class ServerRefusedException(string code, string message) : MessagingClientException($"{code}: {message}")
{
    /// <summary>The stable error code.</summary>
    public string Code { get; } = code;

    /// <summary>The exception type that tells the caller what to do about <paramref name="code"/> (mapped in one place).</summary>
    /// <param name="code">The server's stable error code.</param>
    /// <param name="message">The server's text, without the code.</param>
    /// <returns>The typed exception.</returns>
    public static ServerRefusedException FromCode(string code, string message)
    {
        ArgumentNullException.ThrowIfNull(code);
        return code switch
        {
            ErrorCodes.RateLimited => new RateLimitedException(code, message),
            ErrorCodes.ServerStopping => new ServerStoppingException(code, message),
            ErrorCodes.DeviceRevoked or ErrorCodes.DeviceUnknown => new DeviceNoLongerEnrolledException(code, message),
            ErrorCodes.EnrolmentCodeUnknown or ErrorCodes.EnrolmentCodeExpired or ErrorCodes.EnrolmentCodeUsed => new EnrolmentCodeRejectedException(code, message),
            ErrorCodes.Forbidden or ErrorCodes.KindRefused or ErrorCodes.ReferralWrongParty or ErrorCodes.ReferralParticipantsOutside
                or ErrorCodes.ConsentRequired or ErrorCodes.ConsentRevoked or ErrorCodes.ConsentExpired or ErrorCodes.ConsentOtherService
                or ErrorCodes.PartnerWithdrawn or ErrorCodes.ResetRequiresOrganisationAdmin or ErrorCodes.OrganisationHasAdmin
                or ErrorCodes.ApproverNotVouched or ErrorCodes.DeviceAwaitingApproval or ErrorCodes.InterviewNotOrganiser or ErrorCodes.InterviewParticipantRefused
                or ErrorCodes.InterviewEnvelopeOutside or ErrorCodes.InterviewCaseNotOpen or ErrorCodes.MandateNotJusticeAssistant
                or ErrorCodes.NoticeNoMandate or ErrorCodes.NoticeWrongSender or ErrorCodes.NoticeWrongRecipient
                or ErrorCodes.NoticeIntakeNotConfigured or ErrorCodes.NoticeInterviewOtherCase => new NotPermittedException(code, message),
            ErrorCodes.ConversationNotFound or ErrorCodes.MemberNotFound or ErrorCodes.OrganisationNotFound or ErrorCodes.DeviceNotFound
                or ErrorCodes.ReferralNotFound or ErrorCodes.ConsentNotFound or ErrorCodes.CommuneNotFound or ErrorCodes.JoinRequestNotFound
                or ErrorCodes.GrantNotFound or ErrorCodes.InterviewNotFound or ErrorCodes.MandateNotFound
                or ErrorCodes.NoticeInterviewUnknown => new TargetNotFoundException(code, message),
            ErrorCodes.ReferralTransitionRefused or ErrorCodes.ReferralClosed or ErrorCodes.ReferralNotAccepted or ErrorCodes.CaseReferenceInUse
                or ErrorCodes.ObjectionWindowClosed or ErrorCodes.MemberKeyExists or ErrorCodes.DeviceNotPending
                or ErrorCodes.InterviewTransitionRefused or ErrorCodes.InterviewAlreadyStarted or ErrorCodes.MandateExists or ErrorCodes.MandateTransitionRefused
                or ErrorCodes.NoticeDuplicate or ErrorCodes.NoticeInterviewNotStarted or ErrorCodes.ConversationMembershipStatementInvalid
                or ErrorCodes.ConversationMembershipStatementRequired => new StateConflictException(code, message),
            ErrorCodes.Unauthenticated or ErrorCodes.ChallengeInvalid or ErrorCodes.SignatureInvalid or ErrorCodes.TokenExpired
                => new AuthenticationFailedException(code, message),
            _ => new ServerRefusedException(code, message),
        };
    }
}

/// <summary>Too many calls: wait a little and retry the same call (sends are idempotent by envelope id).</summary>
public sealed class RateLimitedException(string code, string message) : ServerRefusedException(code, message);

/// <summary>The server instance was shutting down and refused the call before doing anything (nothing was stored). The
/// connection then closes and the client reconnects by itself, to another instance. Sends, acknowledgements and reads are
/// retried once by the SDK after it reconnected (a send keeps its envelope id, so the retry cannot store it twice): this
/// reaches the application for them only when no reconnection came within
/// <see cref="MessagingClientOptions.StoppingRetryWait"/>. For other calls, retry the same call once reconnected.</summary>
public sealed class ServerStoppingException(string code, string message) : ServerRefusedException(code, message);

/// <summary>This device was revoked (or is unknown to the server): it cannot be used any more; enrol again with a new code.</summary>
public sealed class DeviceNoLongerEnrolledException(string code, string message) : ServerRefusedException(code, message);

/// <summary>The enrolment code is unknown, expired or already used: ask an organisation admin for a new one.</summary>
public sealed class EnrolmentCodeRejectedException(string code, string message) : ServerRefusedException(code, message);

/// <summary>The policy forbids this member (role, membership, message kind, referral party, missing or dead consent) to do
/// this: retrying the same call will not help.</summary>
public sealed class NotPermittedException(string code, string message) : ServerRefusedException(code, message);

/// <summary>The target's current state does not admit this step: it was already done (a notice already sent, a mandate
/// already live), or the target moved on (a referral closed or not yet accepted, an interview already final). Read its
/// state again before deciding; retrying the same call will not help.</summary>
public sealed class StateConflictException(string code, string message) : ServerRefusedException(code, message);

/// <summary>The conversation, member, organisation or device named does not exist (or is not visible to this member).</summary>
public sealed class TargetNotFoundException(string code, string message) : ServerRefusedException(code, message);

/// <summary>Authentication failed (challenge or token refused); the client renews its token by itself, so a persistent
/// failure means the device's identity key does not match what the server holds.</summary>
public sealed class AuthenticationFailedException(string code, string message) : ServerRefusedException(code, message);

/// <summary>
/// A remote device presented an identity key different from the one pinned for it (or from the key log).
/// Never accepted silently: compare safety numbers out of band, then call
/// <see cref="MessagingClient.TrustIdentityAsync"/> to accept the new key.
/// </summary>
public sealed class IdentityKeyChangedException(Guid deviceId, Guid memberId)
    : MessagingClientException($"The identity key of device {deviceId} (member {memberId}) changed. Verify the safety number before trusting it.")
{
    /// <summary>The device whose key changed.</summary>
    public Guid DeviceId { get; } = deviceId;

    /// <summary>Its member.</summary>
    public Guid MemberId { get; } = memberId;
}

/// <summary>
/// A member's signing key changed (a reset: all its devices replaced, or an admin enrolled a new first device): a
/// blocking warning. Nothing is encrypted to that member — no message of any kind — until the user compares the new
/// safety number and calls <see cref="MessagingClient.ConfirmMemberKeyAsync"/>. The send was refused as a whole and
/// stored nothing; send it again after confirming.
/// </summary>
public sealed class MemberKeyChangedException(Guid memberId)
    : MessagingClientException($"The signing key of member {memberId} changed (a reset). Nothing is sent to them until you compare the new safety number and confirm it.")
{
    /// <summary>The member whose key changed.</summary>
    public Guid MemberId { get; } = memberId;
}

/// <summary>The server's key log does not verify against the head this device recorded: the server rewrote history.
/// The client stops trusting the server's keys; report it to the platform's security contact.</summary>
public sealed class KeyLogTamperedException(long index)
    : MessagingClientException($"The key log does not verify at index {index}: the server's key history changed.")
{
    /// <summary>The first index that does not verify.</summary>
    public long Index { get; } = index;
}

/// <summary>The server's membership log of a conversation does not verify (a statement not signed by a key this
/// device trusts for its member, out of place, or not allowed), or goes back on what this device verified before (it is
/// shorter, rewritten or missing): whoever wrote it is not one of the conversation's members. Nothing was sent or
/// changed; report it to the platform's security contact.</summary>
public sealed class ConversationMembershipRejectedException(Guid conversationId, string reason)
    : MessagingClientException($"The membership of conversation {conversationId} cannot be trusted: {reason}. Nothing was sent; report it to the platform's security contact.")
{
    /// <summary>The conversation.</summary>
    public Guid ConversationId { get; } = conversationId;
}

/// <summary>A send could not be completed after fixing the recipient devices several times (devices kept changing).</summary>
public sealed class SendNotCompletedException(string message) : MessagingClientException(message);

/// <summary>The device's local database (beside the key store) does not open under this device's storage key: a row
/// was modified, moved or truncated. Restore the database from a backup, or delete it to start with an empty history
/// (sessions are then re-established).</summary>
public sealed class LocalStoreCorruptedException : MessagingClientException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What does not open (never content).</param>
    public LocalStoreCorruptedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception around a cause.</summary>
    /// <param name="message">What does not open (never content).</param>
    /// <param name="innerException">The cause.</param>
    public LocalStoreCorruptedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
