using System.Data.Common;
using Messaging.Contracts;
using Messaging.Scheduling.Interviews;
using Messaging.Scheduling.Invitations;
using Messaging.Server.Persistence;
using NodaTime;
using ContractParticipantRole = Messaging.Contracts.InterviewParticipantRole;
using SchedulingParticipant = Messaging.Scheduling.Interviews.Participant;

namespace Messaging.Server.Features.Interviews;

/// <summary>An invited member as stored: member id, role, work address, answer to the current SEQUENCE, and what became
/// of the last email.</summary>
internal sealed record ParticipantRecord(
    Guid MemberId,
    ContractParticipantRole Role,
    string WorkEmail,
    InterviewAnswer Answer,
    DateTimeOffset? ProposedStart,
    InterviewDeliveryState Delivery,
    int? ReplyCode);

/// <summary>Everything the server stores about an interview (DESIGN §2): no person's name or contact, nothing from the
/// referral, no reply body.</summary>
internal sealed record InterviewRecord(
    Guid Id,
    string CaseReference,
    Guid OrganiserMemberId,
    Guid OrganiserOrganisationId,
    string OrganiserEmail,
    string ServiceName,
    DateTimeOffset Start,
    int DurationMinutes,
    string Place,
    bool IsVideo,
    bool IncludesPerson,
    InterviewState State,
    int Sequence,
    InterviewDeliveryState OrganiserDelivery,
    int? OrganiserReplyCode,
    bool? Held,
    PersonAttendance? Attendance,
    DateTimeOffset? OutcomeRecordedAt,
    DateTimeOffset CreatedAt,
    IReadOnlyList<ParticipantRecord> Participants)
{
    public DateTimeOffset End => Start.AddMinutes(DurationMinutes);

    public bool IsLive => InterviewStateMachine.IsLive(InterviewStates.ToDomain(State));

    /// <summary>The organiser or an invited member.</summary>
    public bool Involves(Guid memberId) => memberId == OrganiserMemberId || Participants.Any(p => p.MemberId == memberId);

    /// <summary>The library's interview (for the state machine, the iCalendar objects and the emails).</summary>
    public Interview ToDomain()
    {
        var participants = Participants.Select(p => SchedulingParticipant.Member(InterviewStates.ToDomain(p.Role), p.MemberId, p.WorkEmail)).ToList();
        if (IncludesPerson)
        {
            participants.Add(SchedulingParticipant.ThePerson);
        }

        return Interview.Restore(Id, CaseReference, Organiser.Create(OrganiserMemberId, OrganiserEmail, ServiceName), participants,
            Instant.FromDateTimeOffset(Start), Duration.FromMinutes(DurationMinutes), InterviewStates.PlaceOf(Place, IsVideo),
            InterviewStates.ToDomain(State), Sequence);
    }

    /// <summary>The wire's entry; it carries the UID of the person's copy (keyed: it reveals no attendee's UID).</summary>
    public InterviewEntry ToEntry(string schedulingMailbox, InvitationUids uids)
    {
        var participants = Participants.Select(p => new InterviewParticipantEntry(p.Role, p.MemberId, p.WorkEmail, p.Answer, p.ProposedStart, p.Delivery, p.ReplyCode)).ToList();
        if (IncludesPerson)
        {
            participants.Add(new InterviewParticipantEntry(ContractParticipantRole.Person, null, null, InterviewAnswer.NeedsAction, null, InterviewDeliveryState.Pending, null));
        }

        return new InterviewEntry(Id, CaseReference, OrganiserMemberId, OrganiserOrganisationId, OrganiserEmail, ServiceName, participants,
            Start, DurationMinutes, Place, IsVideo, State, Sequence, uids.ForPerson(Id), schedulingMailbox, Held, Attendance, OrganiserDelivery);
    }
}

/// <summary>A member's availability as stored (the feed URL is a secret: it leaves this record only to be fetched).</summary>
internal sealed record AvailabilityRecord(Guid MemberId, string WorkingHoursJson, string AbsencesJson, string? FeedUrl, DateTimeOffset UpdatedAt);

