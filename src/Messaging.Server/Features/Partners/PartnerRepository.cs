using System.Data.Common;
using Messaging.Contracts;
using Messaging.Server.Persistence;

namespace Messaging.Server.Features.Partners;

internal sealed record JoinRequestRecord(
    Guid Id,
    string Name,
    string Type,
    string Level,
    string? Region,
    IReadOnlyList<string> CommuneCodes,
    bool AcceptsReferrals,
    Guid? FiledByMemberId,
    DateTimeOffset FiledAt,
    DateTimeOffset ObjectionDeadline,
    string Status,
    Guid? OrganisationId,
    DateTimeOffset? DecidedAt);

internal sealed record WithdrawalRecord(Guid Id, Guid OrganisationId, Guid? FiledByMemberId, DateTimeOffset FiledAt, DateTimeOffset EffectiveAt, string Status, DateTimeOffset? CompletedAt)
{
    public WithdrawalEntry ToEntry() => new(Id, OrganisationId, FiledAt, EffectiveAt, Status, CompletedAt);
}

internal static class PartnerRepository
{
    private const string JoinColumns = "id, name, type, level, region, commune_codes, accepts_referrals, filed_by_member_id, filed_at, objection_deadline, status, organisation_id, decided_at";
    private const string WithdrawalColumns = "id, organisation_id, filed_by_member_id, filed_at, effective_at, status, completed_at";

    public static Task InsertJoinRequestAsync(DbSession session, JoinRequestRecord r) => session.ExecuteAsync(
        $"INSERT INTO partner_join_requests ({JoinColumns}) VALUES (@id, @name, @type, @level, @region, @communes, @accepts, @by, @at, @deadline, @status, NULL, NULL);",
        ("@id", r.Id), ("@name", r.Name), ("@type", r.Type), ("@level", r.Level), ("@region", r.Region), ("@communes", string.Join(',', r.CommuneCodes)),
        ("@accepts", r.AcceptsReferrals), ("@by", r.FiledByMemberId), ("@at", r.FiledAt), ("@deadline", r.ObjectionDeadline), ("@status", r.Status));

    public static Task<JoinRequestRecord?> GetJoinRequestAsync(DbSession session, Guid id) => session.QuerySingleOrDefaultAsync(
        $"SELECT {JoinColumns} FROM partner_join_requests WHERE id = @id;", MapJoin, ("@id", id));

    public static Task<List<JoinRequestRecord>> ListJoinRequestsAsync(DbSession session) => session.QueryAsync(
        $"SELECT {JoinColumns} FROM partner_join_requests ORDER BY filed_at DESC, id;", MapJoin);

    public static Task<List<JoinRequestRecord>> ListPendingJoinRequestsAsync(DbSession session) => session.QueryAsync(
        $"SELECT {JoinColumns} FROM partner_join_requests WHERE status = 'pending' ORDER BY objection_deadline, id;", MapJoin);

    public static Task<int> DecideJoinRequestAsync(DbSession session, Guid id, string status, Guid? organisationId, DateTimeOffset at) => session.ExecuteAsync(
        "UPDATE partner_join_requests SET status = @status, organisation_id = @org, decided_at = @at WHERE id = @id AND status = 'pending';",
        ("@id", id), ("@status", status), ("@org", organisationId), ("@at", at));

    public static Task<int> InsertObjectionAsync(DbSession session, Guid joinRequestId, Guid organisationId, string reason, Guid memberId, DateTimeOffset at) => session.ExecuteAsync(
        """
        INSERT INTO partner_objections (join_request_id, organisation_id, reason, objected_by_member_id, objected_at)
        VALUES (@request, @org, @reason, @member, @at) ON CONFLICT DO NOTHING;
        """,
        ("@request", joinRequestId), ("@org", organisationId), ("@reason", reason), ("@member", memberId), ("@at", at));

    /// <summary>Objection counts per join request, and which ones the organisation objected to.</summary>
    public static async Task<(Dictionary<Guid, int> Counts, HashSet<Guid> Mine)> ObjectionsAsync(DbSession session, Guid organisationId)
    {
        var rows = await session.QueryAsync("SELECT join_request_id, organisation_id FROM partner_objections;", r => (Request: r.GetGuidValue(0), Organisation: r.GetGuidValue(1)));
        return (rows.GroupBy(r => r.Request).ToDictionary(g => g.Key, g => g.Count()), [.. rows.Where(r => r.Organisation == organisationId).Select(r => r.Request)]);
    }

    public static async Task<long> CountObjectionsAsync(DbSession session, Guid joinRequestId)
        => await session.ScalarInt64Async("SELECT COUNT(*) FROM partner_objections WHERE join_request_id = @id;", ("@id", joinRequestId)) ?? 0;

    public static Task InsertWithdrawalAsync(DbSession session, WithdrawalRecord w) => session.ExecuteAsync(
        $"INSERT INTO partner_withdrawals ({WithdrawalColumns}) VALUES (@id, @org, @by, @at, @effective, @status, NULL);",
        ("@id", w.Id), ("@org", w.OrganisationId), ("@by", w.FiledByMemberId), ("@at", w.FiledAt), ("@effective", w.EffectiveAt), ("@status", w.Status));

    public static Task<WithdrawalRecord?> GetWithdrawalAsync(DbSession session, Guid id) => session.QuerySingleOrDefaultAsync(
        $"SELECT {WithdrawalColumns} FROM partner_withdrawals WHERE id = @id;", MapWithdrawal, ("@id", id));

    public static Task<List<WithdrawalRecord>> ListWithdrawalsAsync(DbSession session) => session.QueryAsync(
        $"SELECT {WithdrawalColumns} FROM partner_withdrawals ORDER BY filed_at DESC, id;", MapWithdrawal);

    public static Task<List<WithdrawalRecord>> ListPendingWithdrawalsAsync(DbSession session) => session.QueryAsync(
        $"SELECT {WithdrawalColumns} FROM partner_withdrawals WHERE status = 'pending' ORDER BY effective_at, id;", MapWithdrawal);

    public static Task<int> CompleteWithdrawalAsync(DbSession session, Guid id, DateTimeOffset at) => session.ExecuteAsync(
        "UPDATE partner_withdrawals SET status = 'effective', completed_at = @at WHERE id = @id AND status = 'pending';", ("@id", id), ("@at", at));

    private static JoinRequestRecord MapJoin(DbDataReader r) => new(
        r.GetGuidValue(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetNullableString(4),
        r.GetString(5).Split(',', StringSplitOptions.RemoveEmptyEntries), r.GetInt64(6) != 0, r.GetNullableGuid(7),
        r.GetInstant(8), r.GetInstant(9), r.GetString(10), r.GetNullableGuid(11), r.GetNullableInstant(12));

    private static WithdrawalRecord MapWithdrawal(DbDataReader r) => new(
        r.GetGuidValue(0), r.GetGuidValue(1), r.GetNullableGuid(2), r.GetInstant(3), r.GetInstant(4), r.GetString(5), r.GetNullableInstant(6));
}
