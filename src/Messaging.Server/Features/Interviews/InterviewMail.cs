using Messaging.Contracts;
using Messaging.Scheduling.Delivery;
using Messaging.Scheduling.Invitations;
using Messaging.Server.Features.Jobs;
using Messaging.Server.Persistence;
using Microsoft.Extensions.Options;
using MimeKit;
using NodaTime;

namespace Messaging.Server.Features.Interviews;

/// <summary>
/// The one sender of interview emails: the library's SMTP pool with its exactly-once ledger (in the database) when a relay is configured,
/// otherwise the pickup folder (the embedded default). Built once per host; disposes the pool with it.
/// </summary>
internal sealed class InterviewMailer : IAsyncDisposable
{
    private readonly SmtpConnectionPool? _pool;

    public InterviewMailer(IOptions<InterviewsOptions> options, IOptions<StorageOptions> storage, IDatabase database, TimeProvider time, ILoggerFactory loggers)
    {
        var o = options.Value;
        var root = Path.Combine(Path.GetFullPath(storage.Value.DataDirectory), "interviews");
        SchedulingMailbox = MailboxAddress.Parse(o.SchedulingMailbox);
        if (o.Smtp is { } smtp)
        {
            var library = new SmtpOptions
            {
                Host = smtp.Host,
                Port = smtp.Port,
                Security = smtp.Security,
                UserName = smtp.UserName,
                Password = smtp.Password is null ? null : new Secret(smtp.Password),
                PoolSize = smtp.PoolSize,
                MaxAttempts = smtp.MaxAttempts,
                FirstBackoff = smtp.FirstBackoff,
            };
            library.Validate();
            _pool = new SmtpConnectionPool(library);
            // In the database: every instance of a scaled-out deployment sees the same claims.
            Sender = new SmtpInvitationSender(_pool, new DatabaseDeliveryLedger(database, time), library, time, loggers.CreateLogger<SmtpInvitationSender>());
        }
        else
        {
            Sender = new PickupFolderSender(o.PickupDirectory ?? Path.Combine(root, "pickup"));
        }
    }

    public IInvitationSender Sender { get; }

    public MailboxAddress SchedulingMailbox { get; }

    public async ValueTask DisposeAsync()
    {
        if (_pool is not null)
        {
            await _pool.DisposeAsync();
        }
    }
}

