using System.Data.Common;
using Messaging.Contracts.Referrals;
using Messaging.Server.Persistence;

namespace Messaging.Server.Features.Consent;

internal static class ConsentRepository
{
    private const string Columns = "id, case_reference, receiving_organisation_id, recorded_by_member_id, recorded_at, valid_until, revoked_at, revoked_by_member_id";

    public static Task InsertAsync(DbSession session, ConsentEntry consent) => session.ExecuteAsync(
        $"INSERT INTO consents ({Columns}) VALUES (@id, @case, @org, @by, @at, @until, NULL, NULL);",
        ("@id", consent.ConsentId), ("@case", consent.CaseReference), ("@org", consent.ReceivingOrganisationId),
        ("@by", consent.RecordedByMemberId), ("@at", consent.RecordedAt), ("@until", consent.ValidUntil));

    public static Task<ConsentEntry?> GetAsync(DbSession session, Guid id) => session.QuerySingleOrDefaultAsync(
        $"SELECT {Columns} FROM consents WHERE id = @id;", Map, ("@id", id));

    public static Task<List<ConsentEntry>> ListAsync(DbSession session, string caseReference) => session.QueryAsync(
        $"SELECT {Columns} FROM consents WHERE case_reference = @case ORDER BY recorded_at, id;", Map, ("@case", caseReference));

    public static Task<int> RevokeAsync(DbSession session, Guid id, DateTimeOffset at, Guid by) => session.ExecuteAsync(
        "UPDATE consents SET revoked_at = @at, revoked_by_member_id = @by WHERE id = @id AND revoked_at IS NULL;",
        ("@id", id), ("@at", at), ("@by", by));

    private static ConsentEntry Map(DbDataReader r) => new(
        r.GetGuidValue(0), r.GetString(1), r.GetGuidValue(2), r.GetGuidValue(3), r.GetInstant(4), r.GetInstant(5), r.GetNullableInstant(6), r.GetNullableGuid(7));
}
