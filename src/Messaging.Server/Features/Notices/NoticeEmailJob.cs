using Messaging.Scheduling.Delivery;
using Messaging.Server.Features.Jobs;
using Messaging.Server.Persistence;

namespace Messaging.Server.Features.Notices;

/// <summary>
/// Sends the content-free "a notice is waiting" email to the assistant's work address, once per notice: the delivery
/// id is derived from the notice id (the sender's ledger or pickup file refuses a second send), and the row is stamped
/// when it went out. A temporary failure throws, so Hangfire retries the job; a permanent one is logged (no address).
/// </summary>
internal sealed partial class NoticeEmailJob(IDatabase database, NoticeMailer mailer, TimeProvider time, ILogger<NoticeEmailJob> logger)
{
    public static string DeliveryId(Guid noticeId) => "a0" + noticeId.ToString("N");

    /// <summary>Returns true when this run sent (or found sent) the email and stamped the notice.</summary>
    public async Task<bool> RunAsync(Guid noticeId, CancellationToken cancellationToken)
    {
        var target = await database.ReadAsync(async s =>
        {
            var notice = await NoticeRepository.GetNoticeAsync(s, noticeId);
            var mandate = notice is null || notice.EmailSentAt is not null ? null : await NoticeRepository.GetMandateAsync(s, notice.MandateId);
            return mandate is null ? null : await NoticeRepository.WorkEmailAsync(s, mandate.AssistantMemberId);
        }, cancellationToken);
        if (target is null)
        {
            return false;
        }

        var result = await mailer.SendAsync(DeliveryId(noticeId), target, NoticeEmail.NoticeWaiting, cancellationToken);
        switch (result.Status)
        {
            case DeliveryStatus.Sent or DeliveryStatus.AlreadySent:
                var now = DbValues.ToStoragePrecision(time.GetUtcNow());
                return await database.WriteAsync(s => NoticeRepository.MarkEmailSentAsync(s, noticeId, now), cancellationToken) == 1;
            case DeliveryStatus.TemporaryFailure:
                throw new InvalidOperationException($"The notice email {result.DeliveryId} could not be sent yet ({result.ReplyCode}); it will be retried.");
            default:
                LogRefused(logger, result.DeliveryId, result.ReplyCode);
                return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Notice email {DeliveryId} refused for good ({ReplyCode})")]
    private static partial void LogRefused(ILogger logger, string deliveryId, int? replyCode);

    /// <summary>At start-up: the email of every notice whose email has not gone out.</summary>
    internal sealed class Pending(IDatabase database, JobScheduler jobs, TimeProvider time) : IPendingJobSource
    {
        public async Task<int> ScheduleAllAsync(CancellationToken cancellationToken)
        {
            var pending = await database.ReadAsync(NoticeRepository.ListEmailPendingAsync, cancellationToken);
            foreach (var id in pending)
            {
                var noticeId = id;
                jobs.ScheduleAt<NoticeEmailJob>(j => j.RunAsync(noticeId, CancellationToken.None), time.GetUtcNow());
            }

            return pending.Count;
        }
    }
}
