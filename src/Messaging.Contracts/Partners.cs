namespace Messaging.Contracts;

/// <summary>Status of a request to join the protocol.</summary>
public static class JoinRequestStatuses
{
    /// <summary>Announced; partners may object until the deadline.</summary>
    public const string Pending = "pending";

    /// <summary>No objection before the deadline: the organisation was created.</summary>
    public const string Admitted = "admitted";

    /// <summary>At least one partner objected before the deadline.</summary>
    public const string Rejected = "rejected";
}

/// <summary>Status of a withdrawal from the protocol.</summary>
public static class WithdrawalStatuses
{
    /// <summary>Filed; the partner stays a party until the effective date.</summary>
    public const string Pending = "pending";

    /// <summary>Carried out: the organisation is withdrawn, its devices revoked, its open referrals closed.</summary>
    public const string Effective = "effective";
}

/// <summary>Closed list of reasons a partner may give when objecting to a join request (no free text).</summary>
public static class ObjectionReasons
{
    /// <summary>The applicant is not a public entity.</summary>
    public const string NotPublicEntity = "not-public-entity";

    /// <summary>The applicant's competences fall outside the protocol's scope.</summary>
    public const string OutsideScope = "outside-scope";

    /// <summary>The applicant's mission conflicts with professional secrecy or another party's mission.</summary>
    public const string ConflictOfMission = "conflict-of-mission";

    /// <summary>Another reason, to be discussed at the follow-up committee.</summary>
    public const string Other = "other";

    /// <summary>Every reason code.</summary>
    public static IReadOnlyList<string> All { get; } = [NotPublicEntity, OutsideScope, ConflictOfMission, Other];

    /// <summary>True for a known reason code.</summary>
    public static bool IsKnown(string? reason) => reason is NotPublicEntity or OutsideScope or ConflictOfMission or Other;
}

/// <summary>The platform operator files a public entity's request to join (protocol section 9).</summary>
/// <param name="Name">The entity's public name.</param>
/// <param name="Type">Its organisation type.</param>
/// <param name="Level">Its level (<see cref="ServiceLevels"/>).</param>
/// <param name="Region">Its region, required for a regional service.</param>
/// <param name="CommuneCodes">Communes it will serve (local services).</param>
/// <param name="AcceptsReferrals">Whether it will accept referrals once admitted.</param>
public sealed record FileJoinRequest(string Name, string Type, string Level, string? Region = null, IReadOnlyList<string>? CommuneCodes = null, bool AcceptsReferrals = true);

/// <summary>A join request as partners see it.</summary>
public sealed record JoinRequestEntry(
    Guid JoinRequestId,
    string Name,
    string Type,
    string Level,
    string? Region,
    DateTimeOffset FiledAt,
    DateTimeOffset ObjectionDeadline,
    string Status,
    int Objections,
    bool ObjectedByMyOrganisation,
    Guid? OrganisationId,
    DateTimeOffset? DecidedAt);

/// <summary>An organisation admin objects, for their organisation, to a pending join request.</summary>
public sealed record ObjectToJoinRequest(Guid JoinRequestId, string ReasonCode);

/// <summary>File a withdrawal (an organisation admin for their own organisation, or the platform operator).</summary>
public sealed record FileWithdrawalRequest(Guid OrganisationId);

/// <summary>A withdrawal and when it takes effect.</summary>
public sealed record WithdrawalEntry(Guid WithdrawalId, Guid OrganisationId, DateTimeOffset FiledAt, DateTimeOffset EffectiveAt, string Status, DateTimeOffset? CompletedAt);

/// <summary>Kinds of <see cref="PartnerAnnouncementDto"/>.</summary>
public static class PartnerAnnouncementKinds
{
    /// <summary>A public entity asks to join; object before <see cref="PartnerAnnouncementDto.Deadline"/> if needed.</summary>
    public const string JoinRequested = "join-requested";

    /// <summary>A partner filed its withdrawal, effective at <see cref="PartnerAnnouncementDto.Deadline"/>.</summary>
    public const string WithdrawalFiled = "withdrawal-filed";
}

/// <summary>Pushed to every connected device of every partner when the partnership changes.</summary>
/// <param name="Kind">A <see cref="PartnerAnnouncementKinds"/> value.</param>
/// <param name="SubjectId">The join request id, or the withdrawal id.</param>
/// <param name="OrganisationId">The withdrawing organisation (withdrawals), else null.</param>
/// <param name="Name">The entity's public name.</param>
/// <param name="Type">Its organisation type.</param>
/// <param name="Deadline">The objection deadline, or the date the withdrawal takes effect.</param>
public sealed record PartnerAnnouncementDto(string Kind, Guid SubjectId, Guid? OrganisationId, string Name, string Type, DateTimeOffset Deadline);
