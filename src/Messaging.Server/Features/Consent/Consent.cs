using System.ComponentModel.DataAnnotations;
using System.Data.Common;
using Messaging.Contracts;
using Messaging.Contracts.Referrals;
using Messaging.Server.Errors;
using Messaging.Server.Features.Audit;
using Messaging.Server.Features.Authentication;
using Messaging.Server.Features.Referrals;
using Messaging.Server.Persistence;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Features.Consent;

/// <summary>Consent limits (section <c>Messaging:Consent</c>).</summary>
public sealed class ConsentOptions
{
    public const string Section = "Messaging:Consent";

    /// <summary>The longest a recorded consent may stay valid.</summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "366.00:00:00")]
    public TimeSpan MaxValidity { get; set; } = TimeSpan.FromDays(365);
}

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

internal static class ConsentFeature
{
    public static IServiceCollection AddConsent(this IServiceCollection services)
    {
        services.AddOptions<ConsentOptions>().BindConfiguration(ConsentOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<ConsentService>();
        return services;
    }
}
