using Messaging.Contracts;
using Messaging.Contracts.Referrals;
using Messaging.Server.Errors;
using Messaging.Server.Features.Authentication;
using Messaging.Server.Features.Consent;
using Messaging.Server.Features.Envelopes;
using Messaging.Server.Persistence;

namespace Messaging.Server.Features.Referrals;

/// <summary>
/// The referral rules of the send path, applied after the kind policy and before anything is written. A referral,
/// referral-response, identity-share or case-file envelope names the referral it travels under; the conversation holds
/// members of that referral's two organisations only; the referral is not final; referral and identity-share
/// envelopes come from the referring organisation, referral-response envelopes from the receiving one; an identity
/// share needs an accepted referral; a case file needs an accepted referral and a live consent for the recipients'
/// organisation. What the
/// envelopes say stays end-to-end encrypted: the server checks metadata only.
/// </summary>
internal sealed class ReferralEnvelopeGate : IEnvelopeGate
{
    public int Order => EnvelopeGateOrder.Referrals;

    public bool Applies(EnvelopeKind kind) => kind is EnvelopeKind.Referral or EnvelopeKind.ReferralResponse
        or EnvelopeKind.IdentityShare or EnvelopeKind.CaseFile;

    public async Task CheckAsync(DbSession session, EnvelopeGateContext context)
    {
        var (sender, request, now) = (context.Sender, context.Request, context.Now);

        if (string.IsNullOrEmpty(request.CaseReference))
        {
            throw new MalformedRequestException($"A {EnvelopeKinds.Name(request.Kind)} envelope names its case reference.", ErrorCodes.CaseReferenceRequired);
        }

        var caseReference = ReferralService.RequireCaseReference(request.CaseReference);
        var referral = await ReferralRepository.GetAsync(session, caseReference);
        if (referral is null || !referral.Involves(sender.OrganisationId))
        {
            throw new NotFoundException(ErrorCodes.ReferralNotFound, "No such referral.");
        }

        var organisations = await ReferralRepository.ConversationOrganisationsAsync(session, request.ConversationId);
        if (organisations.Any(o => !referral.Involves(o)))
        {
            throw new ForbiddenException("This conversation includes members outside the referral's two organisations.", ErrorCodes.ReferralParticipantsOutside);
        }

        if (!ReferralStateMachine.IsLive(referral.Status))
        {
            throw new ConflictException(ErrorCodes.ReferralClosed, $"The referral is {ReferralStateMachine.Name(referral.Status)}.");
        }

        var fromReferring = sender.OrganisationId == referral.ReferringOrganisationId;
        switch (request.Kind)
        {
            case EnvelopeKind.Referral when !fromReferring:
            case EnvelopeKind.IdentityShare when !fromReferring:
                throw new ForbiddenException($"Only the referring service sends {EnvelopeKinds.Name(request.Kind)} envelopes.", ErrorCodes.ReferralWrongParty);
            case EnvelopeKind.ReferralResponse when fromReferring:
                throw new ForbiddenException("Only the receiving service sends referral-response envelopes.", ErrorCodes.ReferralWrongParty);
            case EnvelopeKind.IdentityShare when referral.Status != ReferralStatus.Accepted:
                throw new ConflictException(ErrorCodes.ReferralNotAccepted, "The identity travels only after the referral is accepted.");
            case EnvelopeKind.CaseFile when referral.Status != ReferralStatus.Accepted:
                // Protocol 7.A: the receiving service decides on the minimal referral alone; the case file follows only
                // once it took the situation on (and under the person's consent, below).
                throw new ConflictException(ErrorCodes.ReferralNotAccepted, "The case file travels only after the referral is accepted.");
            case EnvelopeKind.CaseFile:
                await RequireLiveConsentAsync(session, sender, request.ConsentId, caseReference, organisations, now);
                break;
            default:
                break;
        }
    }

    private static async Task RequireLiveConsentAsync(DbSession session, CallerDevice sender, Guid? consentId, string caseReference,
        HashSet<Guid> organisations, DateTimeOffset now)
    {
        var consent = consentId is { } id ? await ConsentRepository.GetAsync(session, id) : null;
        if (consent is null || !string.Equals(consent.CaseReference, caseReference, StringComparison.Ordinal))
        {
            throw new ForbiddenException("A case file travels only under a recorded consent for this case.", ErrorCodes.ConsentRequired);
        }

        if (consent.RevokedAt is not null)
        {
            throw new ForbiddenException("The consent was revoked.", ErrorCodes.ConsentRevoked);
        }

        if (now >= consent.ValidUntil)
        {
            throw new ForbiddenException("The consent has expired.", ErrorCodes.ConsentExpired);
        }

        if (organisations.Any(o => o != sender.OrganisationId && o != consent.ReceivingOrganisationId))
        {
            throw new ForbiddenException("The consent covers another receiving service.", ErrorCodes.ConsentOtherService);
        }
    }
}
