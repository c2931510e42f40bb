namespace Messaging.Contracts;

/// <summary>The kind of an attendance notice as the server sees it (protocol 7.C). Wire values never change; the
/// signed notice inside the envelope carries the same kind as a code (see <c>Messaging.Crypto.Attestations.AttendanceNotice</c>).</summary>
public enum NoticeKind
{
    /// <summary>The person attended.</summary>
    Present = 1,

    /// <summary>A justified absence (the category travels end-to-end encrypted only).</summary>
    JustifiedAbsence = 2,

    /// <summary>An interview in vain.</summary>
    NoShow = 3,

    /// <summary>The person ended the follow-up unilaterally.</summary>
    UnilateralEnd = 4,

    /// <summary>A risk for the person: the assistant calls the service.</summary>
    RiskToPerson = 5,

    /// <summary>A risk for third parties: the assistant calls the service.</summary>
    RiskToThirdParties = 6,
}

/// <summary>Status of a mandate. Wire values never change.</summary>
public enum MandateStatus
{
    /// <summary>Set up by the following service; the justice assistant has not accepted yet.</summary>
    Proposed = 1,

    /// <summary>Accepted by the assistant: notices may travel.</summary>
    Accepted = 2,

    /// <summary>Ended (or refused before acceptance) by either side. Final.</summary>
    Ended = 3,
}

/// <summary>
/// The mandate lifecycle, enforced by the server.
/// <code>
/// proposed --accept (the assistant)---------&gt; accepted
/// proposed --end (either side)--------------&gt; ended     (final)
/// accepted --end (either side)--------------&gt; ended     (final)
/// </code>
/// Only an accepted mandate lets notices through.
/// </summary>
public static class MandateStateMachine
{
    /// <summary>A mandate that has not ended.</summary>
    public static bool IsLive(MandateStatus status) => status is MandateStatus.Proposed or MandateStatus.Accepted;

    /// <summary>The kebab-case name of a status, for audit details and messages.</summary>
    public static string Name(MandateStatus status) => status switch
    {
        MandateStatus.Proposed => "proposed",
        MandateStatus.Accepted => "accepted",
        MandateStatus.Ended => "ended",
        _ => "unknown",
    };
}

/// <summary>Classification and names of <see cref="NoticeKind"/>.</summary>
public static class NoticeKinds
{
    /// <summary>True for a kind this version defines.</summary>
    public static bool IsDefined(NoticeKind kind) => kind is >= NoticeKind.Present and <= NoticeKind.RiskToThirdParties;

    /// <summary>The code, the same as in the signed notice (for example <c>no-show</c>).</summary>
    public static string Name(NoticeKind kind) => kind switch
    {
        NoticeKind.Present => "present",
        NoticeKind.JustifiedAbsence => "justified-absence",
        NoticeKind.NoShow => "no-show",
        NoticeKind.UnilateralEnd => "unilateral-end",
        NoticeKind.RiskToPerson => "risk-to-person",
        NoticeKind.RiskToThirdParties => "risk-to-third-parties",
        _ => "unknown",
    };
}

/// <summary>A worker or organisation admin of the following service sets up a mandate for one justice assistant.</summary>
/// <param name="CaseReference">The pseudonymous case reference (26 base32 characters).</param>
/// <param name="AssistantMemberId">A justice assistant of a Maison de justice.</param>
public sealed record ProposeMandateRequest(string CaseReference, Guid AssistantMemberId);

/// <summary>Names a mandate (accept, end).</summary>
public sealed record MandateRequest(Guid MandateId);

/// <summary>Everything the server knows about a mandate.</summary>
/// <param name="MandateId">Its id.</param>
/// <param name="CaseReference">The pseudonymous case reference.</param>
/// <param name="ServiceOrganisationId">The following service.</param>
/// <param name="AssistantMemberId">The justice assistant.</param>
/// <param name="JusticeHouseId">The assistant's Maison de justice.</param>
/// <param name="Status">Its status.</param>
/// <param name="ProposedByMemberId">Who set it up.</param>
/// <param name="ProposedAt">When.</param>
/// <param name="StatusChangedAt">When the status last changed.</param>
/// <param name="IntakeConfigured">Whether the Maison de justice receives notices in its own system too: the issuing
/// device then forwards the signed notice to the server for that delivery.</param>
public sealed record MandateEntry(
    Guid MandateId,
    string CaseReference,
    Guid ServiceOrganisationId,
    Guid AssistantMemberId,
    Guid JusticeHouseId,
    MandateStatus Status,
    Guid ProposedByMemberId,
    DateTimeOffset ProposedAt,
    DateTimeOffset StatusChangedAt,
    bool IntakeConfigured);

/// <summary>
/// The routing fields of an <see cref="EnvelopeKind.AttendanceNotice"/> envelope, the only ones the server reads (with
/// <see cref="SendEnvelopeRequest.CaseReference"/>, which names the mandate's case). Everything else of the notice —
/// the interview, the justification category, the signature — travels end-to-end encrypted.
/// </summary>
/// <param name="NoticeId">The signed notice's id; one notice is accepted once.</param>
/// <param name="Kind">The notice kind.</param>
/// <param name="InterviewId">The interview the notice is about, when it was scheduled through the system: it stops the
/// outcome reminders, and a second notice of the same kind for the same interview is refused.</param>
public sealed record NoticeRouting(Guid NoticeId, NoticeKind Kind, Guid? InterviewId = null);

/// <summary>The issuing device hands the signed notice (the attestation bytes, no envelope) to the server for delivery
/// to the Maison de justice's own system. Accepted only for a notice the server already relayed, from the device that
/// signed it, under a mandate whose Maison de justice has an intake endpoint.</summary>
public sealed record ForwardNoticeRequest(Guid NoticeId, byte[] SignedNotice);

/// <summary>An interview under mandate whose outcome the host has not recorded (metadata only).</summary>
/// <param name="InterviewId">The interview.</param>
/// <param name="MandateId">The mandate it is under.</param>
/// <param name="EndedAt">When it ended.</param>
/// <param name="Stage">reminded or escalated.</param>
public sealed record OutcomeReminderEntry(Guid InterviewId, Guid MandateId, DateTimeOffset EndedAt, string Stage);
