using System.Security.Cryptography;
using System.Text;
using Messaging.Contracts;
using Messaging.Scheduling.Availability;
using Messaging.Scheduling.Delivery;
using Messaging.Server.Errors;
using Messaging.Server.Features.Audit;
using Messaging.Server.Features.Authentication;
using Messaging.Server.Features.Interviews;
using Messaging.Server.Features.Jobs;
using Messaging.Server.Persistence;
using Microsoft.Extensions.Options;
using NodaTime;

namespace Messaging.Server.Features.Notices;

/// <summary>An interview as the outcome chase needs it: ids, case, host, end, and whether its outcome is recorded.</summary>
internal sealed record MandatedInterview(Guid InterviewId, string CaseReference, Guid HostMemberId, Guid HostOrganisationId, DateTimeOffset End, bool OutcomeRecorded);

/// <summary>
/// Where the outcome chase reads interviews: the Interviews feature's read API (<see cref="InterviewMandateSource"/> over
/// <c>InterviewQueries</c>). Without an implementation registered the chase is dormant (its sweep finds nothing), which
/// <see cref="OutcomeChaseSweep"/> logs at every run.
/// </summary>
internal interface IMandatedInterviewSource
{
    /// <summary>The interview, or null when there is none.</summary>
    Task<MandatedInterview?> FindAsync(Guid interviewId, CancellationToken cancellationToken);

    /// <summary>Live interviews that ended from <paramref name="endedFrom"/> to <paramref name="endedBy"/> without a
    /// recorded outcome, as a relation the sweep joins to mandates, chases and notices in one query.</summary>
    InterviewRelation EndedWithoutOutcome(DateTimeOffset endedFrom, DateTimeOffset endedBy);
}

/// <summary>The escalation deadline: the next working day after the interview's end (not a weekend, not a Belgian
/// public holiday of the French community), at <see cref="NoticesOptions.EscalationTimeOfDay"/> in Europe/Brussels; a
/// local time in a daylight-saving gap moves forward, in an overlap takes the earlier instant (lenient mapping).</summary>
internal static class OutcomeDeadline
{
    public static DateTimeOffset After(DateTimeOffset end, TimeSpan timeOfDay)
    {
        var zone = DateTimeZoneProviders.Tzdb["Europe/Brussels"];
        var day = Instant.FromDateTimeOffset(end).InZone(zone).Date.PlusDays(1);
        while (day.DayOfWeek is IsoDayOfWeek.Saturday or IsoDayOfWeek.Sunday || BelgianHolidays.IsHoliday(day, Community.French))
        {
            day = day.PlusDays(1);
        }

        return day.At(LocalTime.FromTicksSinceMidnight(timeOfDay.Ticks)).InZoneLeniently(zone).ToDateTimeOffset().ToUniversalTime();
    }
}

/// <summary>A chase row.</summary>
internal sealed record OutcomeChaseRecord(Guid InterviewId, Guid MandateId, Guid HostMemberId, DateTimeOffset EndedAt, DateTimeOffset RemindAt,
    DateTimeOffset EscalateAt, DateTimeOffset? RemindedAt, DateTimeOffset? EscalatedAt, DateTimeOffset? ResolvedAt);

