using Messaging.Contracts;
using Messaging.Contracts.Referrals;
using Messaging.Server.Errors;
using Messaging.Server.Features.Audit;
using Messaging.Server.Features.Authentication;
using Messaging.Server.Features.Referrals;
using Messaging.Server.Persistence;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Features.Consent;

/// <summary>
/// The person's express consent to share case-file content (protocol 7.A): recorded by a worker or admin of the
/// referring service for the referral's receiving service (the only other party), valid until a bounded date, revocable at once by either side of the
/// referral. <see cref="Referrals.ReferralEnvelopeGate"/> refuses case-file envelopes without a live consent.
/// </summary>
internal sealed class ConsentService(IDatabase database, AuditLog audit, TimeProvider time, IOptions<ConsentOptions> options)
{
    public async Task<ConsentEntry> RecordAsync(CallerDevice caller, RecordConsentRequest request, CancellationToken cancellationToken = default)
    {
        ReferralService.RequirePractitioner(caller);
        var caseReference = ReferralService.RequireCaseReference(request?.CaseReference);
        var now = DbValues.ToStoragePrecision(time.GetUtcNow());
        var validUntil = DbValues.ToStoragePrecision(request!.ValidUntil);
        if (validUntil <= now || validUntil > now + options.Value.MaxValidity)
        {
            throw new MalformedRequestException($"A consent is valid until a date after now and at most {options.Value.MaxValidity.TotalDays:0} days ahead.");
        }

        if (request.ReceivingOrganisationId == Guid.Empty || request.ReceivingOrganisationId == caller.OrganisationId)
        {
            throw new MalformedRequestException("A consent names another organisation as the receiving service.");
        }

        var consent = new ConsentEntry(Guid.NewGuid(), caseReference, request.ReceivingOrganisationId, caller.MemberId, now, validUntil, null, null);
        return await database.WriteAsync(async s =>
        {
            var referral = await RequireVisibleReferralAsync(s, caller, caseReference);
            if (referral.ReferringOrganisationId != caller.OrganisationId)
            {
                throw new ForbiddenException("The referring service records the person's consent.", ErrorCodes.ReferralWrongParty);
            }

            if (!ReferralStateMachine.IsLive(referral.Status))
            {
                throw new ConflictException(ErrorCodes.ReferralClosed, "The referral is closed.");
            }

            if (request.ReceivingOrganisationId != referral.ReceivingOrganisationId)
            {
                // A consent names the referral's other party: the person agreed to share the file with that service.
                throw new ForbiddenException("A consent under this case reference names the referral's receiving service.", ErrorCodes.ConsentOtherService);
            }

            await ConsentRepository.InsertAsync(s, consent);
            await audit.AppendAsync(s, new AuditEvent(AuditEventTypes.ConsentRecorded, caller.MemberId, caller.DeviceId,
                [AuditSubject.Consent(consent.ConsentId), AuditSubject.Referral(referral.Id), AuditSubject.Organisation(consent.ReceivingOrganisationId)]));
            return consent;
        }, cancellationToken);
    }

    /// <summary>Revokes a consent (either side of the referral may record that the person withdrew it). Idempotent.</summary>
    public async Task<ConsentEntry> RevokeAsync(CallerDevice caller, RevokeConsentRequest request, CancellationToken cancellationToken = default)
    {
        ReferralService.RequirePractitioner(caller);
        if (request is null || request.ConsentId == Guid.Empty)
        {
            throw new MalformedRequestException("A consent id is required.");
        }

        var now = DbValues.ToStoragePrecision(time.GetUtcNow());
        return await database.WriteAsync(async s =>
        {
            var consent = await ConsentRepository.GetAsync(s, request.ConsentId);
            var referral = consent is null ? null : await ReferralRepository.GetAsync(s, consent.CaseReference);
            if (consent is null || referral is null || !referral.Involves(caller.OrganisationId))
            {
                throw new NotFoundException(ErrorCodes.ConsentNotFound, "No such consent.");
            }

            if (consent.RevokedAt is not null)
            {
                return consent;
            }

            await ConsentRepository.RevokeAsync(s, consent.ConsentId, now, caller.MemberId);
            await audit.AppendAsync(s, new AuditEvent(AuditEventTypes.ConsentRevoked, caller.MemberId, caller.DeviceId,
                [AuditSubject.Consent(consent.ConsentId), AuditSubject.Referral(referral.Id)]));
            return consent with { RevokedAt = now, RevokedByMemberId = caller.MemberId };
        }, cancellationToken);
    }

    public async Task<IReadOnlyList<ConsentEntry>> ListAsync(CallerDevice caller, ListConsentsRequest request, CancellationToken cancellationToken = default)
    {
        ReferralService.RequirePractitioner(caller);
        var caseReference = ReferralService.RequireCaseReference(request?.CaseReference);
        return await database.ReadAsync(async s =>
        {
            _ = await RequireVisibleReferralAsync(s, caller, caseReference);
            return (IReadOnlyList<ConsentEntry>)await ConsentRepository.ListAsync(s, caseReference);
        }, cancellationToken);
    }

    private static async Task<ReferralRecord> RequireVisibleReferralAsync(DbSession session, CallerDevice caller, string caseReference)
    {
        var referral = await ReferralRepository.GetAsync(session, caseReference);
        return referral is not null && referral.Involves(caller.OrganisationId)
            ? referral
            : throw new NotFoundException(ErrorCodes.ReferralNotFound, "No such referral.");
    }
}
