using Messaging.Contracts;
using Messaging.Server.Features.Audit;
using Messaging.Server.Features.Envelopes;
using Messaging.Server.Features.Jobs;
using Messaging.Server.Persistence;

namespace Messaging.Server.Features.Notices;

/// <summary>
/// When an attendance-notice envelope is accepted (its gate passed): records the notice's metadata row and the
/// <c>notice.sent</c> audit entry in the same transaction, and after the commit enqueues the content-free email to the
/// assistant. Should the process stop in between, <see cref="NoticeEmailJob.Pending"/> enqueues it at the next start.
/// </summary>
internal sealed class NoticeRelay(AuditLog audit, JobScheduler jobs, TimeProvider time) : IEnvelopeAcceptedHook
{
    public bool Applies(EnvelopeKind kind) => kind == EnvelopeKind.AttendanceNotice;

    public async Task<Func<Task>?> OnAcceptedAsync(DbSession session, EnvelopeGateContext context, long sequence)
    {
        var (sender, request) = (context.Sender, context.Request);
        var routing = request.Notice!;
        var mandate = (await NoticeRepository.FindLiveMandateAsync(session, request.CaseReference!, sender.OrganisationId))!;
        await NoticeRepository.InsertNoticeAsync(session, new NoticeRecord(routing.NoticeId, mandate.Id, routing.Kind, routing.InterviewId,
            sender.MemberId, sender.DeviceId, context.Now, null));
        await audit.AppendAsync(session, new AuditEvent(NoticeAudit.NoticeSent, sender.MemberId, sender.DeviceId,
            [NoticeAudit.Notice(routing.NoticeId), NoticeAudit.Mandate(mandate.Id)], NoticeKinds.Name(routing.Kind)));
        if (routing.InterviewId is { } interview)
        {
            // A notice about the interview is its outcome as far as the mandate goes: that mandate's chase stops (the gate
            // checked that the interview involves the sender's service, under this mandate's case reference).
            await OutcomeChaseJob.ResolveAsync(session, interview, context.Now, mandate.Id);
        }

        var noticeId = routing.NoticeId;
        return () =>
        {
            jobs.ScheduleAt<NoticeEmailJob>(j => j.RunAsync(noticeId, CancellationToken.None), time.GetUtcNow());
            return Task.CompletedTask;
        };
    }
}
