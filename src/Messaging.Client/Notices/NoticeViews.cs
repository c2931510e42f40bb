using Messaging.Contracts;
using Messaging.Crypto.Attestations;

namespace Messaging.Client;

/// <summary>A notice this device issued and the server relayed.</summary>
/// <param name="Notice">The signed notice's content.</param>
/// <param name="SignedNotice">The signed attestation bytes (what the assistant verifies).</param>
/// <param name="ConversationId">The conversation with the assistant.</param>
/// <param name="Receipt">The send's receipt.</param>
public sealed record NoticeIssued(AttendanceNotice Notice, byte[] SignedNotice, Guid ConversationId, SendReceipt Receipt)
{
    /// <summary>Ids and kind only.</summary>
    public override string ToString() => Notice.ToString();
}

/// <summary>An interview outcome the host recorded, with the no-show notice it set off.</summary>
/// <param name="Interview">The interview as the server now holds it.</param>
/// <param name="Notice">The no-show notice sent now; null when none was due (no no-show, no accepted mandate) or one
/// was already sent.</param>
/// <param name="NoticeAlreadySent">The server had already relayed a no-show notice for this interview (a retry).</param>
public sealed record InterviewOutcome(InterviewEntry Interview, NoticeIssued? Notice, bool NoticeAlreadySent);

/// <summary>How a received notice verified.</summary>
public enum NoticeVerification
{
    /// <summary>Signed by the issuing device's key as the verified key log records it, for this assistant, sent by that device.</summary>
    Verified = 1,

    /// <summary>As <see cref="Verified"/>, but the key log records the signing device as revoked since.</summary>
    SignerRevoked = 2,

    /// <summary>The key log records no such device for the issuing member, or another key: do not trust it.</summary>
    SignerUnknown = 3,

    /// <summary>Malformed, not signed by the claimed key, sent by another device, or for another assistant: do not trust it.</summary>
    Invalid = 4,
}

/// <summary>A notice in the assistant's inbox, with its verification and who issued it (from the directory).</summary>
/// <param name="Notice">The notice, null when it could not even be read (<see cref="NoticeVerification.Invalid"/>).</param>
/// <param name="Verification">How it verified.</param>
/// <param name="IssuerName">The issuing worker's display name in the directory, when known.</param>
/// <param name="ServiceName">The issuing service's name in the directory, when known.</param>
/// <param name="SignedNotice">The signed attestation bytes as received.</param>
/// <param name="Sequence">The envelope's server sequence.</param>
/// <param name="ReceivedAt">When the server accepted it.</param>
public sealed record ReceivedNotice(AttendanceNotice? Notice, NoticeVerification Verification, string? IssuerName, string? ServiceName,
    byte[] SignedNotice, long Sequence, DateTimeOffset ReceivedAt)
{
    /// <summary>Ids, kind and verification only.</summary>
    public override string ToString() => $"ReceivedNotice {{ {Notice?.ToString() ?? "unreadable"}, {Verification} }}";
}

/// <summary>No accepted mandate links this case reference to this member's service and an assistant: nothing was sent.</summary>
public sealed class MandateNotFoundException(string caseReference)
    : MessagingClientException($"No accepted mandate links case {caseReference} to your service.");

/// <summary>This device holds no received notice with this id.</summary>
public sealed class NoticeNotFoundException(Guid noticeId)
    : MessagingClientException($"This device holds no notice {noticeId:D}.");

/// <summary>Maps the closed kinds between the signed record and the routing the server reads.</summary>
internal static class NoticeKindMap
{
    public static NoticeKind ToWire(AttendanceNoticeKind kind) => (NoticeKind)(int)kind;
}