/// <summary>A member as the interview rules need it.</summary>
internal sealed record InterviewMember(Guid MemberId, Guid OrganisationId, string Role, string WorkEmail, string OrganisationType, string OrganisationName);

/// <summary>A reminder row: the interview, its lead, when it is due, and whether it went.</summary>
internal sealed record ReminderRecord(Guid InterviewId, int LeadMinutes, DateTimeOffset DueAt, DateTimeOffset? SentAt);

/// <summary>Conversions between the library's, the wire's and the database's forms.</summary>
internal static class InterviewStates
{
    public static InterviewStatus ToDomain(InterviewState state) => state switch
    {
        InterviewState.Proposed => InterviewStatus.Proposed,
        InterviewState.Confirmed => InterviewStatus.Confirmed,
        InterviewState.Rescheduled => InterviewStatus.Rescheduled,
        InterviewState.Cancelled => InterviewStatus.Cancelled,
        InterviewState.Held => InterviewStatus.Held,
        InterviewState.NotHeld => InterviewStatus.NotHeld,
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, "Unknown interview state."),
    };

    public static InterviewState ToContract(InterviewStatus status) => status switch
    {
        InterviewStatus.Proposed => InterviewState.Proposed,
        InterviewStatus.Confirmed => InterviewState.Confirmed,
        InterviewStatus.Rescheduled => InterviewState.Rescheduled,
        InterviewStatus.Cancelled => InterviewState.Cancelled,
        InterviewStatus.Held => InterviewState.Held,
        InterviewStatus.NotHeld => InterviewState.NotHeld,
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "Unknown interview status."),
    };

    public static ParticipantRole ToDomain(ContractParticipantRole role) => role switch
    {
        ContractParticipantRole.JusticeAssistant => ParticipantRole.JusticeAssistant,
        ContractParticipantRole.Person => ParticipantRole.Person,
        _ => ParticipantRole.Worker,
    };

    public static InterviewPlace PlaceOf(string place, bool isVideo) => isVideo
        ? InterviewPlace.Video(new Uri(place, UriKind.Absolute))
        : InterviewPlace.ServiceAddress(place);
}

internal static class InterviewRepository
{
    private const string Columns = "id, case_reference, organiser_member_id, organiser_organisation_id, organiser_email, service_name, start_at, "
        + "duration_minutes, place, place_is_video, includes_person, status, sequence, organiser_delivery, organiser_reply_code, held, attendance, "
        + "outcome_recorded_at, created_at";

    public static async Task InsertAsync(DbSession session, InterviewRecord interview)
    {
        await session.ExecuteAsync(
            """
            INSERT INTO interviews (id, case_reference, organiser_member_id, organiser_organisation_id, organiser_email, service_name, start_at,
                duration_minutes, place, place_is_video, includes_person, status, sequence, created_at, updated_at)
            VALUES (@id, @case, @organiser, @org, @email, @service, @start, @duration, @place, @video, @person, @status, @sequence, @now, @now);
            """,
            ("@id", interview.Id), ("@case", interview.CaseReference), ("@organiser", interview.OrganiserMemberId),
            ("@org", interview.OrganiserOrganisationId), ("@email", interview.OrganiserEmail), ("@service", interview.ServiceName),
            ("@start", interview.Start), ("@duration", interview.DurationMinutes), ("@place", interview.Place), ("@video", interview.IsVideo),
            ("@person", interview.IncludesPerson), ("@status", interview.State), ("@sequence", interview.Sequence), ("@now", interview.CreatedAt));
        foreach (var p in interview.Participants)
        {
            await session.ExecuteAsync(
                "INSERT INTO interview_participants (interview_id, member_id, role, work_email) VALUES (@id, @member, @role, @email);",
                ("@id", interview.Id), ("@member", p.MemberId), ("@role", p.Role), ("@email", p.WorkEmail));
        }
    }

    public static async Task<InterviewRecord?> GetAsync(DbSession session, Guid id)
    {
        var row = await session.QuerySingleOrDefaultAsync($"SELECT {Columns} FROM interviews WHERE id = @id;", Map, ("@id", id));
        return row is null ? null : row with { Participants = await ParticipantsAsync(session, id) };
    }

