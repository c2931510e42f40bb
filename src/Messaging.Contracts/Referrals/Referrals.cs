namespace Messaging.Contracts.Referrals;

/// <summary>Status of a referral as the server records it. Wire values never change.</summary>
public enum ReferralStatus
{
    /// <summary>Sent; the receiving service has not answered.</summary>
    Proposed = 1,

    /// <summary>The receiving service proposed a tripartite interview and has not decided yet.</summary>
    TripartiteProposed = 2,

    /// <summary>The receiving service takes the situation on. Identity shares are allowed from now on.</summary>
    Accepted = 3,

    /// <summary>The receiving service declined (with a reason code). Final.</summary>
    Declined = 4,

    /// <summary>The referring service withdrew it before a decision. Final.</summary>
    Withdrawn = 5,

    /// <summary>Unanswered within the configured time. Final.</summary>
    Expired = 6,

    /// <summary>Closed because one of the two partners left the protocol. Final.</summary>
    Closed = 7,
}

/// <summary>What the receiving service answers.</summary>
public enum ReferralResponse
{
    /// <summary>Take the situation on.</summary>
    Accept = 1,

    /// <summary>Decline, with a <see cref="ReferralDeclineReason"/>.</summary>
    Decline = 2,

    /// <summary>Propose a three-party interview (the only possible step when a follow-up already runs elsewhere).</summary>
    ProposeTripartite = 3,
}

/// <summary>Closed list of decline reasons (no free text reaches the server).</summary>
public enum ReferralDeclineReason
{
    /// <summary>The request falls outside the service's competence.</summary>
    OutsideCompetence = 1,

    /// <summary>The person is not anchored in the service's territory.</summary>
    OutsideTerritory = 2,

    /// <summary>The service cannot take it on now.</summary>
    NoCapacity = 3,

    /// <summary>The person does not wish the intervention.</summary>
    PersonDeclined = 4,

    /// <summary>A follow-up by another service is more appropriate.</summary>
    BetterServedElsewhere = 5,

    /// <summary>Another reason, discussed outside the platform.</summary>
    Other = 6,
}

/// <summary>Every action that changes a referral's status.</summary>
public enum ReferralAction
{
    /// <summary>Receiving service accepts.</summary>
    Accept = 1,

    /// <summary>Receiving service declines.</summary>
    Decline = 2,

    /// <summary>Receiving service proposes a tripartite interview.</summary>
    ProposeTripartite = 3,

    /// <summary>Referring service withdraws.</summary>
    Withdraw = 4,

    /// <summary>The server expires an unanswered referral.</summary>
    Expire = 5,

    /// <summary>The server closes it because a partner withdrew from the protocol.</summary>
    Close = 6,
}

/// <summary>Who may perform a <see cref="ReferralAction"/>.</summary>
public enum ReferralParty
{
    /// <summary>A worker or organisation admin of the referring service.</summary>
    Referring = 1,

    /// <summary>A worker or organisation admin of the receiving service.</summary>
    Receiving = 2,

    /// <summary>The server's background processor.</summary>
    System = 3,
}

/// <summary>Open a referral: the metadata the server sees. The referral itself travels as an end-to-end encrypted
/// <see cref="EnvelopeKind.Referral"/> envelope naming the same case reference.</summary>
/// <param name="CaseReference">A fresh pseudonymous reference from <see cref="CaseReference.New"/>.</param>
/// <param name="ReceivingOrganisationId">The service the person is oriented to.</param>
public sealed record OpenReferralRequest(string CaseReference, Guid ReceivingOrganisationId);

/// <summary>The receiving service answers. <paramref name="DeclineReason"/> is required with
/// <see cref="ReferralResponse.Decline"/> and refused otherwise.</summary>
public sealed record RespondToReferralRequest(string CaseReference, ReferralResponse Response, ReferralDeclineReason? DeclineReason = null);

/// <summary>The referring service withdraws a referral that is still awaiting a decision.</summary>
public sealed record WithdrawReferralRequest(string CaseReference);

/// <summary>Everything the server knows about a referral.</summary>
public sealed record ReferralEntry(
    string CaseReference,
    Guid ReferringOrganisationId,
    Guid ReceivingOrganisationId,
    ReferralStatus Status,
    ReferralDeclineReason? DeclineReason,
    DateTimeOffset OpenedAt,
    DateTimeOffset StatusChangedAt,
    DateTimeOffset? ExpiresAt);

/// <summary>Record the person's express consent to share case-file content with one receiving service.</summary>
/// <param name="CaseReference">The referral's case reference.</param>
/// <param name="ReceivingOrganisationId">The only service case-file envelopes under this consent may reach.</param>
/// <param name="ValidUntil">Required; at most the server's configured maximum from now.</param>
public sealed record RecordConsentRequest(string CaseReference, Guid ReceivingOrganisationId, DateTimeOffset ValidUntil);

/// <summary>Revoke a consent: case-file sends naming it are refused from now on.</summary>
public sealed record RevokeConsentRequest(Guid ConsentId);

/// <summary>The consents recorded under a case reference.</summary>
public sealed record ListConsentsRequest(string CaseReference);

/// <summary>A recorded consent (who recorded it, when, for which service, until when, whether revoked).</summary>
public sealed record ConsentEntry(
    Guid ConsentId,
    string CaseReference,
    Guid ReceivingOrganisationId,
    Guid RecordedByMemberId,
    DateTimeOffset RecordedAt,
    DateTimeOffset ValidUntil,
    DateTimeOffset? RevokedAt,
    Guid? RevokedByMemberId)
{
    /// <summary>True when not revoked and <paramref name="now"/> is before <see cref="ValidUntil"/>.</summary>
    public bool IsLive(DateTimeOffset now) => RevokedAt is null && now < ValidUntil;
}
