using System.Net.Mail;
using NodaTime;

namespace Messaging.Scheduling.Interviews;

/// <summary>What a participant is in the interview.</summary>
public enum ParticipantRole
{
    /// <summary>A worker of a service involved in the case.</summary>
    Worker,

    /// <summary>The justice assistant of the Maison de justice holding the mandate (optional).</summary>
    JusticeAssistant,

    /// <summary>The person the interview is about. The server knows only that they are invited, nothing about them.</summary>
    Person,
}

/// <summary>
/// A participant as the server may know it (DESIGN §2): a member id and a work address for workers and justice
/// assistants; for the person, nothing but the fact that they are invited. The person's invitation is made on the
/// organiser's device (<see cref="Invitations.PersonInvitation"/>).
/// </summary>
public sealed record Participant
{
    private Participant(ParticipantRole role, Guid? memberId, string? workEmail)
    {
        Role = role;
        MemberId = memberId;
        WorkEmail = workEmail;
    }

    public ParticipantRole Role { get; }

    /// <summary>The member id; null for the person.</summary>
    public Guid? MemberId { get; }

    /// <summary>The member's work address (lower-cased); null for the person.</summary>
    public string? WorkEmail { get; }

    /// <summary>A worker or justice assistant.</summary>
    /// <exception cref="InterviewInvalidException">The member id is empty or the address is not a plain address.</exception>
    public static Participant Member(ParticipantRole role, Guid memberId, string workEmail)
    {
        if (role == ParticipantRole.Person)
        {
            throw new InterviewInvalidException(InterviewProblem.PersonHasNoAddress, "The person is added with Participant.ThePerson.");
        }

        if (memberId == Guid.Empty)
        {
            throw new InterviewInvalidException(InterviewProblem.BadParticipant, "A member participant needs a member id.");
        }

        return new Participant(role, memberId, WorkAddress.Normalise(workEmail));
    }

    /// <summary>The person: no name, no address, no contact on the server.</summary>
    public static Participant ThePerson { get; } = new(ParticipantRole.Person, null, null);
}

/// <summary>The organiser: a worker of a service on the case.</summary>
public sealed record Organiser
{
    private Organiser(Guid memberId, string workEmail, string serviceName)
    {
        MemberId = memberId;
        WorkEmail = workEmail;
        ServiceName = serviceName;
    }

    public Guid MemberId { get; }

    public string WorkEmail { get; }

    /// <summary>The organising service's name, the only party named in an invitation.</summary>
    public string ServiceName { get; }

    /// <summary>The longest service name: the longest organisation name the server takes, so that every service can
    /// organise an interview under its full name (official names such as "… de la Fédération Wallonie-Bruxelles" are
    /// long).</summary>
    public const int MaxServiceNameLength = 200;

    /// <exception cref="InterviewInvalidException">An argument is empty or malformed.</exception>
    public static Organiser Create(Guid memberId, string workEmail, string serviceName)
    {
        if (memberId == Guid.Empty)
        {
            throw new InterviewInvalidException(InterviewProblem.BadParticipant, "The organiser needs a member id.");
        }

        if (string.IsNullOrWhiteSpace(serviceName) || serviceName.Trim().Length > MaxServiceNameLength || serviceName.Any(char.IsControl))
        {
            throw new InterviewInvalidException(InterviewProblem.BadParticipant,
                $"The organising service's name must be 1–{MaxServiceNameLength} printable characters.");
        }

        return new Organiser(memberId, WorkAddress.Normalise(workEmail), serviceName.Trim());
    }
}

/// <summary>Where the interview takes place: a service's address or a video link (https only).</summary>
public sealed record InterviewPlace
{
    private InterviewPlace(string text, Uri? videoLink)
    {
        Text = text;
        VideoLink = videoLink;
    }

    /// <summary>The address, or the link as text.</summary>
    public string Text { get; }

    public Uri? VideoLink { get; }

    public bool IsVideo => VideoLink is not null;

    /// <exception cref="InterviewInvalidException">Empty, over 300 characters or with control characters.</exception>
    public static InterviewPlace ServiceAddress(string address)
    {
        if (string.IsNullOrWhiteSpace(address) || address.Length > 300 || address.Any(char.IsControl))
        {
            throw new InterviewInvalidException(InterviewProblem.BadPlace, "A service address must be 1–300 printable characters on one line.");
        }

        return new InterviewPlace(address.Trim(), null);
    }

    /// <exception cref="InterviewInvalidException">Not an absolute https link.</exception>
    public static InterviewPlace Video(Uri link)
    {
        ArgumentNullException.ThrowIfNull(link);
        if (!link.IsAbsoluteUri || link.Scheme != Uri.UriSchemeHttps || link.OriginalString.Length > 500)
        {
            throw new InterviewInvalidException(InterviewProblem.BadPlace, "A video link must be an absolute https link of at most 500 characters.");
        }

        return new InterviewPlace(link.AbsoluteUri, link);
    }
}

