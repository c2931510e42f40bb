using Messaging.Contracts;

namespace Messaging.Server.Features.Notices;

/// <summary>A mandate row.</summary>
internal sealed record MandateRecord(
    Guid Id,
    string CaseReference,
    Guid ServiceOrganisationId,
    Guid AssistantMemberId,
    Guid JusticeHouseId,
    MandateStatus Status,
    Guid ProposedByMemberId,
    DateTimeOffset ProposedAt,
    DateTimeOffset StatusChangedAt)
{
    public MandateEntry ToEntry(bool intakeConfigured) => new(Id, CaseReference, ServiceOrganisationId, AssistantMemberId, JusticeHouseId, Status,
        ProposedByMemberId, ProposedAt, StatusChangedAt, intakeConfigured);
}

/// <summary>A relayed notice: its kind and ids, never its content.</summary>
internal sealed record NoticeRecord(
    Guid Id,
    Guid MandateId,
    NoticeKind Kind,
    Guid? InterviewId,
    Guid IssuerMemberId,
    Guid IssuerDeviceId,
    DateTimeOffset RelayedAt,
    DateTimeOffset? EmailSentAt);

/// <summary>States of an intake delivery.</summary>
internal static class IntakeStates
{
    public const string Pending = "pending";
    public const string Delivered = "delivered";
    public const string DeadLetter = "dead-letter";
}

/// <summary>An intake outbox row.</summary>
internal sealed record IntakeDelivery(
    Guid NoticeId,
    Guid JusticeHouseId,
    byte[]? Body,
    string State,
    int Attempts,
    DateTimeOffset? NextAttemptAt,
    int? LastStatus,
    DateTimeOffset CreatedAt,
    DateTimeOffset? FinishedAt);

/// <summary>Audit event types and subjects of this feature (ids and codes only).</summary>
internal static class NoticeAudit
{
    public const string MandateProposed = "mandate.proposed";
    public const string MandateAccepted = "mandate.accepted";
    public const string MandateEnded = "mandate.ended";
    public const string NoticeSent = "notice.sent";
    public const string NoticeIntakeDelivered = "notice.intake-delivered";
    public const string NoticeIntakeDeadLettered = "notice.intake-dead-lettered";
    public const string NoticeIntakeRetried = "notice.intake-retried";
    public const string OutcomeReminded = "notice.outcome-reminded";
    public const string OutcomeEscalated = "notice.outcome-escalated";

    public static Audit.AuditSubject Mandate(Guid id) => new("mandate", id);

    public static Audit.AuditSubject Notice(Guid id) => new("notice", id);

    public static Audit.AuditSubject Interview(Guid id) => new("interview", id);
}
