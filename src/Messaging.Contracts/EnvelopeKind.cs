namespace Messaging.Contracts;

/// <summary>
/// What an envelope carries, visible to the server so it can apply policy. The numeric values are the wire values
/// and never change; a new kind gets a new number.
/// </summary>
public enum EnvelopeKind
{
    /// <summary>Free chat between members.</summary>
    Chat = 1,

    /// <summary>Session management between devices (session reset, key-change notices, read receipts).</summary>
    SessionControl = 2,

    /// <summary>A minimal, structured referral of a person to another service (case-bound).</summary>
    Referral = 3,

    /// <summary>Accept, decline or tripartite proposal answering a referral (case-bound).</summary>
    ReferralResponse = 4,

    /// <summary>The person's identity and contact details, after acceptance (case-bound).</summary>
    IdentityShare = 5,

    /// <summary>Case-file content, only with recorded consent (case-bound).</summary>
    CaseFile = 6,

    /// <summary>A signed attendance notice to a justice assistant (case-bound).</summary>
    AttendanceNotice = 7,

    /// <summary>An interview invitation (time, place, case reference; no content).</summary>
    Invitation = 8,
}

/// <summary>Classification of <see cref="EnvelopeKind"/> values.</summary>
public static class EnvelopeKinds
{
    /// <summary>Every defined kind, in wire order.</summary>
    public static IReadOnlyList<EnvelopeKind> All { get; } =
    [
        EnvelopeKind.Chat, EnvelopeKind.SessionControl, EnvelopeKind.Referral, EnvelopeKind.ReferralResponse,
        EnvelopeKind.IdentityShare, EnvelopeKind.CaseFile, EnvelopeKind.AttendanceNotice, EnvelopeKind.Invitation,
    ];

    /// <summary>True for a value this version of the contracts defines.</summary>
    public static bool IsDefined(EnvelopeKind kind) => kind is >= EnvelopeKind.Chat and <= EnvelopeKind.Invitation;

    /// <summary>
    /// Case-bound kinds carry information about an individual situation: referral, referral response, identity share,
    /// case file and attendance notice. Collective conversations (protocol 7.D) refuse them.
    /// </summary>
    public static bool IsCaseBound(EnvelopeKind kind) => kind is EnvelopeKind.Referral or EnvelopeKind.ReferralResponse
        or EnvelopeKind.IdentityShare or EnvelopeKind.CaseFile or EnvelopeKind.AttendanceNotice;

    /// <summary>The kebab-case name used in documentation and audit details (for example <c>referral-response</c>).</summary>
    public static string Name(EnvelopeKind kind) => kind switch
    {
        EnvelopeKind.Chat => "chat",
        EnvelopeKind.SessionControl => "session-control",
        EnvelopeKind.Referral => "referral",
        EnvelopeKind.ReferralResponse => "referral-response",
        EnvelopeKind.IdentityShare => "identity-share",
        EnvelopeKind.CaseFile => "case-file",
        EnvelopeKind.AttendanceNotice => "attendance-notice",
        EnvelopeKind.Invitation => "invitation",
        _ => "unknown",
    };
}