/// <summary>
/// Sends the invitations of one version of an interview (a REQUEST at SEQUENCE n, or its CANCEL). Job arguments are ids
/// and numbers only. The job re-reads the interview: a REQUEST superseded by a later version is not sent (the later
/// job sends that one). Each message goes at most once (its delivery id); a permanent refusal is recorded on the
/// participant's row for the organiser to see; a temporary failure makes the job fail, and Hangfire retries it — the
/// ledger keeps the messages already sent from going twice.
/// </summary>
internal sealed partial class InterviewMailJob(IDatabase database, InterviewMailer mailer, InterviewUidKey uidKey, TimeProvider time, ILogger<InterviewMailJob> logger)
{
    /// <summary>Returns how many messages this run handed to the mail server.</summary>
    public async Task<int> SendAsync(Guid interviewId, int sequence, bool cancel, CancellationToken cancellationToken)
    {
        var record = await database.ReadAsync(s => InterviewRepository.GetAsync(s, interviewId), cancellationToken);
        if (record is null || record.Sequence != sequence || (cancel != (record.State == InterviewState.Cancelled)))
        {
            return 0;
        }

        var interview = record.ToDomain();
        var messages = InvitationMessage.Build(interview, cancel ? ItipMethod.Cancel : ItipMethod.Request, mailer.SchedulingMailbox,
            await uidKey.GetAsync(cancellationToken), Instant.FromDateTimeOffset(time.GetUtcNow()));
        var sent = 0;
        var temporary = 0;
        foreach (var message in messages)
        {
            var result = await mailer.Sender.SendAsync(message, cancellationToken);
            var state = result.Status switch
            {
                DeliveryStatus.Sent or DeliveryStatus.AlreadySent => InterviewDeliveryState.Sent,
                DeliveryStatus.PermanentFailure => InterviewDeliveryState.PermanentFailure,
                _ => InterviewDeliveryState.Pending,
            };
            sent += result.Status == DeliveryStatus.Sent ? 1 : 0;
            temporary += result.Status == DeliveryStatus.TemporaryFailure ? 1 : 0;
            if (result.Status == DeliveryStatus.PermanentFailure)
            {
                LogPermanent(interviewId, sequence, result.ReplyCode);
            }

            await database.WriteAsync(async s =>
            {
                await InterviewRepository.SetDeliveryAsync(s, interviewId, sequence, message.Recipient, state, result.ReplyCode);
                return 0;
            }, cancellationToken);
        }

        if (temporary > 0)
        {
            // Hangfire retries the job later; what went out stays in the ledger and is not sent again.
            throw new InterviewDeliveryPendingException($"{temporary} invitation(s) of interview {interviewId:D} could not be delivered yet.");
        }

        return sent;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Interview {InterviewId} sequence {Sequence}: an invitation was refused for good (reply {ReplyCode})")]
    private partial void LogPermanent(Guid interviewId, int sequence, int? replyCode);

    /// <summary>At start-up: the invitations of every live or cancelled interview whose last version still has pending
    /// deliveries are sent again (the ledger sends only what did not go).</summary>
    internal sealed class Pending(IDatabase database, JobScheduler jobs, TimeProvider time) : IPendingJobSource
    {
        public async Task<int> ScheduleAllAsync(CancellationToken cancellationToken)
        {
            var rows = await database.ReadAsync(s => s.QueryAsync(
                """
                SELECT i.id, i.sequence, i.status FROM interviews i
                WHERE i.status IN (1, 2, 3, 4) AND (i.organiser_delivery = 0
                   OR EXISTS (SELECT 1 FROM interview_participants p WHERE p.interview_id = i.id AND p.delivery = 0));
                """,
                r => (Id: r.GetGuidValue(0), Sequence: (int)r.GetInt64(1), Cancelled: r.GetInt64(2) == (long)InterviewState.Cancelled)), cancellationToken);
            foreach (var (id, sequence, cancelled) in rows)
            {
                jobs.ScheduleAt<InterviewMailJob>(j => j.SendAsync(id, sequence, cancelled, CancellationToken.None), time.GetUtcNow());
            }

            return rows.Count;
        }
    }
}

/// <summary>Some invitations met a temporary failure: the job is retried (nothing already sent goes again).</summary>
internal sealed class InterviewDeliveryPendingException(string message) : Exception(message);

/// <summary>
/// A reminder (one lead before the start) of one interview. Arguments: the interview, the lead and the due instant the
/// job was scheduled for. The job re-reads the reminder row: a reminder moved since (the interview was rescheduled: a
/// new job exists for the new due time), already sent, or of an interview no longer live does nothing; one that ran
/// early (Hangfire's whole seconds) schedules itself again. Sends go through the ledger, so a job retried after a crash
/// between the send and the row update sends nothing twice.
/// </summary>
internal sealed class InterviewReminderJob(IDatabase database, InterviewMailer mailer, JobScheduler jobs, TimeProvider time)
{
    /// <summary>Returns true when this run sent the reminder.</summary>
    public async Task<bool> RunAsync(Guid interviewId, int leadMinutes, long dueUnixMilliseconds, CancellationToken cancellationToken)
    {
        var due = DateTimeOffset.FromUnixTimeMilliseconds(dueUnixMilliseconds);
        var (reminder, record) = await database.ReadAsync(async s =>
            (await InterviewRepository.GetReminderAsync(s, interviewId, leadMinutes), await InterviewRepository.GetAsync(s, interviewId)), cancellationToken);
        if (reminder is null || record is null || reminder.DueAt != due || reminder.SentAt is not null || !record.IsLive)
        {
            return false;
        }

        var now = time.GetUtcNow();
        if (now < due)
        {
            jobs.ScheduleAt<InterviewReminderJob>(j => j.RunAsync(interviewId, leadMinutes, dueUnixMilliseconds, CancellationToken.None), due);
            return false;
        }

        if (now >= record.Start)
        {
            return false; // came back after the start (a long outage): a reminder then is noise.
        }

        var messages = ReminderMessage.Build(record.ToDomain(), Duration.FromMinutes(leadMinutes), mailer.SchedulingMailbox, Instant.FromDateTimeOffset(now));
        var temporary = false;
        foreach (var message in messages)
        {
            var result = await mailer.Sender.SendAsync(message, cancellationToken);
            temporary |= result.Status == DeliveryStatus.TemporaryFailure;
        }

        if (temporary)
        {
            throw new InterviewDeliveryPendingException($"A reminder of interview {interviewId:D} could not be delivered yet.");
        }

        await database.WriteAsync(s => InterviewRepository.MarkReminderSentAsync(s, interviewId, leadMinutes, due, DbValues.ToStoragePrecision(now)), cancellationToken);
        return true;
    }

    /// <summary>Schedules the reminders of an interview (after its reminder rows were written).</summary>
    public static void Schedule(JobScheduler jobs, Guid interviewId, DateTimeOffset start, IEnumerable<TimeSpan> leads)
    {
        foreach (var lead in leads)
        {
            var minutes = (int)lead.TotalMinutes;
            var due = (start - lead).ToUnixTimeMilliseconds();
            jobs.ScheduleAt<InterviewReminderJob>(j => j.RunAsync(interviewId, minutes, due, CancellationToken.None), start - lead);
        }
    }

    /// <summary>At start-up: a job for every unsent reminder of a live interview.</summary>
    internal sealed class Pending(IDatabase database, JobScheduler jobs) : IPendingJobSource
    {
        public async Task<int> ScheduleAllAsync(CancellationToken cancellationToken)
        {
            var pending = await database.ReadAsync(InterviewRepository.ListPendingRemindersAsync, cancellationToken);
            foreach (var reminder in pending)
            {
                var (id, minutes, due) = (reminder.InterviewId, reminder.LeadMinutes, reminder.DueAt.ToUnixTimeMilliseconds());
                jobs.ScheduleAt<InterviewReminderJob>(j => j.RunAsync(id, minutes, due, CancellationToken.None), reminder.DueAt);
            }

            return pending.Count;
        }
    }
}
