namespace Messaging.Contracts;

/// <summary>What a participant is in a tripartite interview (issue 13). The person is never a member and has no address
/// on the server: the organiser's device makes the person's invitation.</summary>
public enum InterviewParticipantRole
{
    Worker = 1,
    JusticeAssistant = 2,
    Person = 3,
}

/// <summary>Where a tripartite interview is in its life (the server's state machine, <c>InterviewStateMachine</c>).</summary>
public enum InterviewState
{
    Proposed = 1,
    Confirmed = 2,
    Rescheduled = 3,
    Cancelled = 4,
    Held = 5,
    NotHeld = 6,
}

/// <summary>A participant's answer to the current version of the invitation.</summary>
public enum InterviewAnswer
{
    NeedsAction = 0,
    Accepted = 1,
    Declined = 2,
    Tentative = 3,

    /// <summary>The participant proposes another time (<see cref="InterviewParticipantEntry.ProposedStart"/>).</summary>
    ProposedAnotherTime = 4,
}

/// <summary>What became of the last email to a participant (shown to the organiser).</summary>
public enum InterviewDeliveryState
{
    Pending = 0,
    Sent = 1,

    /// <summary>The mail server refused it for good (5xx): the organiser must reach this participant another way.</summary>
    PermanentFailure = 2,
}

/// <summary>For an interview that was held: whether the person came (protocol 7.C, the attendance notice uses it).</summary>
public enum PersonAttendance
{
    Present = 1,
    JustifiedAbsence = 2,
    NoShow = 3,
}

/// <summary>One working period of a weekday, local time in Europe/Brussels (e.g. Monday 09:00–12:30).</summary>
public sealed record WorkingPeriodEntry(DayOfWeek Day, TimeOnly From, TimeOnly To);

/// <summary>An absence, as instants.</summary>
public sealed record AbsenceEntry(DateTimeOffset From, DateTimeOffset To);

/// <summary>Sets the caller's availability for interviews. <paramref name="FeedUrl"/> is an external iCalendar feed over
/// HTTPS: it may carry a secret token, so the server never logs it and never sends it back.</summary>
public sealed record SetInterviewAvailabilityRequest(
    IReadOnlyList<WorkingPeriodEntry> WorkingHours,
    IReadOnlyList<AbsenceEntry> Absences,
    Uri? FeedUrl = null);

/// <summary>A member's availability as the server returns it: the feed URL is only said to be set.</summary>
public sealed record InterviewAvailabilityEntry(
    Guid MemberId,
    IReadOnlyList<WorkingPeriodEntry> WorkingHours,
    IReadOnlyList<AbsenceEntry> Absences,
    bool HasFeed,
    DateTimeOffset? UpdatedAt);

/// <summary>Asks for the earliest common slots of the caller and <paramref name="ParticipantMemberIds"/> (1–3 members;
/// the person is not searched: the organiser agrees a time with them).</summary>
public sealed record FindInterviewSlotsRequest(
    string CaseReference,
    IReadOnlyList<Guid> ParticipantMemberIds,
    int DurationMinutes,
    int Count = 5,
    int BufferMinutes = 0,
    int? MinimumNoticeHours = null,
    int? HorizonDays = null);

/// <summary>One slot, as instants.</summary>
public sealed record InterviewSlot(DateTimeOffset Start, DateTimeOffset End);

/// <summary>An external feed that could not be read: whose, and why (never its URL). <paramref name="Kind"/> is
/// <c>Unavailable</c> (no answer in time, a failed connection, an HTTP error or a host without a public address: told
/// apart neither by kind nor by message), <c>Malformed</c>, <c>TooLarge</c> or <c>NotHttps</c>.</summary>
public sealed record InterviewFeedProblem(Guid MemberId, string Kind, string Message);

/// <summary>A participant who is never free in the window, and the constraint that empties their time.</summary>
public sealed record InterviewNeverFree(Guid MemberId, string Constraint);

/// <summary>The slots found (earliest first). <paramref name="Complete"/> is false when a feed could not be read: the
/// slots are right for what is known. When none fits, <paramref name="EmptyingConstraint"/> and
/// <paramref name="NeverFree"/> say why.</summary>
public sealed record InterviewSlotsResult(
    IReadOnlyList<InterviewSlot> Slots,
    bool Complete,
    IReadOnlyList<InterviewFeedProblem> FeedProblems,
    string? EmptyingConstraint,
    IReadOnlyList<InterviewNeverFree> NeverFree);

/// <summary>Proposes an interview under a case reference the caller's service is on. Exactly one of
/// <paramref name="Address"/> (a service's address) and <paramref name="VideoLink"/> (https).</summary>
public sealed record ProposeInterviewRequest(
    Guid InterviewId,
    string CaseReference,
    IReadOnlyList<Guid> ParticipantMemberIds,
    bool IncludesPerson,
    DateTimeOffset Start,
    int DurationMinutes,
    string? Address = null,
    Uri? VideoLink = null);

/// <summary>A participant answers in the client. <paramref name="ProposedStart"/> only with
/// <see cref="InterviewAnswer.ProposedAnotherTime"/>.</summary>
public sealed record AnswerInterviewRequest(Guid InterviewId, InterviewAnswer Answer, DateTimeOffset? ProposedStart = null);

/// <summary>The organiser moves the interview or changes its place (same UID, SEQUENCE + 1).</summary>
public sealed record RescheduleInterviewRequest(Guid InterviewId, DateTimeOffset Start, int DurationMinutes, string? Address = null, Uri? VideoLink = null);

/// <summary>The organiser calls the interview off (METHOD:CANCEL, SEQUENCE + 1).</summary>
public sealed record CancelInterviewRequest(Guid InterviewId);

/// <summary>The organiser records the outcome once the start has passed: held (with the person's attendance when the
/// person was invited) or not held.</summary>
public sealed record RecordInterviewOutcomeRequest(Guid InterviewId, bool Held, PersonAttendance? Attendance = null);

/// <summary>One participant as the interview's participants see it (work addresses are in every invitation anyway).</summary>
public sealed record InterviewParticipantEntry(
    InterviewParticipantRole Role,
    Guid? MemberId,
    string? WorkEmail,
    InterviewAnswer Answer,
    DateTimeOffset? ProposedStart,
    InterviewDeliveryState Delivery,
    int? DeliveryReplyCode);

/// <summary>An interview as the server stores it: no person's name or contact, nothing from the referral.
/// <see cref="PersonUid"/> is the iCalendar UID of the person's own copy (made on the organiser's device): keyed by the
/// server, it names no interview and gives no attendee's UID away (each attendee's emailed copy has its own UID, whose
/// token authenticates their replies).</summary>
public sealed record InterviewEntry(
    Guid InterviewId,
    string CaseReference,
    Guid OrganiserMemberId,
    Guid OrganiserOrganisationId,
    string OrganiserWorkEmail,
    string ServiceName,
    IReadOnlyList<InterviewParticipantEntry> Participants,
    DateTimeOffset Start,
    int DurationMinutes,
    string Place,
    bool IsVideo,
    InterviewState State,
    int Sequence,
    string PersonUid,
    string SchedulingMailbox,
    bool? Held,
    PersonAttendance? Attendance,
    InterviewDeliveryState OrganiserDelivery);