    /// <summary>The interviews <paramref name="memberId"/> organises or is invited to, soonest first.</summary>
    public static async Task<List<InterviewRecord>> ListForMemberAsync(DbSession session, Guid memberId)
    {
        var rows = await session.QueryAsync(
            $"""
            SELECT {Columns} FROM interviews WHERE organiser_member_id = @m
               OR id IN (SELECT interview_id FROM interview_participants WHERE member_id = @m)
            ORDER BY start_at, id;
            """, Map, ("@m", memberId));
        return await WithParticipantsAsync(session, rows);
    }

    /// <summary>Whether the interview exists and <paramref name="organisationId"/> organises it or has a member invited to it.</summary>
    public static async Task<bool> InvolvesOrganisationAsync(DbSession session, Guid id, Guid organisationId)
        => await session.ScalarInt64Async(
            """
            SELECT COUNT(*) FROM interviews i WHERE i.id = @id AND (i.organiser_organisation_id = @org OR EXISTS (
                SELECT 1 FROM interview_participants p JOIN members m ON m.id = p.member_id WHERE p.interview_id = i.id AND m.organisation_id = @org));
            """,
            ("@id", id), ("@org", organisationId)) > 0;

    /// <summary>Live interviews (not cancelled, held or not held), for the reply poll and the gate.</summary>
    public static async Task<List<InterviewRecord>> ListLiveAsync(DbSession session)
        => await WithParticipantsAsync(session, await session.QueryAsync($"SELECT {Columns} FROM interviews WHERE status IN (1, 2, 3) ORDER BY start_at, id;", Map));

    /// <summary>Live interviews under a case reference.</summary>
    public static async Task<List<InterviewRecord>> ListLiveForCaseAsync(DbSession session, string caseReference)
        => await WithParticipantsAsync(session, await session.QueryAsync(
            $"SELECT {Columns} FROM interviews WHERE case_reference = @case AND status IN (1, 2, 3) ORDER BY start_at, id;", Map, ("@case", caseReference)));

    /// <summary>
    /// Live interviews (proposed, confirmed or rescheduled: no outcome recorded) that ended from <c>@interviews_ended_from</c>
    /// to <c>@interviews_ended_by</c>, both included, as a derived table another feature joins in one statement (see
    /// <see cref="InterviewQueries.EndedWithoutOutcome"/>): columns <c>interview_id, case_reference, organiser_member_id,
    /// organiser_organisation_id, ended_at</c>. The bounds on the start let the (status, start_at) index serve it; an
    /// interview lasts at most <see cref="LongestInterview"/>, so none that ended in the window starts before
    /// <c>@interviews_started_from</c>.
    /// </summary>
    public const string EndedWithoutOutcome = """
        SELECT id AS interview_id, case_reference, organiser_member_id, organiser_organisation_id,
               start_at + duration_minutes * 60000 AS ended_at
        FROM interviews
        WHERE status IN (1, 2, 3) AND start_at >= @interviews_started_from AND start_at <= @interviews_ended_by
          AND start_at + duration_minutes * 60000 >= @interviews_ended_from AND start_at + duration_minutes * 60000 <= @interviews_ended_by
        """;

    /// <summary>The longest interview the rules allow (the library's <see cref="Scheduling.Interviews.Interview.Longest"/>).</summary>
    public static readonly TimeSpan LongestInterview = Scheduling.Interviews.Interview.Longest.ToTimeSpan();

