namespace Messaging.Scheduling.Interviews;

/// <summary>Where an interview is in its life.</summary>
public enum InterviewStatus
{
    /// <summary>Invitations went out (or are about to); not every required participant has accepted yet.</summary>
    Proposed,

    /// <summary>Every required participant accepted the current time and place.</summary>
    Confirmed,

    /// <summary>The time or place changed after invitations went out; the new one awaits answers.</summary>
    Rescheduled,

    /// <summary>Called off before it took place (final).</summary>
    Cancelled,

    /// <summary>The interview took place (final).</summary>
    Held,

    /// <summary>The interview was due but did not take place: a no-show or a justified absence (final).</summary>
    NotHeld,
}

/// <summary>What someone does to an interview.</summary>
public enum InterviewAction
{
    /// <summary>Every required participant has accepted (read from the replies).</summary>
    Confirm,

    /// <summary>The organiser moves the interview or changes its place.</summary>
    Reschedule,

    /// <summary>The organiser calls it off.</summary>
    Cancel,

    /// <summary>The organiser records that it took place.</summary>
    RecordHeld,

    /// <summary>The organiser records that it did not take place.</summary>
    RecordNotHeld,
}

/// <summary>Who performs an action.</summary>
public enum InterviewActor
{
    /// <summary>The worker who organises the interview.</summary>
    Organiser,

    /// <summary>The system, from the participants' replies.</summary>
    System,
}

/// <summary>
/// The tripartite interview lifecycle (protocol 7.A/7.B: when a follow-up is already running, a three-party interview is
/// the only way forward). Pure: no clock, no storage; the server enforces it, the clients offer only what it allows.
/// <code>
/// proposed    --confirm (system: every required participant accepted)--&gt; confirmed
/// proposed    --reschedule (organiser: new time or place)--------------&gt; rescheduled
/// confirmed   --reschedule (organiser)---------------------------------&gt; rescheduled
/// rescheduled --confirm (system)---------------------------------------&gt; confirmed
/// rescheduled --reschedule (organiser)---------------------------------&gt; rescheduled
/// proposed | confirmed | rescheduled --cancel (organiser, before the start)--&gt; cancelled  (final)
/// proposed | confirmed | rescheduled --record-held (organiser, once started)--&gt; held (final)
/// proposed | confirmed | rescheduled --record-not-held (organiser, once started)--&gt; not-held (final)
/// </code>
/// An outcome (held, not held) is recorded only once the interview's start has passed, and never for an interview that
/// was cancelled; a cancellation only before the start (what happened at a meeting whose time has come is an outcome: a
/// person who did not come is a no-show protocol 7.C requires to be reported, not a cancelled meeting, and a late cancel
/// would escape the outcome chase). A final state admits nothing. An unconfirmed interview may still be held: people do come without
/// answering the invitation.
/// </summary>
public static class InterviewStateMachine
{
    /// <summary>Cancelled, held and not held admit no further action.</summary>
    public static bool IsFinal(InterviewStatus status) => status is InterviewStatus.Cancelled or InterviewStatus.Held
        or InterviewStatus.NotHeld;

    /// <summary>The interview still occupies its slot (it counts as busy for its participants and has reminders).</summary>
    public static bool IsLive(InterviewStatus status) => !IsFinal(status);

    /// <summary>Who may perform an action.</summary>
    public static InterviewActor ActorOf(InterviewAction action) => action == InterviewAction.Confirm
        ? InterviewActor.System
        : InterviewActor.Organiser;

    /// <summary>Actions that may happen only once the interview's start has passed.</summary>
    public static bool NeedsStartPassed(InterviewAction action) => action is InterviewAction.RecordHeld
        or InterviewAction.RecordNotHeld;

    /// <summary>Actions that may happen only before the interview's start.</summary>
    public static bool NeedsNotStarted(InterviewAction action) => action is InterviewAction.Cancel;

