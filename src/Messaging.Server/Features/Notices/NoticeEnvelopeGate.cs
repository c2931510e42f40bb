using Messaging.Contracts;
using Messaging.Server.Errors;
using Messaging.Server.Features.Envelopes;
using Messaging.Server.Features.Interviews;
using Messaging.Server.Features.Referrals;
using Messaging.Server.Persistence;

namespace Messaging.Server.Features.Notices;

/// <summary>
/// The notice channel's send rule (protocol 7.C), applied after the kind policy and before anything is written. An
/// attendance-notice envelope carries its routing (notice id, kind, optionally the interview) and the case reference,
/// and nothing else the server reads (no consent); an accepted mandate must link that case reference to the sender's
/// service; the conversation holds the sender and the mandate's justice assistant only, and every recipient device is
/// one of theirs (the assistant's, or the sender's own other devices, which multi-device delivery requires); an
/// interview the notice names exists, involves the sender's service (as organiser or participant), is under the
/// notice's case reference and has started; a notice id is relayed once, and a mandate sends at most one notice of each
/// kind about one interview. Any other kind must not carry notice routing. That a justice assistant never receives a
/// referral, identity-share or case-file envelope is the kind policy's rule (<see cref="EnvelopePolicy.MayReceive"/>),
/// checked before this gate.
/// </summary>
internal sealed class NoticeEnvelopeGate : IEnvelopeGate
{
    public int Order => EnvelopeGateOrder.Notices;

    // Every kind: the gate also refuses notice routing on envelopes that are not notices.
    public bool Applies(EnvelopeKind kind) => true;

    // For other kinds the check reads the request only.
    public bool ReadsState(EnvelopeKind kind) => kind == EnvelopeKind.AttendanceNotice;

    public bool ChecksRequestOnly(EnvelopeKind kind) => kind != EnvelopeKind.AttendanceNotice;

    /// <summary>Any other kind than a notice: refused when it carries notice routing.</summary>
    public void CheckRequest(SendEnvelopeRequest request)
    {
        if (request.Notice is not null)
        {
            throw new MalformedRequestException("Only attendance-notice envelopes carry notice routing.", ErrorCodes.NoticeRoutingInvalid);
        }
    }

    public async Task CheckAsync(DbSession session, EnvelopeGateContext context)
    {
        var (sender, request) = (context.Sender, context.Request);
        if (ChecksRequestOnly(request.Kind))
        {
            CheckRequest(request);
            return;
        }

        if (request.Notice is not { } routing || routing.NoticeId == Guid.Empty || !NoticeKinds.IsDefined(routing.Kind)
            || routing.InterviewId == Guid.Empty || string.IsNullOrEmpty(request.CaseReference))
        {
            throw new MalformedRequestException("An attendance notice names its notice id, a known kind and its case reference.", ErrorCodes.NoticeRoutingInvalid);
        }

        if (request.ConsentId is not null)
        {
            throw new MalformedRequestException("An attendance notice carries no consent.", ErrorCodes.NoticeFieldRefused);
        }

        var caseReference = ReferralService.RequireCaseReference(request.CaseReference);
        if (sender.Role is not (Roles.Worker or Roles.OrganisationAdmin))
        {
            throw new ForbiddenException("Only a following service's workers issue notices.", ErrorCodes.NoticeWrongSender);
        }

        var mandate = await NoticeRepository.FindLiveMandateAsync(session, caseReference, sender.OrganisationId);
        if (mandate is not { Status: MandateStatus.Accepted })
        {
            throw new ForbiddenException("No accepted mandate links this case to your service.", ErrorCodes.NoticeNoMandate);
        }

        var assistant = context.Participants.FirstOrDefault(p => p.MemberId == mandate.AssistantMemberId);
        if (assistant is null || context.Participants.Any(p => p.MemberId != sender.MemberId && p.MemberId != mandate.AssistantMemberId))
        {
            throw new ForbiddenException("A notice goes to the mandate's justice assistant only.", ErrorCodes.NoticeWrongRecipient);
        }

        var own = context.Participants.First(p => p.MemberId == sender.MemberId).ActiveDeviceIds;
        var addressed = request.Recipients.Select(r => r.DeviceId).Concat(request.Unreachable ?? []);
        if (addressed.Any(d => !assistant.ActiveDeviceIds.Contains(d) && !own.Contains(d)))
        {
            throw new ForbiddenException("A notice goes to the devices of the mandate's justice assistant only.", ErrorCodes.NoticeWrongRecipient);
        }

        if (routing.InterviewId is { } interviewId)
        {
            await RequireReportableInterviewAsync(session, interviewId, caseReference, sender.OrganisationId, context.Now);
        }

        if (await NoticeRepository.GetNoticeAsync(session, routing.NoticeId) is not null
            || (routing.InterviewId is { } interview && await NoticeRepository.InterviewHasNoticeOfKindAsync(session, mandate.Id, interview, routing.Kind)))
        {
            throw new ConflictException(ErrorCodes.NoticeDuplicate, "This notice was already sent.");
        }
    }

    /// <summary>
    /// The interview a notice names, read in the send's own unit of work: one that involves the sender's service (an
    /// unknown id and another service's interview are refused alike, so the gate tells nothing of interviews the sender
    /// has no part in), under the notice's case reference (the mandate's), that has started. Otherwise a notice could
    /// block another service's notice about its interview and stop its outcome chase.
    /// </summary>
    private static async Task RequireReportableInterviewAsync(DbSession session, Guid interviewId, string caseReference, Guid senderOrganisationId,
        DateTimeOffset now)
    {
        var interview = await InterviewQueries.FindInvolvingAsync(session, interviewId, senderOrganisationId)
            ?? throw new NotFoundException(ErrorCodes.NoticeInterviewUnknown,
                "No interview with this id involves your service; for one held outside the system, give its date.");
        if (!string.Equals(interview.CaseReference, caseReference, StringComparison.Ordinal))
        {
            throw new ForbiddenException("This interview is under another case reference than the notice's.", ErrorCodes.NoticeInterviewOtherCase);
        }

        if (interview.Start > now)
        {
            throw new ConflictException(ErrorCodes.NoticeInterviewNotStarted, "This interview has not started yet.");
        }
    }
}
