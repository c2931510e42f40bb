using Messaging.Contracts;
using Messaging.Server.Errors;
using Messaging.Server.Features.Audit;
using Messaging.Server.Features.Authentication;
using Messaging.Server.Features.Directory;
using Messaging.Server.Features.Jobs;
using Messaging.Server.Persistence;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Features.Partners;

/// <summary>Announces partnership changes to connected devices; implemented by the hub layer. Best effort: the
/// database stays the source of truth (<see cref="PartnerService.ListJoinRequestsAsync"/>).</summary>
internal interface IPartnerSignals
{
    Task AnnounceAsync(PartnerAnnouncementDto announcement);
}

/// <summary>
/// Protocol section 9. The platform operator files a public entity's join request; it is announced to every partner,
/// whose organisation admins may object until the deadline; <see cref="JoinRequestDecisionJob"/> then admits or rejects it.
/// A partner's organisation admin (for their own organisation) or the operator files a withdrawal, effective after the
/// notice period, when the processor revokes its devices and closes its open referrals.
/// </summary>
internal sealed class PartnerService(IDatabase database, AuditLog audit, IPartnerSignals signals, JobScheduler jobs, TimeProvider time, IOptions<PartnersOptions> options)
{
    public async Task<JoinRequestEntry> FileJoinRequestAsync(CallerDevice actor, FileJoinRequest request, CancellationToken cancellationToken = default)
    {
        if (!actor.IsPlatformOperator)
        {
            throw new ForbiddenException("Only the platform operator files join requests.");
        }

        if (request is null)
        {
            throw new MalformedRequestException("A body is required.");
        }

        var name = Text.RequireName(request.Name, "name");
        if (!OrganisationTypes.IsKnown(request.Type) || request.Type == OrganisationTypes.Operator)
        {
            throw new MalformedRequestException("Unknown organisation type.");
        }

        DirectoryRules.RequireLevelAndRegion(request.Level, request.Region);
        if (request.AcceptsReferrals && request.Type == OrganisationTypes.JusticeHouse)
        {
            throw new MalformedRequestException("A justice house does not accept referrals.");
        }

        var now = DbValues.ToStoragePrecision(time.GetUtcNow());
        var record = await database.WriteAsync(async s =>
        {
            var communes = await DirectoryRules.RequireKnownCommunesAsync(s, request.CommuneCodes ?? []);
            var joinRequest = new JoinRequestRecord(Guid.NewGuid(), name, request.Type, request.Level, request.Region, communes,
                request.AcceptsReferrals, actor.MemberId, now, now + options.Value.ObjectionWindow, JoinRequestStatuses.Pending, null, null);
            await PartnerRepository.InsertJoinRequestAsync(s, joinRequest);
            await audit.AppendAsync(s, new AuditEvent(AuditEventTypes.PartnerJoinRequested, actor.MemberId, actor.DeviceId,
                [AuditSubject.JoinRequest(joinRequest.Id)], joinRequest.Type));
            return joinRequest;
        }, cancellationToken);

        PartnerDeadlines.ScheduleDecision(jobs, record);
        await signals.AnnounceAsync(new PartnerAnnouncementDto(PartnerAnnouncementKinds.JoinRequested, record.Id, null, record.Name, record.Type, record.ObjectionDeadline));
        return ToEntry(record, 0, false);
    }

    public async Task<IReadOnlyList<JoinRequestEntry>> ListJoinRequestsAsync(CallerDevice actor, CancellationToken cancellationToken = default)
    {
        if (!actor.IsPlatformOperator && !actor.IsOrganisationAdmin)
        {
            throw new ForbiddenException("Organisation admins and the platform operator see join requests.");
        }

        return await database.ReadAsync(async s =>
        {
            var (counts, mine) = await PartnerRepository.ObjectionsAsync(s, actor.OrganisationId);
            var requests = await PartnerRepository.ListJoinRequestsAsync(s);
            return (IReadOnlyList<JoinRequestEntry>)[.. requests.Select(r => ToEntry(r, counts.GetValueOrDefault(r.Id), mine.Contains(r.Id)))];
        }, cancellationToken);
    }