/// <summary>
/// A tripartite interview as the server stores it: slot, duration, place, participants (member ids and work addresses),
/// case reference, status, and the iCalendar SEQUENCE its invitations carry (their UIDs are keyed per recipient:
/// <see cref="Invitations.InvitationUids"/>). Nothing about the person, nothing from the referral.
/// </summary>
public sealed record Interview
{
    /// <summary>The smallest and largest number of invited participants besides the organiser.</summary>
    public const int MinParticipants = 2, MaxParticipants = 4;

    private Interview(Guid id, string caseReference, Organiser organiser, IReadOnlyList<Participant> participants,
        Instant start, Duration duration, InterviewPlace place, InterviewStatus status, int sequence)
    {
        Id = id;
        CaseReference = caseReference;
        Organiser = organiser;
        Participants = participants;
        Start = start;
        Duration = duration;
        Place = place;
        Status = status;
        Sequence = sequence;
    }

    public Guid Id { get; }

    public string CaseReference { get; }

    public Organiser Organiser { get; }

    public IReadOnlyList<Participant> Participants { get; }

    public Instant Start { get; }

    public Duration Duration { get; }

    public Instant End => Start + Duration;

    public InterviewPlace Place { get; }

    public InterviewStatus Status { get; }

    /// <summary>The iCalendar SEQUENCE of the last invitation sent (0 for the first REQUEST).</summary>
    public int Sequence { get; }

    /// <summary>The participants who receive an email (everyone but the person).</summary>
    public IEnumerable<Participant> EmailedParticipants => Participants.Where(p => p.WorkEmail is not null);

    /// <summary>A new proposed interview.</summary>
    /// <exception cref="InterviewInvalidException">The case reference, participants, duration or place is invalid.</exception>
    public static Interview Propose(Guid id, string caseReference, Organiser organiser, IEnumerable<Participant> participants,
        Instant start, Duration duration, InterviewPlace place)
    {
        ArgumentNullException.ThrowIfNull(organiser);
        ArgumentNullException.ThrowIfNull(participants);
        ArgumentNullException.ThrowIfNull(place);
        if (id == Guid.Empty)
        {
            throw new InterviewInvalidException(InterviewProblem.BadParticipant, "An interview needs an id.");
        }

        if (!Messaging.Contracts.Referrals.CaseReference.IsWellFormed(caseReference))
        {
            throw new InterviewInvalidException(InterviewProblem.BadCaseReference, "The case reference is not a well-formed pseudonymous reference.");
        }

        CheckDuration(duration);
        var list = participants.ToList();
        if (list.Count is < MinParticipants or > MaxParticipants)
        {
            throw new InterviewInvalidException(InterviewProblem.ParticipantCount, $"An interview invites {MinParticipants} to {MaxParticipants} participants besides the organiser.");
        }

        if (list.Count(p => p.Role == ParticipantRole.Person) > 1 || list.Count(p => p.Role == ParticipantRole.JusticeAssistant) > 1)
        {
            throw new InterviewInvalidException(InterviewProblem.BadParticipant, "At most one person and one justice assistant.");
        }

        var members = list.Where(p => p.MemberId is not null).ToList();
        if (members.Any(p => p.MemberId == organiser.MemberId) || members.Select(p => p.MemberId).Distinct().Count() != members.Count
            || members.Select(p => p.WorkEmail).Append(organiser.WorkEmail).Distinct(StringComparer.Ordinal).Count() != members.Count + 1)
        {
            throw new InterviewInvalidException(InterviewProblem.BadParticipant, "Each participant appears once and the organiser is not among them.");
        }

        if (!list.Any(p => p.Role == ParticipantRole.Worker))
        {
            throw new InterviewInvalidException(InterviewProblem.BadParticipant, "A tripartite interview invites at least one worker of another service.");
        }

        return new Interview(id, caseReference, organiser, list.AsReadOnly(), start, duration, place, InterviewStatus.Proposed, 0);
    }

    /// <summary>
    /// An interview as stored: the server's repository (and a client rebuilding the person's copy from the server's
    /// entry) restores what <see cref="Propose"/> and the transitions made. The same checks as <see cref="Propose"/>
    /// apply, so a stored row that no longer satisfies them is refused rather than sent.
    /// </summary>
    /// <exception cref="InterviewInvalidException">The data would not make a valid interview.</exception>
    public static Interview Restore(Guid id, string caseReference, Organiser organiser, IEnumerable<Participant> participants,
        Instant start, Duration duration, InterviewPlace place, InterviewStatus status, int sequence)
    {
        var proposed = Propose(id, caseReference, organiser, participants, start, duration, place);
        if (!Enum.IsDefined(status) || sequence < 0)
        {
            throw new InterviewInvalidException(InterviewProblem.BadParticipant, "A stored interview has a known status and a non-negative sequence.");
        }

        return new Interview(id, proposed.CaseReference, organiser, proposed.Participants, start, duration, place, status, sequence);
    }

