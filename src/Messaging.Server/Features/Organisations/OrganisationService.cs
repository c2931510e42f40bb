using Messaging.Contracts;
using Messaging.Server.Errors;
using Messaging.Server.Features.Audit;
using Messaging.Server.Features.Authentication;
using Messaging.Server.Features.Directory;
using Messaging.Server.Persistence;

namespace Messaging.Server.Features.Organisations;

/// <summary>Partner organisations. Only the platform operator (or the host's bootstrap command) creates them.</summary>
internal sealed class OrganisationService(IDatabase database, AuditLog audit, TimeProvider time)
{
    /// <summary>Creates an organisation. <paramref name="actor"/> is null only for host commands.</summary>
    public async Task<OrganisationEntry> CreateAsync(CallerDevice? actor, CreateOrganisationRequest request, CancellationToken cancellationToken = default)
    {
        if (actor is not null && !actor.IsPlatformOperator)
        {
            throw new ForbiddenException("Only the platform operator creates organisations.");
        }

        if (request is null)
        {
            throw new MalformedRequestException("A body is required.");
        }

        var name = Text.RequireName(request.Name, "name");
        if (!OrganisationTypes.IsKnown(request.Type))
        {
            throw new MalformedRequestException("Unknown organisation type.");
        }

        var level = request.Level ?? ServiceLevels.Local;
        DirectoryRules.RequireLevelAndRegion(level, request.Region);
        var acceptsReferrals = request.AcceptsReferrals ?? request.Type == OrganisationTypes.PreventionService;
        if (acceptsReferrals && request.Type is OrganisationTypes.JusticeHouse or OrganisationTypes.Operator)
        {
            throw new MalformedRequestException("A justice house or the operator does not accept referrals.");
        }

        var record = new OrganisationRecord(Guid.NewGuid(), name, request.Type, DbValues.ToStoragePrecision(time.GetUtcNow()));
        await database.WriteAsync(async s =>
        {
            await InsertWithinAsync(s, record, level, request.Region, acceptsReferrals, actor?.MemberId, actor?.DeviceId);
            return record;
        }, cancellationToken);
        return new OrganisationEntry(record.Id, record.Name, record.Type);
    }

    /// <summary>
    /// The one place an organisation comes into being, inside the caller's transaction: its row, its directory entry
    /// and its <c>organisation.created</c> audit entry. Used by the operator's creation above and by a partner's
    /// admission at its objection deadline (no actor then). The caller has validated the fields.
    /// </summary>
    public async Task InsertWithinAsync(DbSession session, OrganisationRecord record, string level, string? region, bool acceptsReferrals,
        Guid? actorMemberId, Guid? actorDeviceId)
    {
        await OrganisationRepository.InsertAsync(session, record);
        await DirectoryRepository.UpdateAsync(session, record.Id, level, region, acceptsReferrals);
        await audit.AppendAsync(session, new AuditEvent(AuditEventTypes.OrganisationCreated, actorMemberId, actorDeviceId,
            [AuditSubject.Organisation(record.Id)], record.Type));
    }

    public async Task<IReadOnlyList<OrganisationEntry>> ListAsync(CancellationToken cancellationToken = default)
    {
        var rows = await database.ReadAsync(OrganisationRepository.ListAsync, cancellationToken);
        return [.. rows.Select(o => new OrganisationEntry(o.Id, o.Name, o.Type))];
    }
}
