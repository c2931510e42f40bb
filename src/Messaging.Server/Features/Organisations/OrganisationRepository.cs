using Messaging.Server.Persistence;

namespace Messaging.Server.Features.Organisations;

internal sealed record OrganisationRecord(Guid Id, string Name, string Type, DateTimeOffset CreatedAt);

internal static class OrganisationRepository
{
    public static Task InsertAsync(DbSession session, OrganisationRecord organisation) => session.ExecuteAsync(
        "INSERT INTO organisations (id, name, type, created_at) VALUES (@id, @name, @type, @at);",
        ("@id", organisation.Id), ("@name", organisation.Name), ("@type", organisation.Type), ("@at", organisation.CreatedAt));

    public static Task<OrganisationRecord?> GetAsync(DbSession session, Guid id) => session.QuerySingleOrDefaultAsync(
        "SELECT id, name, type, created_at FROM organisations WHERE id = @id;", Map, ("@id", id));

    public static Task<List<OrganisationRecord>> ListAsync(DbSession session) => session.QueryAsync(
        "SELECT id, name, type, created_at FROM organisations ORDER BY name, id;", Map);

    private static OrganisationRecord Map(System.Data.Common.DbDataReader r)
        => new(r.GetGuidValue(0), r.GetString(1), r.GetString(2), r.GetInstant(3));
}