/// <summary>
/// Chasing outcomes not recorded in time (issue 14): a sweep finds interviews under an accepted mandate that ended
/// without an outcome and records a chase (remind at end + grace period, escalate at the next working day's deadline);
/// a delayed job per stage reminds the host (a content-free email, and <see cref="ListForHostAsync"/> for the client),
/// then escalates to the service's admins. Every stage re-reads the row and the interview in its run, acts once (the
/// row is stamped; emails are exactly-once by delivery id), and is audited. An outcome recorded, or a notice about the
/// interview relayed, resolves the chase. Pending stages are re-derived at start-up.
/// </summary>
internal sealed partial class OutcomeChaseJob(IDatabase database, IEnumerable<IMandatedInterviewSource> sources, NoticeMailer mailer, AuditLog audit,
    JobScheduler jobs, TimeProvider time, ILogger<OutcomeChaseJob> logger)
{
    private readonly IMandatedInterviewSource? _source = sources.FirstOrDefault();

    public async Task<bool> RemindAsync(Guid interviewId, CancellationToken cancellationToken)
        => await RunStageAsync(interviewId, escalate: false, cancellationToken);

    public async Task<bool> EscalateAsync(Guid interviewId, CancellationToken cancellationToken)
        => await RunStageAsync(interviewId, escalate: true, cancellationToken);

    /// <summary>Marks the chase of an interview resolved, inside the caller's unit: any chase for an outcome recorded,
    /// only the chase under <paramref name="mandateId"/> for a notice sent under that mandate.</summary>
    public static Task<int> ResolveAsync(DbSession session, Guid interviewId, DateTimeOffset now, Guid? mandateId = null) => session.ExecuteAsync(
        $"UPDATE notice_outcome_chases SET resolved_at = @at WHERE interview_id = @id AND resolved_at IS NULL{(mandateId is null ? "" : " AND mandate_id = @mandate")};",
        [("@id", interviewId), ("@at", now), .. mandateId is { } m ? [("@mandate", (object?)m)] : Array.Empty<(string, object?)>()]);

    /// <summary>The host's open chases that were reminded: what the client lists as "outcome to record".</summary>
    public async Task<IReadOnlyList<OutcomeReminderEntry>> ListForHostAsync(CallerDevice caller, CancellationToken cancellationToken = default)
    {
        if (caller.Role is not (Roles.Worker or Roles.OrganisationAdmin))
        {
            throw new ForbiddenException("Only workers and organisation admins host interviews.");
        }

        var rows = await database.ReadAsync(s => s.QueryAsync(
            $"SELECT {Columns} FROM notice_outcome_chases WHERE host_member_id = @host AND resolved_at IS NULL AND reminded_at IS NOT NULL ORDER BY ended_at;",
            Map, ("@host", caller.MemberId)), cancellationToken);
        return [.. rows.Select(r => new OutcomeReminderEntry(r.InterviewId, r.MandateId, r.EndedAt, r.EscalatedAt is null ? "reminded" : "escalated"))];
    }

    internal const string Columns = "interview_id, mandate_id, host_member_id, ended_at, remind_at, escalate_at, reminded_at, escalated_at, resolved_at";

    internal static OutcomeChaseRecord Map(System.Data.Common.DbDataReader r) => new(r.GetGuidValue(0), r.GetGuidValue(1), r.GetGuidValue(2), r.GetInstant(3),
        r.GetInstant(4), r.GetInstant(5), r.GetNullableInstant(6), r.GetNullableInstant(7), r.GetNullableInstant(8));

    internal static Task<OutcomeChaseRecord?> GetAsync(DbSession session, Guid interviewId) => session.QuerySingleOrDefaultAsync(
        $"SELECT {Columns} FROM notice_outcome_chases WHERE interview_id = @id;", Map, ("@id", interviewId));

    private async Task<bool> RunStageAsync(Guid interviewId, bool escalate, CancellationToken cancellationToken)
    {
        var now = DbValues.ToStoragePrecision(time.GetUtcNow());
        var row = await database.ReadAsync(s => GetAsync(s, interviewId), cancellationToken);
        if (row is null || row.ResolvedAt is not null || (escalate ? row.EscalatedAt : row.RemindedAt) is not null)
        {
            return false;
        }

        var due = escalate ? row.EscalateAt : row.RemindAt;
        if (due > now)
        {
            Schedule(interviewId, escalate, due);
            return false;
        }

        if (_source is not null && await _source.FindAsync(interviewId, cancellationToken) is { OutcomeRecorded: true })
        {
            await database.WriteAsync(s => ResolveAsync(s, interviewId, now), cancellationToken);
            return false;
        }

        var (mandate, recipients) = await database.ReadAsync(async s =>
        {
            var m = (await NoticeRepository.GetMandateAsync(s, row.MandateId))!;
            return (m, escalate ? await NoticeRepository.AdminEmailsAsync(s, m.ServiceOrganisationId)
                : [.. await NoticeRepository.WorkEmailAsync(s, row.HostMemberId) is { } e ? new[] { e } : []]);
        }, cancellationToken);

        // Exactly once per recipient: the delivery id is derived from the interview, the stage and the address.
        foreach (var recipient in recipients)
        {
            var result = await mailer.SendAsync(DeliveryId(interviewId, escalate, recipient), recipient,
                escalate ? NoticeEmail.OutcomeOverdue : NoticeEmail.RecordOutcome, cancellationToken);
            if (result.Status == DeliveryStatus.TemporaryFailure)
            {
                throw new InvalidOperationException($"Outcome chase email {result.DeliveryId} not sent yet ({result.ReplyCode}); it will be retried.");
            }
        }

        var stamped = await database.WriteAsync(async s =>
        {
            var updated = await s.ExecuteAsync(escalate
                    ? "UPDATE notice_outcome_chases SET escalated_at = @at WHERE interview_id = @id AND escalated_at IS NULL AND resolved_at IS NULL;"
                    : "UPDATE notice_outcome_chases SET reminded_at = @at WHERE interview_id = @id AND reminded_at IS NULL AND resolved_at IS NULL;",
                ("@id", interviewId), ("@at", now));
            if (updated == 1)
            {
                await audit.AppendAsync(s, new AuditEvent(escalate ? NoticeAudit.OutcomeEscalated : NoticeAudit.OutcomeReminded, null, null,
                    [NoticeAudit.Interview(interviewId), NoticeAudit.Mandate(mandate.Id), AuditSubject.Member(row.HostMemberId)]));
            }

            return updated == 1;
        }, cancellationToken);
        LogStage(logger, interviewId, escalate ? "escalated" : "reminded", recipients.Count);
        return stamped;
    }

    internal void Schedule(Guid interviewId, bool escalate, DateTimeOffset due)
    {
        if (escalate)
        {
            jobs.ScheduleAt<OutcomeChaseJob>(j => j.EscalateAsync(interviewId, CancellationToken.None), due);
        }
        else
        {
            jobs.ScheduleAt<OutcomeChaseJob>(j => j.RemindAsync(interviewId, CancellationToken.None), due);
        }
    }

    private static string DeliveryId(Guid interviewId, bool escalate, string recipient)
        => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"outcome-chase|{interviewId:D}|{(escalate ? "escalate" : "remind")}|{recipient}")))[..40];

    [LoggerMessage(Level = LogLevel.Information, Message = "Outcome chase of interview {InterviewId}: {Stage}, {Recipients} email(s)")]
    private static partial void LogStage(ILogger logger, Guid interviewId, string stage, int recipients);

    /// <summary>At start-up: the next stage of every open chase.</summary>
    internal sealed class Pending(IDatabase database, OutcomeChaseJob chase) : IPendingJobSource
    {
        public async Task<int> ScheduleAllAsync(CancellationToken cancellationToken)
        {
            var open = await database.ReadAsync(s => s.QueryAsync(
                $"SELECT {Columns} FROM notice_outcome_chases WHERE resolved_at IS NULL AND escalated_at IS NULL;", Map), cancellationToken);
            foreach (var row in open)
            {
                if (row.RemindedAt is null)
                {
                    chase.Schedule(row.InterviewId, escalate: false, row.RemindAt);
                }

                chase.Schedule(row.InterviewId, escalate: true, row.EscalateAt);
            }

            return open.Count;
        }
    }
}

