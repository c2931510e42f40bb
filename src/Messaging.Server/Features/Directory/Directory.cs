using System.Data.Common;
using Messaging.Contracts;
using Messaging.Server.Errors;
using Messaging.Server.Features.Audit;
using Messaging.Server.Features.Authentication;
using Messaging.Server.Persistence;
using Microsoft.AspNetCore.Http.HttpResults;

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

/// <summary>Shape rules for directory input.</summary>
internal static class DirectoryRules
{
    public const int MaxCommunesPerRequest = 600;

    /// <summary>A NIS code is five ASCII digits.</summary>
    public static string RequireNisCode(string? code)
    {
        var trimmed = code?.Trim();
        if (trimmed is not { Length: 5 } || !trimmed.All(char.IsAsciiDigit))
        {
            throw new MalformedRequestException("A commune is named by its five-digit NIS code.");
        }

        return trimmed;
    }

    /// <summary>A regional service has a region; others have none.</summary>
    public static void RequireLevelAndRegion(string? level, string? region)
    {
        if (!ServiceLevels.IsKnown(level))
        {
            throw new MalformedRequestException("Unknown service level.");
        }

        if (level == ServiceLevels.Regional ? !Regions.IsKnown(region) : region is not null)
        {
            throw new MalformedRequestException("A regional service names its region (brussels or wallonia); other levels name none.");
        }
    }

    public static async Task<List<string>> RequireKnownCommunesAsync(DbSession session, IReadOnlyList<string>? codes)
    {
        if (codes is null || codes.Count > MaxCommunesPerRequest)
        {
            throw new MalformedRequestException($"At most {MaxCommunesPerRequest} communes.");
        }

        var result = new List<string>();
        foreach (var code in codes.Select(RequireNisCode).Distinct(StringComparer.Ordinal))
        {
            _ = await DirectoryRepository.GetCommuneAsync(session, code)
                ?? throw new NotFoundException(ErrorCodes.CommuneNotFound, $"No commune {code} in the directory.");
            result.Add(code);
        }

        return result;
    }
}

/// <summary>
/// The partner directory: which service serves which communes at which level, and whether it accepts referrals.
/// The platform operator changes it; every authenticated device reads it (orientation).
/// </summary>
internal sealed class DirectoryService(IDatabase database, AuditLog audit)
{
    public async Task<IReadOnlyList<DirectoryServiceEntry>> ListServicesAsync(CallerDevice actor, CancellationToken cancellationToken = default)
    {
        RequireOperator(actor);
        return await database.ReadAsync(async s =>
        {
            var communes = await DirectoryRepository.ListCommuneCodesAsync(s);
            var services = await DirectoryRepository.ListAsync(s);
            return (IReadOnlyList<DirectoryServiceEntry>)[.. services.Select(o => ToEntry(o, communes.TryGetValue(o.Id, out var c) ? c : []))];
        }, cancellationToken);
    }

    public async Task<DirectoryServiceEntry> UpdateServiceAsync(CallerDevice actor, Guid organisationId, UpdateDirectoryServiceRequest request, CancellationToken cancellationToken = default)
    {
        RequireOperator(actor);
        if (request is null)
        {
            throw new MalformedRequestException("A body is required.");
        }

        return await database.WriteAsync(async s =>
        {
            var current = await DirectoryRepository.GetAsync(s, organisationId)
                ?? throw new NotFoundException(ErrorCodes.OrganisationNotFound, "No such organisation.");
            var level = request.Level ?? current.Level;
            var region = request.Level is null && request.Region is null ? current.Region : request.Region;
            DirectoryRules.RequireLevelAndRegion(level, region);
            var accepts = request.AcceptsReferrals ?? current.AcceptsReferrals;
            if (accepts && current.Type is OrganisationTypes.JusticeHouse or OrganisationTypes.Operator)
            {
                throw new MalformedRequestException("A justice house or the operator does not accept referrals.");
            }

            await DirectoryRepository.UpdateAsync(s, organisationId, level, region, accepts);
            if (request.CommuneCodes is not null)
            {
                await DirectoryRepository.ReplaceCommunesAsync(s, organisationId, await DirectoryRules.RequireKnownCommunesAsync(s, request.CommuneCodes));
            }

            await audit.AppendAsync(s, new AuditEvent(AuditEventTypes.DirectoryServiceUpdated, actor.MemberId, actor.DeviceId,
                [AuditSubject.Organisation(organisationId)], accepts ? $"{level};accepts-referrals" : level));
            var updated = (await DirectoryRepository.GetAsync(s, organisationId))!;
            return ToEntry(updated, await DirectoryRepository.ListCommuneCodesAsync(s, organisationId));
        }, cancellationToken);
    }