    /// <summary>The busy periods the system's own live interviews give each of <paramref name="memberIds"/> in a window.</summary>
    public static async Task<Dictionary<Guid, List<(DateTimeOffset Start, DateTimeOffset End)>>> BusyAsync(DbSession session,
        IReadOnlyCollection<Guid> memberIds, DateTimeOffset from, DateTimeOffset to)
    {
        var result = memberIds.ToDictionary(m => m, _ => new List<(DateTimeOffset, DateTimeOffset)>());
        var rows = await session.QueryAsync(
            """
            SELECT i.organiser_member_id, p.member_id, i.start_at, i.duration_minutes FROM interviews i
            LEFT JOIN interview_participants p ON p.interview_id = i.id
            WHERE i.status IN (1, 2, 3) AND i.start_at < @to AND i.start_at + i.duration_minutes * 60000 > @from;
            """,
            r => (Organiser: r.GetGuidValue(0), Member: r.GetNullableGuid(1), Start: r.GetInstant(2), Minutes: (int)r.GetInt64(3)),
            ("@from", from), ("@to", to));
        foreach (var (organiser, member, start, minutes) in rows)
        {
            foreach (var id in new[] { organiser, member ?? Guid.Empty }.Distinct())
            {
                if (result.TryGetValue(id, out var list) && !list.Contains((start, start.AddMinutes(minutes))))
                {
                    list.Add((start, start.AddMinutes(minutes)));
                }
            }
        }

        return result;
    }

    /// <summary>Moves the interview (time, duration, place, status, SEQUENCE) if its SEQUENCE is still
    /// <paramref name="fromSequence"/>; answers go back to needs-action for the new version.</summary>
    public static async Task<int> RescheduleAsync(DbSession session, InterviewRecord updated, int fromSequence, DateTimeOffset now)
    {
        var changed = await session.ExecuteAsync(
            """
            UPDATE interviews SET start_at = @start, duration_minutes = @duration, place = @place, place_is_video = @video, status = @status,
                sequence = @sequence, organiser_delivery = 0, organiser_reply_code = NULL, updated_at = @now
            WHERE id = @id AND sequence = @from;
            """,
            ("@id", updated.Id), ("@start", updated.Start), ("@duration", updated.DurationMinutes), ("@place", updated.Place),
            ("@video", updated.IsVideo), ("@status", updated.State), ("@sequence", updated.Sequence), ("@now", now), ("@from", fromSequence));
        if (changed > 0)
        {
            await session.ExecuteAsync(
                "UPDATE interview_participants SET answer = 0, proposed_start = NULL, delivery = 0, reply_code = NULL WHERE interview_id = @id;",
                ("@id", updated.Id));
        }

        return changed;
    }

    /// <summary>Cancels the interview at SEQUENCE <paramref name="sequence"/> if its status is still
    /// <paramref name="from"/>, and sets every delivery (the organiser's, each participant's) back to pending: the CANCEL
    /// is the version to deliver now, so that should the process stop before its job records anything, the start-up
    /// re-derivation (<see cref="InterviewMailJob.Pending"/>) finds it still to send. Answers stay as given.</summary>
    public static async Task<int> CancelAsync(DbSession session, Guid id, InterviewState from, int sequence, DateTimeOffset now)
    {
        var changed = await session.ExecuteAsync(
            """
            UPDATE interviews SET status = @to, sequence = @sequence, organiser_delivery = 0, organiser_reply_code = NULL, updated_at = @now
            WHERE id = @id AND status = @from;
            """,
            ("@id", id), ("@from", from), ("@to", InterviewState.Cancelled), ("@sequence", sequence), ("@now", now));
        if (changed > 0)
        {
            await session.ExecuteAsync("UPDATE interview_participants SET delivery = 0, reply_code = NULL WHERE interview_id = @id;", ("@id", id));
        }

        return changed;
    }

    /// <summary>Changes status and SEQUENCE if the status is still <paramref name="from"/> (a confirmation; a cancel goes
    /// through <see cref="CancelAsync"/>, which also resets the deliveries).</summary>
    public static Task<int> UpdateStatusAsync(DbSession session, Guid id, InterviewState from, InterviewState to, int sequence, DateTimeOffset now)
        => session.ExecuteAsync(
            "UPDATE interviews SET status = @to, sequence = @sequence, updated_at = @now WHERE id = @id AND status = @from;",
            ("@id", id), ("@from", from), ("@to", to), ("@sequence", sequence), ("@now", now));

    public static Task<int> RecordOutcomeAsync(DbSession session, Guid id, InterviewState from, InterviewState to, bool held, PersonAttendance? attendance, DateTimeOffset now)
        => session.ExecuteAsync(
            """
            UPDATE interviews SET status = @to, held = @held, attendance = @attendance, outcome_recorded_at = @now, updated_at = @now
            WHERE id = @id AND status = @from;
            """,
            ("@id", id), ("@from", from), ("@to", to), ("@held", held), ("@attendance", attendance), ("@now", now));

