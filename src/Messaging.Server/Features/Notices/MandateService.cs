using Messaging.Contracts;
using Messaging.Server.Errors;
using Messaging.Server.Features.Audit;
using Messaging.Server.Features.Authentication;
using Messaging.Server.Features.Referrals;
using Messaging.Server.Persistence;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Features.Notices;

/// <summary>
/// Mandates (<see cref="MandateStateMachine"/>): a worker or admin of the following service proposes one for a case
/// reference and a justice assistant of a Maison de justice; the assistant accepts; either side ends it. Each step is
/// audited (ids only). A mandate is visible to its service and its assistant only.
/// </summary>
internal sealed class MandateService(IDatabase database, AuditLog audit, TimeProvider time, IOptions<NoticesOptions> options)
{
    public async Task<MandateEntry> ProposeAsync(CallerDevice caller, ProposeMandateRequest request, CancellationToken cancellationToken = default)
    {
        ReferralService.RequirePractitioner(caller);
        var caseReference = ReferralService.RequireCaseReference(request?.CaseReference);
        if (request!.AssistantMemberId == Guid.Empty)
        {
            throw new MalformedRequestException("A mandate names its justice assistant.");
        }

        var now = DbValues.ToStoragePrecision(time.GetUtcNow());
        return await database.WriteAsync(async s =>
        {
            var assistant = await NoticeRepository.MemberKindAsync(s, request.AssistantMemberId);
            if (assistant is not { Role: Roles.JusticeAssistant, OrganisationType: OrganisationTypes.JusticeHouse } found)
            {
                throw new ForbiddenException("A mandate links a justice assistant of a Maison de justice.", ErrorCodes.MandateNotJusticeAssistant);
            }

            if (await NoticeRepository.FindLiveMandateAsync(s, caseReference, caller.OrganisationId) is { } existing)
            {
                // A retry of the same proposal returns it unchanged; anything else is a second mandate for the same case.
                return existing.AssistantMemberId == request.AssistantMemberId
                    ? Entry(existing)
                    : throw new ConflictException(ErrorCodes.MandateExists, "A live mandate already links this case reference and your service.");
            }

            var mandate = new MandateRecord(Guid.NewGuid(), caseReference, caller.OrganisationId, request.AssistantMemberId, found.OrganisationId,
                MandateStatus.Proposed, caller.MemberId, now, now);
            await NoticeRepository.InsertMandateAsync(s, mandate);
            await AppendAsync(s, NoticeAudit.MandateProposed, caller, mandate);
            return Entry(mandate);
        }, cancellationToken);
    }

    public Task<MandateEntry> AcceptAsync(CallerDevice caller, MandateRequest request, CancellationToken cancellationToken = default)
        => TransitionAsync(caller, request, MandateStatus.Accepted, cancellationToken);

    public Task<MandateEntry> EndAsync(CallerDevice caller, MandateRequest request, CancellationToken cancellationToken = default)
        => TransitionAsync(caller, request, MandateStatus.Ended, cancellationToken);

    public async Task<IReadOnlyList<MandateEntry>> ListAsync(CallerDevice caller, CancellationToken cancellationToken = default)
    {
        RequireParty(caller);
        var rows = await database.ReadAsync(s => NoticeRepository.ListMandatesAsync(s, caller.Role == Roles.JusticeAssistant ? Guid.Empty : caller.OrganisationId,
            caller.Role == Roles.JusticeAssistant ? caller.MemberId : Guid.Empty), cancellationToken);
        return [.. rows.Select(Entry)];
    }

    /// <summary>Whether the caller is one of the mandate's two sides: a worker or admin of the service, or its assistant.</summary>
    public static bool IsSide(CallerDevice caller, MandateRecord mandate)
        => (caller.Role is Roles.Worker or Roles.OrganisationAdmin && caller.OrganisationId == mandate.ServiceOrganisationId)
            || (caller.Role == Roles.JusticeAssistant && caller.MemberId == mandate.AssistantMemberId);

    private async Task<MandateEntry> TransitionAsync(CallerDevice caller, MandateRequest request, MandateStatus target, CancellationToken cancellationToken)
    {
        RequireParty(caller);
        if (request is null || request.MandateId == Guid.Empty)
        {
            throw new MalformedRequestException("A mandate id is required.");
        }

        var now = DbValues.ToStoragePrecision(time.GetUtcNow());
        return await database.WriteAsync(async s =>
        {
            var mandate = await NoticeRepository.GetMandateAsync(s, request.MandateId);
            if (mandate is null || !IsSide(caller, mandate))
            {
                throw new NotFoundException(ErrorCodes.MandateNotFound, "No such mandate.");
            }

            if (mandate.Status == target)
            {
                return Entry(mandate);
            }

            var allowed = (mandate.Status, target) switch
            {
                (MandateStatus.Proposed, MandateStatus.Accepted) => caller.Role == Roles.JusticeAssistant,
                (MandateStatus.Proposed or MandateStatus.Accepted, MandateStatus.Ended) => true,
                _ => false,
            };
            if (!allowed)
            {
                throw new ConflictException(ErrorCodes.MandateTransitionRefused,
                    $"A {MandateStateMachine.Name(mandate.Status)} mandate cannot become {MandateStateMachine.Name(target)} by your hand.");
            }

            await NoticeRepository.UpdateMandateStatusAsync(s, mandate.Id, mandate.Status, target, now);
            var updated = mandate with { Status = target, StatusChangedAt = now };
            await AppendAsync(s, target == MandateStatus.Accepted ? NoticeAudit.MandateAccepted : NoticeAudit.MandateEnded, caller, updated);
            return Entry(updated);
        }, cancellationToken);
    }

    private static void RequireParty(CallerDevice caller)
    {
        if (caller.Role is not (Roles.Worker or Roles.OrganisationAdmin or Roles.JusticeAssistant))
        {
            throw new ForbiddenException("Only services and justice assistants take part in mandates.");
        }
    }

    private MandateEntry Entry(MandateRecord mandate) => mandate.ToEntry(options.Value.IntakeOf(mandate.JusticeHouseId) is not null);

    private Task<long> AppendAsync(DbSession session, string type, CallerDevice caller, MandateRecord mandate)
        => audit.AppendAsync(session, new AuditEvent(type, caller.MemberId, caller.DeviceId,
            [NoticeAudit.Mandate(mandate.Id), AuditSubject.Organisation(mandate.ServiceOrganisationId), AuditSubject.Member(mandate.AssistantMemberId)],
            MandateStateMachine.Name(mandate.Status)));
}