    /// <summary>Every required participant accepted (system).</summary>
    /// <exception cref="InterviewTransitionRefusedException">Not allowed from the current status.</exception>
    public Interview Confirm(Instant now) => WithStatus(InterviewAction.Confirm, InterviewActor.System, now);

    /// <summary>A new time and/or place: the next invitation carries the same UIDs (one per recipient) and SEQUENCE + 1.</summary>
    /// <exception cref="InterviewTransitionRefusedException">Not allowed from the current status.</exception>
    /// <exception cref="InterviewInvalidException">The duration is out of range, or nothing changes.</exception>
    public Interview Reschedule(Instant start, Duration duration, InterviewPlace place, Instant now)
    {
        ArgumentNullException.ThrowIfNull(place);
        CheckDuration(duration);
        if (start == Start && duration == Duration && place == Place)
        {
            throw new InterviewInvalidException(InterviewProblem.NothingChanged, "A reschedule changes the time, the duration or the place.");
        }

        var status = InterviewStateMachine.Apply(Status, InterviewAction.Reschedule, InterviewActor.Organiser, Start, now);
        return new Interview(Id, CaseReference, Organiser, Participants, start, duration, place, status, Sequence + 1);
    }

    /// <summary>Called off before its start: the CANCEL carries SEQUENCE + 1.</summary>
    /// <exception cref="InterviewTransitionRefusedException">Already final, or the start has passed
    /// (<see cref="InterviewRefusal.AlreadyStarted"/>: record the outcome instead).</exception>
    public Interview Cancel(Instant now)
    {
        var status = InterviewStateMachine.Apply(Status, InterviewAction.Cancel, InterviewActor.Organiser, Start, now);
        return new Interview(Id, CaseReference, Organiser, Participants, Start, Duration, Place, status, Sequence + 1);
    }

    /// <summary>Records the outcome once the start has passed.</summary>
    /// <exception cref="InterviewTransitionRefusedException">Final already, or the interview has not started.</exception>
    public Interview RecordOutcome(bool held, Instant now)
        => WithStatus(held ? InterviewAction.RecordHeld : InterviewAction.RecordNotHeld, InterviewActor.Organiser, now);

    private Interview WithStatus(InterviewAction action, InterviewActor actor, Instant now)
    {
        var status = InterviewStateMachine.Apply(Status, action, actor, Start, now);
        return new Interview(Id, CaseReference, Organiser, Participants, Start, Duration, Place, status, Sequence);
    }

    /// <summary>The shortest an interview may last.</summary>
    public static readonly Duration Shortest = Duration.FromMinutes(15);

    /// <summary>The longest an interview may last (queries over interviews' ends rely on it to bound their starts).</summary>
    public static readonly Duration Longest = Duration.FromHours(4);

    /// <summary>Whether a length in whole minutes is one an interview may have (the bounds callers check before building one).</summary>
    public static bool AllowsMinutes(int minutes) => minutes >= Shortest.TotalMinutes && minutes <= Longest.TotalMinutes;

    private static void CheckDuration(Duration duration)
    {
        if (duration < Shortest || duration > Longest || duration.BclCompatibleTicks % TimeSpan.TicksPerMinute != 0)
        {
            throw new InterviewInvalidException(InterviewProblem.BadDuration, "An interview lasts 15 minutes to 4 hours, in whole minutes.");
        }
    }
}

/// <summary>What is wrong with an interview's data: one value per field the caller must fix.</summary>
public enum InterviewProblem
{
    BadCaseReference,
    ParticipantCount,
    BadParticipant,
    PersonHasNoAddress,
    BadDuration,
    BadPlace,
    NothingChanged,
}

/// <summary>Invalid interview data. Nothing was created or changed.</summary>
public sealed class InterviewInvalidException : ArgumentException
{
    public InterviewInvalidException(InterviewProblem problem, string message)
        : base(message) => Problem = problem;

    public InterviewProblem Problem { get; }
}

/// <summary>Work addresses: one plain address, compared lower-cased.</summary>
internal static class WorkAddress
{
    public static string Normalise(string address)
    {
        if (string.IsNullOrWhiteSpace(address) || address.Length > 254 || !MailAddress.TryCreate(address.Trim(), out var parsed)
            || parsed.Address != address.Trim() || !string.IsNullOrEmpty(parsed.DisplayName))
        {
            throw new InterviewInvalidException(InterviewProblem.BadParticipant, "A work address must be one plain email address.");
        }

        return parsed.Address.ToLowerInvariant();
    }
}
