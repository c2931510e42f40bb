using System.Data.Common;
using Messaging.Contracts;
using Messaging.Server.Persistence;

namespace Messaging.Server.Features.Directory;

/// <summary>An organisation's directory data: organisation-level only, no member and no person.</summary>
internal sealed record DirectoryRecord(Guid Id, string Name, string Type, string Level, string? Region, bool AcceptsReferrals, string PartnerStatus);

internal static class DirectoryRepository
{
    private const string Columns = "id, name, type, level, region, accepts_referrals, partner_status";

    public static Task<DirectoryRecord?> GetAsync(DbSession session, Guid organisationId) => session.QuerySingleOrDefaultAsync(
        $"SELECT {Columns} FROM organisations WHERE id = @id;", Map, ("@id", organisationId));

    public static Task<List<DirectoryRecord>> ListAsync(DbSession session) => session.QueryAsync(
        $"SELECT {Columns} FROM organisations ORDER BY name, id;", Map);

    public static Task<int> UpdateAsync(DbSession session, Guid organisationId, string level, string? region, bool acceptsReferrals) => session.ExecuteAsync(
        "UPDATE organisations SET level = @level, region = @region, accepts_referrals = @accepts WHERE id = @id;",
        ("@id", organisationId), ("@level", level), ("@region", region), ("@accepts", acceptsReferrals));

    public static Task<int> SetPartnerStatusAsync(DbSession session, Guid organisationId, string status, DateTimeOffset? withdrawnAt) => session.ExecuteAsync(
        "UPDATE organisations SET partner_status = @status, withdrawn_at = @at WHERE id = @id;",
        ("@id", organisationId), ("@status", status), ("@at", withdrawnAt));

    public static async Task<Dictionary<Guid, List<string>>> ListCommuneCodesAsync(DbSession session)
    {
        var rows = await session.QueryAsync(
            "SELECT organisation_id, nis_code FROM organisation_communes ORDER BY organisation_id, nis_code;",
            r => (Organisation: r.GetGuidValue(0), Code: r.GetString(1)));
        return rows.GroupBy(r => r.Organisation).ToDictionary(g => g.Key, g => g.Select(r => r.Code).ToList());
    }

    public static Task<List<string>> ListCommuneCodesAsync(DbSession session, Guid organisationId) => session.QueryAsync(
        "SELECT nis_code FROM organisation_communes WHERE organisation_id = @id ORDER BY nis_code;", r => r.GetString(0), ("@id", organisationId));

    public static async Task ReplaceCommunesAsync(DbSession session, Guid organisationId, IEnumerable<string> codes)
    {
        await session.ExecuteAsync("DELETE FROM organisation_communes WHERE organisation_id = @id;", ("@id", organisationId));
        foreach (var code in codes)
        {
            await session.ExecuteAsync("INSERT INTO organisation_communes (organisation_id, nis_code) VALUES (@id, @code);", ("@id", organisationId), ("@code", code));
        }
    }

    public static Task<CommuneEntry?> GetCommuneAsync(DbSession session, string code) => session.QuerySingleOrDefaultAsync(
        "SELECT nis_code, name, region FROM communes WHERE nis_code = @code;", MapCommune, ("@code", code));

    public static Task<List<CommuneEntry>> ListCommunesAsync(DbSession session) => session.QueryAsync(
        "SELECT nis_code, name, region FROM communes ORDER BY nis_code;", MapCommune);

    public static Task<int> InsertCommuneAsync(DbSession session, CommuneEntry commune) => session.ExecuteAsync(
        "INSERT INTO communes (nis_code, name, region) VALUES (@code, @name, @region) ON CONFLICT DO NOTHING;",
        ("@code", commune.NisCode), ("@name", commune.Name), ("@region", commune.Region));

    /// <summary>Services accepting referrals for a commune, in orientation order: local services serving it, regional
    /// services of its region, community-wide services; withdrawn partners excluded; by name within a level.</summary>
    public static Task<List<OrientationEntry>> OrientAsync(DbSession session, CommuneEntry commune) => session.QueryAsync(
        """
        SELECT o.id, o.name, o.type, o.level,
               CASE o.level WHEN 'local' THEN 0 WHEN 'regional' THEN 1 ELSE 2 END AS tier
        FROM organisations o
        WHERE o.accepts_referrals = 1 AND o.partner_status <> 'withdrawn'
          AND ((o.level = 'local' AND EXISTS (SELECT 1 FROM organisation_communes oc WHERE oc.organisation_id = o.id AND oc.nis_code = @code))
            OR (o.level = 'regional' AND o.region = @region)
            OR o.level = 'community')
        ORDER BY tier, o.name, o.id;
        """,
        r => new OrientationEntry(r.GetGuidValue(0), r.GetString(1), r.GetString(2), r.GetString(3)),
        ("@code", commune.NisCode), ("@region", commune.Region));

    private static DirectoryRecord Map(DbDataReader r)
        => new(r.GetGuidValue(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetNullableString(4), r.GetInt64(5) != 0, r.GetString(6));

    private static CommuneEntry MapCommune(DbDataReader r) => new(r.GetString(0), r.GetString(1), r.GetString(2));
}