    public async Task<CommunesAdded> AddCommunesAsync(CallerDevice actor, AddCommunesRequest request, CancellationToken cancellationToken = default)
    {
        RequireOperator(actor);
        if (request?.Communes is null || request.Communes.Count is 0 or > DirectoryRules.MaxCommunesPerRequest)
        {
            throw new MalformedRequestException($"Between 1 and {DirectoryRules.MaxCommunesPerRequest} communes.");
        }

        var communes = request.Communes.Select(c => c is null || !Regions.IsKnown(c.Region)
                ? throw new MalformedRequestException("Every commune has a NIS code, a name and a region (brussels or wallonia).")
                : new CommuneEntry(DirectoryRules.RequireNisCode(c.NisCode), Text.RequireName(c.Name, "commune name"), c.Region))
            .ToList();
        var added = await database.WriteAsync(async s =>
        {
            var count = 0;
            foreach (var commune in communes)
            {
                count += await DirectoryRepository.InsertCommuneAsync(s, commune);
            }

            await audit.AppendAsync(s, new AuditEvent(AuditEventTypes.DirectoryCommunesAdded, actor.MemberId, actor.DeviceId, [],
                count.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            return count;
        }, cancellationToken);
        return new CommunesAdded(added);
    }

    public async Task<IReadOnlyList<CommuneEntry>> ListCommunesAsync(CancellationToken cancellationToken = default)
        => await database.ReadAsync(DirectoryRepository.ListCommunesAsync, cancellationToken);

    public async Task<OrientationResult> OrientAsync(OrientRequest request, CancellationToken cancellationToken = default)
    {
        var code = DirectoryRules.RequireNisCode(request?.NisCode);
        return await database.ReadAsync(async s =>
        {
            var commune = await DirectoryRepository.GetCommuneAsync(s, code)
                ?? throw new NotFoundException(ErrorCodes.CommuneNotFound, $"No commune {code} in the directory.");
            return new OrientationResult(commune, await DirectoryRepository.OrientAsync(s, commune));
        }, cancellationToken);
    }

    private static void RequireOperator(CallerDevice actor)
    {
        if (!actor.IsPlatformOperator)
        {
            throw new ForbiddenException("Only the platform operator administers the directory.");
        }
    }

    private static DirectoryServiceEntry ToEntry(DirectoryRecord o, List<string> communes)
        => new(o.Id, o.Name, o.Type, o.Level, o.Region, o.AcceptsReferrals, o.PartnerStatus, communes);
}

internal static class DirectoryFeature
{
    public static IServiceCollection AddDirectory(this IServiceCollection services)
    {
        services.AddSingleton<DirectoryService>();
        return services;
    }

    public static IEndpointRouteBuilder MapDirectory(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet(ApiRoutes.DirectoryServices, async Task<Ok<IReadOnlyList<DirectoryServiceEntry>>> (HttpContext http, DirectoryService service)
                => TypedResults.Ok(await service.ListServicesAsync(CallerDevice.From(http.User), http.RequestAborted)))
            .RequireAuthorization()
            .WithName("ListDirectoryServices");

        endpoints.MapPut(ApiRoutes.DirectoryService, async Task<Ok<DirectoryServiceEntry>> (
                Guid organisationId, UpdateDirectoryServiceRequest request, HttpContext http, DirectoryService service)
                => TypedResults.Ok(await service.UpdateServiceAsync(CallerDevice.From(http.User), organisationId, request, http.RequestAborted)))
            .RequireAuthorization()
            .WithName("UpdateDirectoryService");

        endpoints.MapPost(ApiRoutes.DirectoryCommunesAdmin, async Task<Ok<CommunesAdded>> (AddCommunesRequest request, HttpContext http, DirectoryService service)
                => TypedResults.Ok(await service.AddCommunesAsync(CallerDevice.From(http.User), request, http.RequestAborted)))
            .RequireAuthorization()
            .WithName("AddCommunes");

        endpoints.MapGet(ApiRoutes.DirectoryCommunes, async Task<Ok<IReadOnlyList<CommuneEntry>>> (HttpContext http, DirectoryService service)
                => TypedResults.Ok(await service.ListCommunesAsync(http.RequestAborted)))
            .RequireAuthorization()
            .WithName("ListCommunes");

        endpoints.MapGet(ApiRoutes.Orientation, async Task<Ok<OrientationResult>> (string? commune, HttpContext http, DirectoryService service)
                => TypedResults.Ok(await service.OrientAsync(new OrientRequest(commune ?? string.Empty), http.RequestAborted)))
            .RequireAuthorization()
            .WithName("Orient");
        return endpoints;
    }
}