    /// <summary>An organisation admin objects for their organisation, before the deadline. Objecting twice changes nothing.</summary>
    public async Task<JoinRequestEntry> ObjectAsync(CallerDevice actor, ObjectToJoinRequest request, CancellationToken cancellationToken = default)
    {
        if (!actor.IsOrganisationAdmin)
        {
            throw new ForbiddenException("An organisation admin objects on behalf of their organisation.");
        }

        if (request is null || request.JoinRequestId == Guid.Empty || !ObjectionReasons.IsKnown(request.ReasonCode))
        {
            throw new MalformedRequestException("A join request id and a reason code from the closed list are required.");
        }

        var now = DbValues.ToStoragePrecision(time.GetUtcNow());
        return await database.WriteAsync(async s =>
        {
            var organisation = await DirectoryRepository.GetAsync(s, actor.OrganisationId)
                ?? throw new NotFoundException(ErrorCodes.OrganisationNotFound, "No such organisation.");
            if (organisation.Type == OrganisationTypes.Operator || organisation.PartnerStatus == PartnerStatuses.Withdrawn)
            {
                throw new ForbiddenException("Only parties to the protocol object.");
            }

            var joinRequest = await PartnerRepository.GetJoinRequestAsync(s, request.JoinRequestId)
                ?? throw new NotFoundException(ErrorCodes.JoinRequestNotFound, "No such join request.");
            if (joinRequest.Status != JoinRequestStatuses.Pending || now >= joinRequest.ObjectionDeadline)
            {
                throw new ConflictException(ErrorCodes.ObjectionWindowClosed, "The objection window is over.");
            }

            if (await PartnerRepository.InsertObjectionAsync(s, joinRequest.Id, actor.OrganisationId, request.ReasonCode, actor.MemberId, now) > 0)
            {
                await audit.AppendAsync(s, new AuditEvent(AuditEventTypes.PartnerObjected, actor.MemberId, actor.DeviceId,
                    [AuditSubject.JoinRequest(joinRequest.Id), AuditSubject.Organisation(actor.OrganisationId)], request.ReasonCode));
            }

            return ToEntry(joinRequest, (int)await PartnerRepository.CountObjectionsAsync(s, joinRequest.Id), true);
        }, cancellationToken);
    }

    /// <summary>Files a withdrawal effective after the notice period (calendar months, UTC).</summary>
    public async Task<WithdrawalEntry> FileWithdrawalAsync(CallerDevice actor, FileWithdrawalRequest request, CancellationToken cancellationToken = default)
    {
        if (request is null || request.OrganisationId == Guid.Empty)
        {
            throw new MalformedRequestException("An organisation id is required.");
        }

        if (!actor.IsPlatformOperator && !(actor.IsOrganisationAdmin && actor.OrganisationId == request.OrganisationId))
        {
            throw new ForbiddenException("An organisation admin withdraws their own organisation; the platform operator any.");
        }

        var now = DbValues.ToStoragePrecision(time.GetUtcNow());
        var withdrawal = new WithdrawalRecord(Guid.NewGuid(), request.OrganisationId, actor.MemberId, now,
            now.ToUniversalTime().AddMonths(options.Value.WithdrawalNoticeMonths), WithdrawalStatuses.Pending, null);
        var organisation = await database.WriteAsync(async s =>
        {
            var organisation = await DirectoryRepository.GetAsync(s, request.OrganisationId)
                ?? throw new NotFoundException(ErrorCodes.OrganisationNotFound, "No such organisation.");
            if (organisation.Type == OrganisationTypes.Operator)
            {
                throw new MalformedRequestException("The operator is not a party to the protocol.");
            }

            if (organisation.PartnerStatus != PartnerStatuses.Active)
            {
                throw new ConflictException(ErrorCodes.PartnerWithdrawn, "This organisation has withdrawn or is withdrawing.");
            }

            await DirectoryRepository.SetPartnerStatusAsync(s, organisation.Id, PartnerStatuses.Withdrawing, null);
            await PartnerRepository.InsertWithdrawalAsync(s, withdrawal);
            await audit.AppendAsync(s, new AuditEvent(AuditEventTypes.PartnerWithdrawalFiled, actor.MemberId, actor.DeviceId,
                [AuditSubject.Withdrawal(withdrawal.Id), AuditSubject.Organisation(organisation.Id)]));
            return organisation;
        }, cancellationToken);

        PartnerDeadlines.ScheduleWithdrawal(jobs, withdrawal);
        await signals.AnnounceAsync(new PartnerAnnouncementDto(PartnerAnnouncementKinds.WithdrawalFiled, withdrawal.Id, organisation.Id,
            organisation.Name, organisation.Type, withdrawal.EffectiveAt));
        return withdrawal.ToEntry();
    }

    public async Task<IReadOnlyList<WithdrawalEntry>> ListWithdrawalsAsync(CallerDevice actor, CancellationToken cancellationToken = default)
    {
        if (!actor.IsPlatformOperator && !actor.IsOrganisationAdmin)
        {
            throw new ForbiddenException("Organisation admins and the platform operator see withdrawals.");
        }

        var rows = await database.ReadAsync(PartnerRepository.ListWithdrawalsAsync, cancellationToken);
        return [.. rows.Select(w => w.ToEntry())];
    }

    private static JoinRequestEntry ToEntry(JoinRequestRecord r, int objections, bool mine)
        => new(r.Id, r.Name, r.Type, r.Level, r.Region, r.FiledAt, r.ObjectionDeadline, r.Status, objections, mine, r.OrganisationId, r.DecidedAt);
}
