using System.Data.Common;
using Messaging.Contracts.Referrals;
using Messaging.Server.Persistence;

namespace Messaging.Server.Features.Referrals;

/// <summary>Everything the server stores about a referral: the case reference, the two organisations, the status (with
/// a decline reason code) and timestamps. The id is a surrogate for the audit log, which never holds case references.</summary>
internal sealed record ReferralRecord(
    Guid Id,
    string CaseReference,
    Guid ReferringOrganisationId,
    Guid ReceivingOrganisationId,
    ReferralStatus Status,
    ReferralDeclineReason? DeclineReason,
    DateTimeOffset OpenedAt,
    DateTimeOffset StatusChangedAt,
    DateTimeOffset? ExpiresAt)
{
    public ReferralEntry ToEntry() => new(CaseReference, ReferringOrganisationId, ReceivingOrganisationId, Status, DeclineReason, OpenedAt, StatusChangedAt, ExpiresAt);

    /// <summary>True when <paramref name="organisationId"/> is one of the two sides.</summary>
    public bool Involves(Guid organisationId) => organisationId == ReferringOrganisationId || organisationId == ReceivingOrganisationId;
}

internal static class ReferralRepository
{
    private const string Columns = "id, case_reference, referring_organisation_id, receiving_organisation_id, status, decline_reason, opened_at, status_changed_at, expires_at";

    public static Task InsertAsync(DbSession session, ReferralRecord referral) => session.ExecuteAsync(
        """
        INSERT INTO referrals (id, case_reference, referring_organisation_id, receiving_organisation_id, status, opened_at, status_changed_at, expires_at)
        VALUES (@id, @case, @from, @to, @status, @at, @at, @expires);
        """,
        ("@id", referral.Id), ("@case", referral.CaseReference), ("@from", referral.ReferringOrganisationId),
        ("@to", referral.ReceivingOrganisationId), ("@status", referral.Status), ("@at", referral.OpenedAt), ("@expires", referral.ExpiresAt));

    public static Task<ReferralRecord?> GetAsync(DbSession session, string caseReference) => session.QuerySingleOrDefaultAsync(
        $"SELECT {Columns} FROM referrals WHERE case_reference = @case;", Map, ("@case", caseReference));

    public static Task<List<ReferralRecord>> ListForOrganisationAsync(DbSession session, Guid organisationId) => session.QueryAsync(
        $"SELECT {Columns} FROM referrals WHERE referring_organisation_id = @org OR receiving_organisation_id = @org ORDER BY opened_at DESC, case_reference;",
        Map, ("@org", organisationId));

    public static Task<ReferralRecord?> GetByIdAsync(DbSession session, Guid id) => session.QuerySingleOrDefaultAsync(
        $"SELECT {Columns} FROM referrals WHERE id = @id;", Map, ("@id", id));

    /// <summary>Referrals awaiting a decision (each has a deadline).</summary>
    public static Task<List<ReferralRecord>> ListAwaitingDecisionAsync(DbSession session) => session.QueryAsync(
        $"SELECT {Columns} FROM referrals WHERE status IN (1, 2) AND expires_at IS NOT NULL ORDER BY expires_at, case_reference;", Map);

    /// <summary>Referrals of an organisation (either side) that are not final.</summary>
    public static Task<List<ReferralRecord>> ListOpenForOrganisationAsync(DbSession session, Guid organisationId) => session.QueryAsync(
        $"SELECT {Columns} FROM referrals WHERE status IN (1, 2, 3) AND (referring_organisation_id = @org OR receiving_organisation_id = @org) ORDER BY case_reference;",
        Map, ("@org", organisationId));

    /// <summary>Moves a referral from <paramref name="from"/> to <paramref name="to"/>; 0 when its status changed
    /// meanwhile (the caller then does nothing).</summary>
    public static Task<int> UpdateStatusAsync(DbSession session, string caseReference, ReferralStatus from, ReferralStatus to,
        ReferralDeclineReason? reason, DateTimeOffset now, DateTimeOffset? expiresAt) => session.ExecuteAsync(
        """
        UPDATE referrals SET status = @to, decline_reason = @reason, status_changed_at = @now, expires_at = @expires,
            accepted_at = CASE WHEN @to = 3 THEN @now ELSE accepted_at END,
            declined_at = CASE WHEN @to = 4 THEN @now ELSE declined_at END
        WHERE case_reference = @case AND status = @from;
        """,
        ("@case", caseReference), ("@from", from), ("@to", to), ("@reason", reason), ("@now", now), ("@expires", expiresAt));

    /// <summary>The organisations of a conversation's members.</summary>
    public static async Task<HashSet<Guid>> ConversationOrganisationsAsync(DbSession session, Guid conversationId)
        => [.. await session.QueryAsync(
            "SELECT DISTINCT m.organisation_id FROM conversation_members cm JOIN members m ON m.id = cm.member_id WHERE cm.conversation_id = @c;",
            r => r.GetGuidValue(0), ("@c", conversationId))];

    private static ReferralRecord Map(DbDataReader r) => new(
        r.GetGuidValue(0), r.GetString(1), r.GetGuidValue(2), r.GetGuidValue(3), (ReferralStatus)r.GetInt64(4),
        r.IsDBNull(5) ? null : (ReferralDeclineReason)r.GetInt64(5), r.GetInstant(6), r.GetInstant(7), r.GetNullableInstant(8));
}
