using Messaging.Contracts;
using Messaging.Server.Errors;
using Messaging.Server.Features.Envelopes;
using Messaging.Server.Features.Referrals;
using Messaging.Server.Persistence;

namespace Messaging.Server.Features.Interviews;

/// <summary>
/// The interview rule of the send path (protocol 7.A/7.B): an invitation envelope names the case reference it travels
/// under, and travels only between participants of one live interview under that reference — its organiser and its
/// invited members, the sender among them. Anything else is refused before anything is written. The envelope's content
/// stays end-to-end encrypted: the gate reads metadata only.
/// </summary>
internal sealed class InterviewEnvelopeGate : IEnvelopeGate
{
    public int Order => EnvelopeGateOrder.Interviews;

    public bool Applies(EnvelopeKind kind) => kind == EnvelopeKind.Invitation;

    public async Task CheckAsync(DbSession session, EnvelopeGateContext context)
    {
        if (string.IsNullOrEmpty(context.Request.CaseReference))
        {
            throw new MalformedRequestException("An invitation envelope names its case reference.", ErrorCodes.CaseReferenceRequired);
        }

        var caseReference = ReferralService.RequireCaseReference(context.Request.CaseReference);
        var live = await InterviewRepository.ListLiveForCaseAsync(session, caseReference);
        var members = context.Participants.Select(p => p.MemberId).Append(context.Sender.MemberId).ToHashSet();
        if (!live.Any(interview => members.All(interview.Involves)))
        {
            throw new ForbiddenException("Invitations travel only between the participants of a live interview under this case.",
                ErrorCodes.InterviewEnvelopeOutside);
        }
    }
}
