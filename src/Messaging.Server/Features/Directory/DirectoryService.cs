using Messaging.Contracts;
using Messaging.Server.Errors;
using Messaging.Server.Features.Audit;
using Messaging.Server.Features.Authentication;
using Messaging.Server.Persistence;

namespace Messaging.Server.Features.Directory;

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
