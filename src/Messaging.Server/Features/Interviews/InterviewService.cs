using Messaging.Contracts;
using Messaging.Contracts.Referrals;
using Messaging.Scheduling.Interviews;
using Messaging.Scheduling.Replies;
using Messaging.Server.Errors;
using Messaging.Server.Features.Audit;
using Messaging.Server.Features.Authentication;
using Messaging.Server.Features.Jobs;
using Messaging.Server.Features.Referrals;
using Messaging.Server.Persistence;
using Microsoft.Extensions.Options;
using NodaTime;
using ContractParticipantRole = Messaging.Contracts.InterviewParticipantRole;

namespace Messaging.Server.Features.Interviews;

/// <summary>
/// Tripartite interviews (protocol 7.A/7.B) on the library's state machine (<see cref="InterviewStateMachine"/>).
/// <list type="bullet">
/// <item>The organiser is a worker or organisation admin of a service on the case: the case reference names a referral
/// whose two organisations include the organiser's, answered "tripartite" or accepted.</item>
/// <item>Participants (2–4 besides the organiser): workers of the referral's two services, at most one justice assistant
/// (a member of a Maison de justice), and "the person", who is never a member and has no address here.</item>
/// <item>Only the organiser reschedules, cancels and records the outcome; only an invited member answers.</item>
/// </list>
/// Lifecycle events are audited (never an answer or a message); emails and reminders are jobs scheduled after the
/// commit, and re-derived from the tables at start-up.
/// </summary>
internal sealed class InterviewService(
    IDatabase database,
    AuditLog audit,
    JobScheduler jobs,
    TimeProvider time,
    IOptions<InterviewsOptions> options,
    InterviewUidKey uidKey,
    IEnumerable<IInterviewOutcomeListener> outcomeListeners)
{
    private readonly IInterviewOutcomeListener[] _listeners = [.. outcomeListeners];

    private string Mailbox => options.Value.SchedulingMailbox;

    public async Task<InterviewEntry> ProposeAsync(CallerDevice caller, ProposeInterviewRequest request, CancellationToken cancellationToken = default)
    {
        ReferralService.RequirePractitioner(caller);
        ArgumentNullException.ThrowIfNull(request);
        var caseReference = ReferralService.RequireCaseReference(request.CaseReference);
        if (request.InterviewId == Guid.Empty || request.ParticipantMemberIds is null || request.ParticipantMemberIds.Count > Interview.MaxParticipants)
        {
            throw new MalformedRequestException("An interview has a client-chosen id and at most four participants.", ErrorCodes.InterviewInvalid);
        }

        var now = DbValues.ToStoragePrecision(time.GetUtcNow());
        var start = DbValues.ToStoragePrecision(request.Start);
        RequireFuture(start, now);
        var place = PlaceOf(request.Address, request.VideoLink);
        var (record, created) = await database.WriteAsync(async s =>
        {
            if (await InterviewRepository.GetAsync(s, request.InterviewId) is { } existing)
            {
                // A client retrying after a lost answer gets its interview back; anyone else's id is refused.
                return existing.OrganiserMemberId == caller.MemberId && existing.CaseReference == caseReference
                    ? (existing, false)
                    : throw new ConflictException(ErrorCodes.InterviewInvalid, "This interview id is already used; generate a fresh one.");
            }

            var referral = await RequireOpenCaseAsync(s, caller, caseReference);
            var organiser = await InterviewRepository.GetMemberAsync(s, caller.MemberId)
                ?? throw new NotFoundException(ErrorCodes.MemberNotFound, "No such member.");
            var participants = new List<ParticipantRecord>();
            foreach (var memberId in request.ParticipantMemberIds.Distinct())
            {
                participants.Add(await AllowedParticipantAsync(s, referral, memberId));
            }

            var interview = new InterviewRecord(request.InterviewId, caseReference, caller.MemberId, caller.OrganisationId, organiser.WorkEmail,
                organiser.OrganisationName, start, request.DurationMinutes, place.Text, place.IsVideo, request.IncludesPerson, InterviewState.Proposed, 0,
                InterviewDeliveryState.Pending, null, null, null, null, now, participants);
            Validate(() => interview.ToDomain());
            if (request.ParticipantMemberIds.Distinct().Count() != request.ParticipantMemberIds.Count)
            {
                throw new MalformedRequestException("Each participant appears once.", ErrorCodes.InterviewInvalid);
            }

            await InterviewRepository.InsertAsync(s, interview);
            await InterviewRepository.ReplaceRemindersAsync(s, interview.Id, start, LeadsAhead(start, now));
            await AppendAsync(s, InterviewAuditTypes.Proposed, interview, caller);
            return (interview, true);
        }, cancellationToken);

        if (created)
        {
            AfterChange(record, now, cancel: false);
        }

        return record.ToEntry(Mailbox, await uidKey.GetAsync(cancellationToken));
    }

    public async Task<InterviewEntry> RescheduleAsync(CallerDevice caller, RescheduleInterviewRequest request, CancellationToken cancellationToken = default)
    {
        ReferralService.RequirePractitioner(caller);
        ArgumentNullException.ThrowIfNull(request);
        var now = DbValues.ToStoragePrecision(time.GetUtcNow());
        var start = DbValues.ToStoragePrecision(request.Start);
        RequireFuture(start, now);
        var place = PlaceOf(request.Address, request.VideoLink);
        var updated = await database.WriteAsync(async s =>
        {
            var current = await RequireOrganisedAsync(s, caller, request.InterviewId);
            var moved = Transition(() => current.ToDomain().Reschedule(Instant.FromDateTimeOffset(start), ValidDuration(request.DurationMinutes), place,
                Instant.FromDateTimeOffset(now)));
            var next = current with
            {
                Start = start, DurationMinutes = request.DurationMinutes, Place = place.Text, IsVideo = place.IsVideo,
                State = InterviewStates.ToContract(moved.Status), Sequence = moved.Sequence,
            };
            await InterviewRepository.RescheduleAsync(s, next, current.Sequence, now);
            await InterviewRepository.ReplaceRemindersAsync(s, next.Id, start, LeadsAhead(start, now));
            await AppendAsync(s, InterviewAuditTypes.Rescheduled, next, caller);
            return await InterviewRepository.GetAsync(s, next.Id) ?? next;
        }, cancellationToken);
        AfterChange(updated, now, cancel: false);
        return updated.ToEntry(Mailbox, await uidKey.GetAsync(cancellationToken));
    }

    public async Task<InterviewEntry> CancelAsync(CallerDevice caller, CancelInterviewRequest request, CancellationToken cancellationToken = default)
    {
        ReferralService.RequirePractitioner(caller);
        ArgumentNullException.ThrowIfNull(request);
        var now = DbValues.ToStoragePrecision(time.GetUtcNow());
        var cancelled = await database.WriteAsync(async s =>
        {
            var current = await RequireOrganisedAsync(s, caller, request.InterviewId);
            var domain = Transition(() => current.ToDomain().Cancel(Instant.FromDateTimeOffset(now)));
            await InterviewRepository.CancelAsync(s, current.Id, current.State, domain.Sequence, now);
            await InterviewRepository.DeleteRemindersAsync(s, current.Id);
            var next = current with
            {
                State = InterviewState.Cancelled, Sequence = domain.Sequence, OrganiserDelivery = InterviewDeliveryState.Pending, OrganiserReplyCode = null,
                Participants = [.. current.Participants.Select(p => p with { Delivery = InterviewDeliveryState.Pending, ReplyCode = null })],
            };
            await AppendAsync(s, InterviewAuditTypes.Cancelled, next, caller);
            return next;
        }, cancellationToken);
        AfterChange(cancelled, now, cancel: true);
        return cancelled.ToEntry(Mailbox, await uidKey.GetAsync(cancellationToken));
    }

    public async Task<InterviewEntry> RecordOutcomeAsync(CallerDevice caller, RecordInterviewOutcomeRequest request, CancellationToken cancellationToken = default)
    {
        ReferralService.RequirePractitioner(caller);
        ArgumentNullException.ThrowIfNull(request);
        if (request.Attendance is { } a && !Enum.IsDefined(a))
        {
            throw new MalformedRequestException("Unknown attendance.", ErrorCodes.InterviewInvalid);
        }

        var now = DbValues.ToStoragePrecision(time.GetUtcNow());
        var recorded = await database.WriteAsync(async s =>
        {
            var current = await RequireOrganisedAsync(s, caller, request.InterviewId);
            if ((request.Attendance is not null) != (request.Held && current.IncludesPerson))
            {
                throw new MalformedRequestException(
                    "A held interview with the person records whether they came; otherwise no attendance is given.", ErrorCodes.InterviewInvalid);
            }

            var domain = Transition(() => current.ToDomain().RecordOutcome(request.Held, Instant.FromDateTimeOffset(now)));
            var state = InterviewStates.ToContract(domain.Status);
            await InterviewRepository.RecordOutcomeAsync(s, current.Id, current.State, state, request.Held, request.Attendance, now);
            await InterviewRepository.DeleteRemindersAsync(s, current.Id);
            var next = current with { State = state, Held = request.Held, Attendance = request.Attendance, OutcomeRecordedAt = now };
            await AppendAsync(s, InterviewAuditTypes.OutcomeRecorded, next, caller, request.Held ? "held" : "not-held");
            var summary = InterviewQueries.Summarise(next);
            foreach (var listener in _listeners)
            {
                await listener.OnOutcomeRecordedAsync(s, summary);
            }

            return next;
        }, cancellationToken);
        return recorded.ToEntry(Mailbox, await uidKey.GetAsync(cancellationToken));
    }

    /// <summary>An invited member answers in the client.</summary>
    public async Task<InterviewEntry> AnswerAsync(CallerDevice caller, AnswerInterviewRequest request, CancellationToken cancellationToken = default)
    {
        RequireParticipantRole(caller);
        ArgumentNullException.ThrowIfNull(request);
        if (request.Answer is InterviewAnswer.NeedsAction || !Enum.IsDefined(request.Answer)
            || (request.Answer == InterviewAnswer.ProposedAnotherTime) != request.ProposedStart.HasValue)
        {
            throw new MalformedRequestException("Accept, decline, tentative, or propose another time with a proposed start.", ErrorCodes.InterviewInvalid);
        }

        var now = DbValues.ToStoragePrecision(time.GetUtcNow());
        var proposed = request.ProposedStart is { } p ? DbValues.ToStoragePrecision(p) : (DateTimeOffset?)null;
        var answered = await database.WriteAsync(async s =>
        {
            var current = await InterviewRepository.GetAsync(s, request.InterviewId);
            if (current is null || !current.Involves(caller.MemberId))
            {
                throw new NotFoundException(ErrorCodes.InterviewNotFound, "No such interview.");
            }

            if (current.Participants.All(x => x.MemberId != caller.MemberId))
            {
                throw new ForbiddenException("The organiser does not answer their own interview.", ErrorCodes.InterviewNotOrganiser);
            }

            return await ApplyAnswerAsync(s, current, caller.MemberId, request.Answer, proposed, now, current.Sequence)
                ?? throw new ConflictException(ErrorCodes.InterviewTransitionRefused, "The interview is over or cancelled.");
        }, cancellationToken);
        return answered.ToEntry(Mailbox, await uidKey.GetAsync(cancellationToken));
    }

    /// <summary>A reply read from the scheduling mailbox: applied only to the live interview at the SEQUENCE it
    /// answers, for an invitee (the processor checked both against a snapshot; they are checked again here).</summary>
    public async Task<bool> ApplyReplyAsync(ParticipantReply reply, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reply);
        var answer = reply.Answer switch
        {
            ReplyAnswer.Accepted => InterviewAnswer.Accepted,
            ReplyAnswer.Declined => InterviewAnswer.Declined,
            ReplyAnswer.Tentative => InterviewAnswer.Tentative,
            _ => InterviewAnswer.ProposedAnotherTime,
        };
        var now = DbValues.ToStoragePrecision(time.GetUtcNow());
        return await database.WriteAsync(async s =>
        {
            var current = await InterviewRepository.GetAsync(s, reply.InterviewId);
            var member = current?.Participants.FirstOrDefault(p => p.MemberId == reply.MemberId
                || string.Equals(p.WorkEmail, reply.Attendee, StringComparison.OrdinalIgnoreCase));
            if (current is null || member is null)
            {
                return false;
            }

            var proposed = reply.ProposedStart is { } p ? DbValues.ToStoragePrecision(p.ToDateTimeOffset()) : (DateTimeOffset?)null;
            return await ApplyAnswerAsync(s, current, member.MemberId, answer, answer == InterviewAnswer.ProposedAnotherTime ? proposed : null, now, reply.Sequence) is not null;
        }, cancellationToken);
    }

    public async Task<IReadOnlyList<InterviewEntry>> ListAsync(CallerDevice caller, CancellationToken cancellationToken = default)
    {
        RequireParticipantRole(caller);
        var rows = await database.ReadAsync(s => InterviewRepository.ListForMemberAsync(s, caller.MemberId), cancellationToken);
        var uids = await uidKey.GetAsync(cancellationToken);
        return [.. rows.Select(r => r.ToEntry(Mailbox, uids))];
    }

    /// <summary>Workers, organisation admins and justice assistants take part in interviews; the operator never.</summary>
    public static void RequireParticipantRole(CallerDevice caller)
    {
        if (caller.Role is not (Roles.Worker or Roles.OrganisationAdmin or Roles.JusticeAssistant))
        {
            throw new ForbiddenException("Only workers, organisation admins and justice assistants take part in interviews.");
        }
    }

    /// <summary>The referral a caller's service is on, open to a tripartite interview (answered "tripartite", or
    /// accepted).</summary>
    public static async Task<ReferralRecord> RequireOpenCaseAsync(DbSession session, CallerDevice caller, string caseReference)
    {
        var referral = await ReferralRepository.GetAsync(session, caseReference);
        if (referral is null || !referral.Involves(caller.OrganisationId))
        {
            throw new NotFoundException(ErrorCodes.InterviewCaseNotOpen, "No referral under this case reference for your service.");
        }

        if (referral.Status is not (ReferralStatus.TripartiteProposed or ReferralStatus.Accepted))
        {
            throw new ConflictException(ErrorCodes.InterviewCaseNotOpen,
                $"A {ReferralStateMachine.Name(referral.Status)} referral admits no tripartite interview.");
        }

        return referral;
    }

    /// <summary>A member who may be invited on this case: a worker or admin of one of the referral's two services, or a
    /// justice assistant of a Maison de justice.</summary>
    public static async Task<ParticipantRecord> AllowedParticipantAsync(DbSession session, ReferralRecord referral, Guid memberId)
    {
        var member = await InterviewRepository.GetMemberAsync(session, memberId)
            ?? throw new NotFoundException(ErrorCodes.InterviewParticipantRefused, "No such member.");
        var role = member.Role switch
        {
            Roles.Worker or Roles.OrganisationAdmin when referral.Involves(member.OrganisationId) => ContractParticipantRole.Worker,
            Roles.JusticeAssistant when member.OrganisationType == OrganisationTypes.JusticeHouse => ContractParticipantRole.JusticeAssistant,
            _ => throw new ForbiddenException("Participants are workers of the services on the case, or a justice assistant.",
                ErrorCodes.InterviewParticipantRefused),
        };
        return new ParticipantRecord(memberId, role, member.WorkEmail, InterviewAnswer.NeedsAction, null, InterviewDeliveryState.Pending, null);
    }

    private async Task<InterviewRecord?> ApplyAnswerAsync(DbSession s, InterviewRecord current, Guid memberId, InterviewAnswer answer,
        DateTimeOffset? proposedStart, DateTimeOffset now, int sequence)
    {
        if (!current.IsLive || sequence != current.Sequence)
        {
            return null;
        }

        await InterviewRepository.SetAnswerAsync(s, current.Id, memberId, answer, proposedStart);
        var participants = current.Participants.Select(p => p.MemberId == memberId ? p with { Answer = answer, ProposedStart = proposedStart } : p).ToList();
        var next = current with { Participants = participants };
        if (participants.All(p => p.Answer == InterviewAnswer.Accepted) && current.State is InterviewState.Proposed or InterviewState.Rescheduled)
        {
            var confirmed = current.ToDomain().Confirm(Instant.FromDateTimeOffset(now));
            await InterviewRepository.UpdateStatusAsync(s, current.Id, current.State, InterviewState.Confirmed, confirmed.Sequence, now);
            next = next with { State = InterviewState.Confirmed };
            await AppendAsync(s, InterviewAuditTypes.Confirmed, next, null);
        }

        return next;
    }

    /// <summary>After the commit: the emails of the new version, and the reminders (or none, for a cancellation). Should
    /// the process stop in between, the pending sources schedule them again at the next start.</summary>
    private void AfterChange(InterviewRecord record, DateTimeOffset now, bool cancel)
    {
        var (id, sequence) = (record.Id, record.Sequence);
        jobs.ScheduleAt<InterviewMailJob>(j => j.SendAsync(id, sequence, cancel, CancellationToken.None), now);
        if (!cancel)
        {
            InterviewReminderJob.Schedule(jobs, id, record.Start, LeadsAhead(record.Start, now));
        }
    }

    /// <summary>The reminder leads whose due time is still ahead (an interview proposed for this afternoon gets no
    /// "day before" reminder).</summary>
    private IEnumerable<TimeSpan> LeadsAhead(DateTimeOffset start, DateTimeOffset now) => options.Value.EffectiveReminderLeads.Where(l => start - l > now);

    private static async Task<InterviewRecord> RequireOrganisedAsync(DbSession s, CallerDevice caller, Guid interviewId)
    {
        var current = await InterviewRepository.GetAsync(s, interviewId);
        if (current is null || !current.Involves(caller.MemberId))
        {
            throw new NotFoundException(ErrorCodes.InterviewNotFound, "No such interview.");
        }

        return current.OrganiserMemberId == caller.MemberId
            ? current
            : throw new ForbiddenException("Only the organiser does this.", ErrorCodes.InterviewNotOrganiser);
    }

    private static InterviewPlace PlaceOf(string? address, Uri? videoLink)
    {
        if ((address is null) == (videoLink is null))
        {
            throw new MalformedRequestException("Give either a service address or a video link.", ErrorCodes.InterviewInvalid);
        }

        return Validate(() => videoLink is not null ? InterviewPlace.Video(videoLink) : InterviewPlace.ServiceAddress(address!));
    }

    private static Duration ValidDuration(int minutes) => Scheduling.Interviews.Interview.AllowsMinutes(minutes)
        ? Duration.FromMinutes(minutes)
        : throw new MalformedRequestException("An interview lasts 15 minutes to 4 hours.", ErrorCodes.InterviewInvalid);

    private static void RequireFuture(DateTimeOffset start, DateTimeOffset now)
    {
        if (start <= now || start > now.AddYears(1))
        {
            throw new MalformedRequestException("An interview starts in the future, within a year.", ErrorCodes.InterviewInvalid);
        }
    }

    private static T Validate<T>(Func<T> build)
    {
        try
        {
            return build();
        }
        catch (InterviewInvalidException e)
        {
            throw new MalformedRequestException(e.Message, ErrorCodes.InterviewInvalid);
        }
    }

    private static Interview Transition(Func<Interview> step)
    {
        try
        {
            return step();
        }
        catch (InterviewTransitionRefusedException e) when (e.Reason == InterviewRefusal.AlreadyStarted)
        {
            throw new ConflictException(ErrorCodes.InterviewAlreadyStarted,
                "The interview has started, so it can no longer be cancelled: record its outcome (held or not held) instead.");
        }
        catch (InterviewTransitionRefusedException e)
        {
            throw new ConflictException(ErrorCodes.InterviewTransitionRefused, e.Message);
        }
        catch (InterviewInvalidException e)
        {
            throw new MalformedRequestException(e.Message, ErrorCodes.InterviewInvalid);
        }
    }

    private Task<long> AppendAsync(DbSession session, string type, InterviewRecord interview, CallerDevice? actor, string? detail = null)
        => audit.AppendAsync(session, new AuditEvent(type, actor?.MemberId, actor?.DeviceId,
            [InterviewAuditTypes.Subject(interview.Id), AuditSubject.Organisation(interview.OrganiserOrganisationId)],
            detail ?? InterviewStateMachine.Name(InterviewStates.ToDomain(interview.State))));
}

/// <summary>The interview lifecycle events of the audit log (never an answer, never a message). An interview appears as
/// <c>interview:&lt;id&gt;</c>, never by its case reference.</summary>
internal static class InterviewAuditTypes
{
    public const string Proposed = "interview.proposed";
    public const string Rescheduled = "interview.rescheduled";
    public const string Cancelled = "interview.cancelled";
    public const string Confirmed = "interview.confirmed";
    public const string OutcomeRecorded = "interview.outcome-recorded";

    public static AuditSubject Subject(Guid interviewId) => new("interview", interviewId);
}
