using Messaging.Client.Connection;
using Messaging.Contracts;
using Messaging.Scheduling.Interviews;
using NodaTime;
using ContractRole = Messaging.Contracts.InterviewParticipantRole;

namespace Messaging.Client.Interviews;

/// <summary>
/// Tripartite interviews (issue 13) from a worker's device: availability, slot search, invitations, answers, changes,
/// outcomes — and the person's own invitation, which is made here on the organiser's device and never reaches the
/// server (the server has no name, address or contact of the person). Reach it through
/// <see cref="MessagingClient.Interviews"/>.
/// </summary>
public sealed class InterviewsClient
{
    private readonly HubLink _hub;
    private readonly TimeProvider _time;

    internal InterviewsClient(HubLink hub, TimeProvider time)
    {
        _hub = hub;
        _time = time;
    }

    /// <summary>Sets this member's working hours (Europe/Brussels local times), absences and optional external calendar
    /// feed. The feed URL may carry a secret: the server stores it to fetch it, never logs it and never returns it.</summary>
    /// <exception cref="InvalidOperationException">Not connected.</exception>
    /// <exception cref="ServerRefusedException"><c>interview.availability-invalid</c>: overlapping periods, an absence that
    /// ends before it starts, a feed that is not https. Nothing was changed.</exception>
    /// <exception cref="NotPermittedException">The platform operator takes no part in interviews.</exception>
    public Task<InterviewAvailabilityEntry> SetAvailabilityAsync(IReadOnlyList<WorkingPeriodEntry> workingHours, IReadOnlyList<AbsenceEntry> absences,
        Uri? feedUrl = null, CancellationToken cancellationToken = default)
        => _hub.InvokeAsync<InterviewAvailabilityEntry>(nameof(IMessagingHub.SetInterviewAvailability),
            new SetInterviewAvailabilityRequest(workingHours, absences, feedUrl), cancellationToken);

    /// <summary>This member's availability (the feed only as set or not).</summary>
    /// <exception cref="InvalidOperationException">Not connected.</exception>
    public Task<InterviewAvailabilityEntry> GetAvailabilityAsync(CancellationToken cancellationToken = default)
        => _hub.InvokeAsync<InterviewAvailabilityEntry>(nameof(IMessagingHub.GetInterviewAvailability), cancellationToken);

    /// <summary>The earliest slots common to this member and the request's members, searched on the server,
    /// with the feeds it could not read (<see cref="InterviewSlotsResult.Complete"/> false) and, when nothing fits, why.</summary>
    /// <exception cref="InvalidOperationException">Not connected.</exception>
    /// <exception cref="ServerRefusedException"><c>interview.case-not-open</c> (no referral of this service under the
    /// reference, or one that is not tripartite-proposed or accepted), <c>interview.invalid</c> (numbers out of range).</exception>
    /// <exception cref="NotPermittedException">Not a worker or organisation admin, or a participant who may not be
    /// invited (<c>interview.participant-refused</c>).</exception>
    public Task<InterviewSlotsResult> FindSlotsAsync(FindInterviewSlotsRequest request, CancellationToken cancellationToken = default)
        => _hub.InvokeAsync<InterviewSlotsResult>(nameof(IMessagingHub.FindInterviewSlots), request, cancellationToken);

    /// <summary>Proposes an interview; the server emails the invitations (METHOD:REQUEST) to every invited member and to
    /// the organiser. Retrying with the same <see cref="ProposeInterviewRequest.InterviewId"/> returns the same interview.</summary>
    /// <exception cref="InvalidOperationException">Not connected.</exception>
    /// <exception cref="ServerRefusedException"><c>interview.case-not-open</c>, or <c>interview.invalid</c>: participants,
    /// duration, place or start.</exception>
    /// <exception cref="NotPermittedException">Not a worker or organisation admin, or a participant outside the case.</exception>
    public Task<InterviewEntry> InviteAsync(ProposeInterviewRequest request, CancellationToken cancellationToken = default)
        => _hub.InvokeAsync<InterviewEntry>(nameof(IMessagingHub.ProposeInterview), request, cancellationToken);

    /// <summary>Answers an invitation as an invited member.</summary>
    /// <exception cref="InvalidOperationException">Not connected.</exception>
    /// <exception cref="TargetNotFoundException"><c>interview.not-found</c>.</exception>
    /// <exception cref="ServerRefusedException"><c>interview.transition-refused</c> (over or cancelled), <c>interview.invalid</c>.</exception>
    public Task<InterviewEntry> AnswerAsync(Guid interviewId, InterviewAnswer answer, DateTimeOffset? proposedStart = null, CancellationToken cancellationToken = default)
        => _hub.InvokeAsync<InterviewEntry>(nameof(IMessagingHub.AnswerInterview), new AnswerInterviewRequest(interviewId, answer, proposedStart), cancellationToken);

    /// <summary>Moves the interview or changes its place (organiser only): the same UID goes out with SEQUENCE + 1.</summary>
    /// <exception cref="InvalidOperationException">Not connected.</exception>
    /// <exception cref="TargetNotFoundException"><c>interview.not-found</c>.</exception>
    /// <exception cref="NotPermittedException"><c>interview.not-organiser</c>.</exception>
    /// <exception cref="ServerRefusedException"><c>interview.transition-refused</c>, <c>interview.invalid</c>.</exception>
    public Task<InterviewEntry> RescheduleAsync(RescheduleInterviewRequest request, CancellationToken cancellationToken = default)
        => _hub.InvokeAsync<InterviewEntry>(nameof(IMessagingHub.RescheduleInterview), request, cancellationToken);