/// <summary>
/// Finds interviews under an accepted mandate that ended without an outcome and records their chase (once: the
/// interview id is the key), then schedules its stages. A sweep, so discovery survives restarts by construction. One
/// read finds the interviews to chase (the time bound, the mandate, the existing chases and notices are all applied in
/// that query); then one write per chase created, which checks again inside its transaction (an outcome, a notice, a
/// mandate change or another instance's sweep may have come in between).
/// </summary>
internal sealed partial class OutcomeChaseSweep(IDatabase database, IEnumerable<IMandatedInterviewSource> sources, OutcomeChaseJob chase,
    TimeProvider time, IOptions<NoticesOptions> options, ILogger<OutcomeChaseSweep> logger) : ISweepJob
{
    public const string Id = "notice-outcome-chase";

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        if (sources.FirstOrDefault() is not { } source)
        {
            LogDormant(logger);
            return 0;
        }

        var now = DbValues.ToStoragePrecision(time.GetUtcNow());
        // An interview that ended longer ago than the retention period is past chasing (its chase and notices may
        // already be swept).
        var ended = source.EndedWithoutOutcome(now - options.Value.Retention, now);
        var due = await database.ReadAsync(s => NoticeRepository.ListToChaseAsync(s, ended), cancellationToken);
        var created = 0;
        foreach (var candidate in due)
        {
            // The row as it is inside the write (a reschedule may have moved its end meanwhile), or null when it needs no
            // chase any more.
            var recorded = await database.WriteAsync(async s =>
            {
                if (await NoticeRepository.ListToChaseAsync(s, ended, candidate.InterviewId) is not [var still])
                {
                    return null;
                }

                var (remindAt, escalateAt) = StagesOf(still.EndedAt);
                await s.ExecuteAsync(
                    $"INSERT INTO notice_outcome_chases ({OutcomeChaseJob.Columns}) VALUES (@id, @mandate, @host, @ended, @remind, @escalate, NULL, NULL, NULL);",
                    ("@id", still.InterviewId), ("@mandate", still.MandateId), ("@host", still.HostMemberId), ("@ended", still.EndedAt),
                    ("@remind", remindAt), ("@escalate", escalateAt));
                return still;
            }, cancellationToken);
            if (recorded is not null)
            {
                var (remindAt, escalateAt) = StagesOf(recorded.EndedAt);
                chase.Schedule(recorded.InterviewId, escalate: false, remindAt);
                chase.Schedule(recorded.InterviewId, escalate: true, escalateAt);
                created++;
            }
        }

        return created;
    }

    private (DateTimeOffset RemindAt, DateTimeOffset EscalateAt) StagesOf(DateTimeOffset end) => (
        DbValues.ToStoragePrecision(end + options.Value.OutcomeGracePeriod),
        DbValues.ToStoragePrecision(OutcomeDeadline.After(end, options.Value.EscalationTimeOfDay)));

    [LoggerMessage(Level = LogLevel.Debug, Message = "Outcome chase: no interview source is registered yet; nothing to chase")]
    private static partial void LogDormant(ILogger logger);
}
