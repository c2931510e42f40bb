using System.Data.Common;
using Messaging.Server.Persistence;

namespace Messaging.Server.Features.Members;

internal sealed record MemberRecord(Guid Id, Guid OrganisationId, string DisplayName, string Role, string WorkEmail, DateTimeOffset CreatedAt);

/// <summary>The <c>members</c> table (display names and work emails live here and nowhere else).</summary>
internal static class MemberRepository
{
    private const string Columns = "id, organisation_id, display_name, role, work_email, created_at";

    public static Task InsertAsync(DbSession session, MemberRecord member) => session.ExecuteAsync(
        $"INSERT INTO members ({Columns}) VALUES (@id, @org, @name, @role, @email, @at);",
        ("@id", member.Id), ("@org", member.OrganisationId), ("@name", member.DisplayName), ("@role", member.Role),
        ("@email", member.WorkEmail), ("@at", member.CreatedAt));

    public static Task<MemberRecord?> GetAsync(DbSession session, Guid id) => session.QuerySingleOrDefaultAsync(
        $"SELECT {Columns} FROM members WHERE id = @id;", Map, ("@id", id));

    public static Task<List<MemberRecord>> ListAsync(DbSession session, Guid? organisationId) => organisationId is { } org
        ? session.QueryAsync($"SELECT {Columns} FROM members WHERE organisation_id = @org ORDER BY display_name, id;", Map, ("@org", org))
        : session.QueryAsync($"SELECT {Columns} FROM members ORDER BY display_name, id;", Map);

    public static Task<List<Guid>> ListIdsAsync(DbSession session, Guid organisationId) => session.QueryAsync(
        "SELECT id FROM members WHERE organisation_id = @org ORDER BY id;", r => r.GetGuidValue(0), ("@org", organisationId));

    private static MemberRecord Map(DbDataReader r)
        => new(r.GetGuidValue(0), r.GetGuidValue(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetInstant(5));
}