    /// <summary>The status after <paramref name="action"/>, or null when the transition is not allowed (the time
    /// conditions are checked by <see cref="Apply"/>).</summary>
    public static InterviewStatus? Next(InterviewStatus from, InterviewAction action) => (from, action) switch
    {
        (InterviewStatus.Proposed or InterviewStatus.Rescheduled, InterviewAction.Confirm) => InterviewStatus.Confirmed,
        (InterviewStatus.Proposed or InterviewStatus.Confirmed or InterviewStatus.Rescheduled, InterviewAction.Reschedule)
            => InterviewStatus.Rescheduled,
        (_, InterviewAction.Cancel) when !IsFinal(from) => InterviewStatus.Cancelled,
        (_, InterviewAction.RecordHeld) when !IsFinal(from) => InterviewStatus.Held,
        (_, InterviewAction.RecordNotHeld) when !IsFinal(from) => InterviewStatus.NotHeld,
        _ => null,
    };

    /// <summary>
    /// The status after <paramref name="action"/> by <paramref name="actor"/> at <paramref name="now"/> on an
    /// interview in <paramref name="from"/> starting at <paramref name="start"/>.
    /// </summary>
    /// <exception cref="InterviewTransitionRefusedException">The action is not allowed: the exception's
    /// <see cref="InterviewTransitionRefusedException.Reason"/> says why.</exception>
    public static InterviewStatus Apply(InterviewStatus from, InterviewAction action, InterviewActor actor,
        NodaTime.Instant start, NodaTime.Instant now)
    {
        if (ActorOf(action) != actor)
        {
            throw new InterviewTransitionRefusedException(from, action, InterviewRefusal.NotYourAction);
        }

        if (IsFinal(from))
        {
            throw new InterviewTransitionRefusedException(from, action, InterviewRefusal.AlreadyFinal);
        }

        if (NeedsStartPassed(action) && now < start)
        {
            throw new InterviewTransitionRefusedException(from, action, InterviewRefusal.NotStartedYet);
        }

        if (NeedsNotStarted(action) && now >= start)
        {
            throw new InterviewTransitionRefusedException(from, action, InterviewRefusal.AlreadyStarted);
        }

        return Next(from, action)
            ?? throw new InterviewTransitionRefusedException(from, action, InterviewRefusal.NotFromThisStatus);
    }

    /// <summary>The kebab-case name used in audit details, iCalendar comments and documentation.</summary>
    public static string Name(InterviewStatus status) => status switch
    {
        InterviewStatus.Proposed => "proposed",
        InterviewStatus.Confirmed => "confirmed",
        InterviewStatus.Rescheduled => "rescheduled",
        InterviewStatus.Cancelled => "cancelled",
        InterviewStatus.Held => "held",
        InterviewStatus.NotHeld => "not-held",
        _ => "unknown",
    };
}

/// <summary>Why an interview action was refused: one value per thing the caller can do about it.</summary>
public enum InterviewRefusal
{
    /// <summary>The interview is cancelled, held or not held: schedule a new one instead.</summary>
    AlreadyFinal,

    /// <summary>The action does not apply to the current status (e.g. confirming a confirmed interview).</summary>
    NotFromThisStatus,

    /// <summary>Only the organiser (or only the system) may do this.</summary>
    NotYourAction,

    /// <summary>An outcome can be recorded only once the interview's start has passed.</summary>
    NotStartedYet,

    /// <summary>The interview's start has passed, so it can no longer be cancelled: record its outcome (held, or not
    /// held) instead.</summary>
    AlreadyStarted,
}

/// <summary>An illegal interview transition. Nothing was changed.</summary>
public sealed class InterviewTransitionRefusedException : InvalidOperationException
{
    public InterviewTransitionRefusedException(InterviewStatus from, InterviewAction action, InterviewRefusal reason)
        : base($"Interview action {action} is refused from status {InterviewStateMachine.Name(from)}: {reason}.")
    {
        From = from;
        Action = action;
        Reason = reason;
    }

    public InterviewStatus From { get; }

    public InterviewAction Action { get; }

    public InterviewRefusal Reason { get; }
}