    public static Task<int> SetAnswerAsync(DbSession session, Guid id, Guid memberId, InterviewAnswer answer, DateTimeOffset? proposedStart)
        => session.ExecuteAsync(
            "UPDATE interview_participants SET answer = @answer, proposed_start = @proposed WHERE interview_id = @id AND member_id = @member;",
            ("@id", id), ("@member", memberId), ("@answer", answer), ("@proposed", proposedStart));

    /// <summary>Records what became of the email to <paramref name="recipient"/> (a participant's or the organiser's work
    /// address) for SEQUENCE <paramref name="sequence"/>; an older sequence's outcome is ignored.</summary>
    public static async Task SetDeliveryAsync(DbSession session, Guid id, int sequence, string recipient, InterviewDeliveryState state, int? replyCode)
    {
        await session.ExecuteAsync(
            """
            UPDATE interview_participants SET delivery = @state, reply_code = @code
            WHERE interview_id = @id AND work_email = @email AND (SELECT sequence FROM interviews WHERE id = @id) = @sequence;
            """,
            ("@id", id), ("@email", recipient), ("@state", state), ("@code", replyCode), ("@sequence", sequence));
        await session.ExecuteAsync(
            "UPDATE interviews SET organiser_delivery = @state, organiser_reply_code = @code WHERE id = @id AND organiser_email = @email AND sequence = @sequence;",
            ("@id", id), ("@email", recipient), ("@state", state), ("@code", replyCode), ("@sequence", sequence));
    }

    // ---- Reminders ------------------------------------------------------------------------------------------------

    /// <summary>Replaces the interview's reminders with one per lead due before <paramref name="start"/>.</summary>
    public static async Task ReplaceRemindersAsync(DbSession session, Guid id, DateTimeOffset start, IEnumerable<TimeSpan> leads)
    {
        await DeleteRemindersAsync(session, id);
        foreach (var lead in leads)
        {
            await session.ExecuteAsync(
                "INSERT INTO interview_reminders (interview_id, lead_minutes, due_at) VALUES (@id, @lead, @due);",
                ("@id", id), ("@lead", (int)lead.TotalMinutes), ("@due", start - lead));
        }
    }

    /// <summary>Deletes the interviews that started before <paramref name="before"/>, with their participants and
    /// reminders; returns how many interviews went.</summary>
    public static async Task<int> DeleteStartedBeforeAsync(DbSession session, DateTimeOffset before)
    {
        const string Old = "SELECT id FROM interviews WHERE start_at < @before";
        await session.ExecuteAsync($"DELETE FROM interview_reminders WHERE interview_id IN ({Old});", ("@before", before));
        await session.ExecuteAsync($"DELETE FROM interview_participants WHERE interview_id IN ({Old});", ("@before", before));
        return await session.ExecuteAsync("DELETE FROM interviews WHERE start_at < @before;", ("@before", before));
    }

    public static Task<int> DeleteRemindersAsync(DbSession session, Guid id)
        => session.ExecuteAsync("DELETE FROM interview_reminders WHERE interview_id = @id;", ("@id", id));

    public static Task<ReminderRecord?> GetReminderAsync(DbSession session, Guid id, int leadMinutes) => session.QuerySingleOrDefaultAsync(
        "SELECT interview_id, lead_minutes, due_at, sent_at FROM interview_reminders WHERE interview_id = @id AND lead_minutes = @lead;",
        MapReminder, ("@id", id), ("@lead", leadMinutes));

    public static Task<int> MarkReminderSentAsync(DbSession session, Guid id, int leadMinutes, DateTimeOffset due, DateTimeOffset now)
        => session.ExecuteAsync(
            "UPDATE interview_reminders SET sent_at = @now WHERE interview_id = @id AND lead_minutes = @lead AND due_at = @due AND sent_at IS NULL;",
            ("@id", id), ("@lead", leadMinutes), ("@due", due), ("@now", now));