    /// <summary>Cancels the interview before its start (organiser only): METHOD:CANCEL goes out with SEQUENCE + 1.</summary>
    /// <exception cref="InvalidOperationException">Not connected.</exception>
    /// <exception cref="TargetNotFoundException"><c>interview.not-found</c>.</exception>
    /// <exception cref="NotPermittedException"><c>interview.not-organiser</c>.</exception>
    /// <exception cref="StateConflictException"><c>interview.already-started</c> (the start has passed: record the
    /// outcome with <see cref="RecordOutcomeAsync"/> instead), <c>interview.transition-refused</c> (already final).</exception>
    public Task<InterviewEntry> CancelAsync(Guid interviewId, CancellationToken cancellationToken = default)
        => _hub.InvokeAsync<InterviewEntry>(nameof(IMessagingHub.CancelInterview), new CancelInterviewRequest(interviewId), cancellationToken);

    /// <summary>Records the outcome once the start has passed (organiser only).</summary>
    /// <exception cref="InvalidOperationException">Not connected.</exception>
    /// <exception cref="TargetNotFoundException"><c>interview.not-found</c>.</exception>
    /// <exception cref="NotPermittedException"><c>interview.not-organiser</c>.</exception>
    /// <exception cref="ServerRefusedException"><c>interview.transition-refused</c> (not started, or final),
    /// <c>interview.invalid</c> (attendance missing or given when it should not be).</exception>
    public Task<InterviewEntry> RecordOutcomeAsync(Guid interviewId, bool held, PersonAttendance? attendance, CancellationToken cancellationToken = default)
        => _hub.InvokeAsync<InterviewEntry>(nameof(IMessagingHub.RecordInterviewOutcome), new RecordInterviewOutcomeRequest(interviewId, held, attendance), cancellationToken);

    /// <summary>The interviews this member organises or is invited to, soonest first.</summary>
    /// <exception cref="InvalidOperationException">Not connected.</exception>
    public Task<IReadOnlyList<InterviewEntry>> ListAsync(CancellationToken cancellationToken = default)
        => _hub.InvokeAsync<IReadOnlyList<InterviewEntry>>(nameof(IMessagingHub.ListInterviews), cancellationToken);

    /// <summary>
    /// The person's own invitation, made here and nowhere else: a METHOD:PUBLISH <c>.ics</c> (no attendee listed), a
    /// ready-to-send text and a <c>mailto:</c> without recipient, for the worker's own mail program. Neither the person's
    /// address nor <paramref name="greetingName"/> is sent anywhere.
    /// </summary>
    /// <param name="interview">The interview as listed by the server (it must invite the person).</param>
    /// <param name="greetingName">Optional: the person's name for the greeting of the text (stays on this device).</param>
    /// <exception cref="ArgumentException">The interview does not invite the person.</exception>
    public PersonInvitationFiles PersonInvitation(InterviewEntry interview, string? greetingName = null)
    {
        ArgumentNullException.ThrowIfNull(interview);
        if (interview.Participants.All(p => p.Role != ContractRole.Person))
        {
            throw new ArgumentException("This interview does not invite the person.", nameof(interview));
        }

        var invitation = Scheduling.Invitations.PersonInvitation.Create(Rebuild(interview), interview.PersonUid, interview.SchedulingMailbox,
            Instant.FromDateTimeOffset(_time.GetUtcNow()));
        var text = string.IsNullOrWhiteSpace(greetingName) ? invitation.Text : $"Bonjour {greetingName.Trim()},\n\n{invitation.Text}";
        return new PersonInvitationFiles(invitation.FileName, invitation.Ics, text, invitation.MailTo);
    }

    /// <summary>The library's interview from the server's entry (for the person's copy).</summary>
    internal static Interview Rebuild(InterviewEntry entry)
    {
        var participants = entry.Participants.Select(p => p.Role switch
        {
            ContractRole.Person => Participant.ThePerson,
            ContractRole.JusticeAssistant => Participant.Member(ParticipantRole.JusticeAssistant, p.MemberId!.Value, p.WorkEmail!),
            _ => Participant.Member(ParticipantRole.Worker, p.MemberId!.Value, p.WorkEmail!),
        });
        var place = entry.IsVideo ? InterviewPlace.Video(new Uri(entry.Place, UriKind.Absolute)) : InterviewPlace.ServiceAddress(entry.Place);
        var status = entry.State switch
        {
            InterviewState.Confirmed => InterviewStatus.Confirmed,
            InterviewState.Rescheduled => InterviewStatus.Rescheduled,
            InterviewState.Cancelled => InterviewStatus.Cancelled,
            InterviewState.Held => InterviewStatus.Held,
            InterviewState.NotHeld => InterviewStatus.NotHeld,
            _ => InterviewStatus.Proposed,
        };
        return Interview.Restore(entry.InterviewId, entry.CaseReference, Organiser.Create(entry.OrganiserMemberId, entry.OrganiserWorkEmail, entry.ServiceName),
            participants, Instant.FromDateTimeOffset(entry.Start), Duration.FromMinutes(entry.DurationMinutes), place, status, entry.Sequence);
    }
}

/// <summary>The person's invitation as files for the worker: the <c>.ics</c> (its suggested file name and text), the
/// ready-to-send text, and a <c>mailto:</c> link without recipient.</summary>
public sealed record PersonInvitationFiles(string IcsFileName, string Ics, string Text, Uri MailTo);