    /// <summary>Unsent reminders of live interviews (re-derived at start-up).</summary>
    public static Task<List<ReminderRecord>> ListPendingRemindersAsync(DbSession session) => session.QueryAsync(
        """
        SELECT r.interview_id, r.lead_minutes, r.due_at, r.sent_at FROM interview_reminders r JOIN interviews i ON i.id = r.interview_id
        WHERE r.sent_at IS NULL AND i.status IN (1, 2, 3) ORDER BY r.due_at;
        """, MapReminder);

    // ---- Availability and members ---------------------------------------------------------------------------------

    public static Task<AvailabilityRecord?> GetAvailabilityAsync(DbSession session, Guid memberId) => session.QuerySingleOrDefaultAsync(
        "SELECT member_id, working_hours, absences, feed_url, updated_at FROM interview_availability WHERE member_id = @m;",
        r => new AvailabilityRecord(r.GetGuidValue(0), r.GetString(1), r.GetString(2), r.GetNullableString(3), r.GetInstant(4)), ("@m", memberId));

    public static Task UpsertAvailabilityAsync(DbSession session, AvailabilityRecord availability) => session.ExecuteAsync(
        """
        INSERT INTO interview_availability (member_id, working_hours, absences, feed_url, updated_at) VALUES (@m, @hours, @absences, @feed, @now)
        ON CONFLICT (member_id) DO UPDATE SET working_hours = excluded.working_hours, absences = excluded.absences, feed_url = excluded.feed_url,
            updated_at = excluded.updated_at;
        """,
        ("@m", availability.MemberId), ("@hours", availability.WorkingHoursJson), ("@absences", availability.AbsencesJson),
        ("@feed", availability.FeedUrl), ("@now", availability.UpdatedAt));

    public static Task<InterviewMember?> GetMemberAsync(DbSession session, Guid memberId) => session.QuerySingleOrDefaultAsync(
        """
        SELECT m.id, m.organisation_id, m.role, m.work_email, o.type, o.name FROM members m JOIN organisations o ON o.id = m.organisation_id
        WHERE m.id = @m;
        """,
        r => new InterviewMember(r.GetGuidValue(0), r.GetGuidValue(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5)), ("@m", memberId));

    private static async Task<List<InterviewRecord>> WithParticipantsAsync(DbSession session, List<InterviewRecord> rows)
    {
        for (var i = 0; i < rows.Count; i++)
        {
            rows[i] = rows[i] with { Participants = await ParticipantsAsync(session, rows[i].Id) };
        }

        return rows;
    }

    private static async Task<IReadOnlyList<ParticipantRecord>> ParticipantsAsync(DbSession session, Guid id) => await session.QueryAsync(
        "SELECT member_id, role, work_email, answer, proposed_start, delivery, reply_code FROM interview_participants WHERE interview_id = @id ORDER BY role, member_id;",
        r => new ParticipantRecord(r.GetGuidValue(0), (ContractParticipantRole)r.GetInt64(1), r.GetString(2), (InterviewAnswer)r.GetInt64(3),
            r.GetNullableInstant(4), (InterviewDeliveryState)r.GetInt64(5), r.IsDBNull(6) ? null : (int)r.GetInt64(6)),
        ("@id", id));

    private static InterviewRecord Map(DbDataReader r) => new(
        r.GetGuidValue(0), r.GetString(1), r.GetGuidValue(2), r.GetGuidValue(3), r.GetString(4), r.GetString(5), r.GetInstant(6),
        (int)r.GetInt64(7), r.GetString(8), r.GetInt64(9) != 0, r.GetInt64(10) != 0, (InterviewState)r.GetInt64(11), (int)r.GetInt64(12),
        (InterviewDeliveryState)r.GetInt64(13), r.IsDBNull(14) ? null : (int)r.GetInt64(14), r.IsDBNull(15) ? null : r.GetInt64(15) != 0,
        r.IsDBNull(16) ? null : (PersonAttendance)r.GetInt64(16), r.GetNullableInstant(17), r.GetInstant(18), []);

    private static ReminderRecord MapReminder(DbDataReader r) => new(r.GetGuidValue(0), (int)r.GetInt64(1), r.GetInstant(2), r.GetNullableInstant(3));
}
