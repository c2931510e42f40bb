namespace Messaging.Contracts;

/// <content>Codes of tripartite interviews (issue 13).</content>
public static partial class ErrorCodes
{
    /// <summary>No such interview, or the caller is neither its organiser nor a participant.</summary>
    public const string InterviewNotFound = "interview.not-found";

    /// <summary>The interview's data is invalid (participants, duration, place, time): fix it and retry.</summary>
    public const string InterviewInvalid = "interview.invalid";

    /// <summary>The interview's state does not admit this step (final already, or an outcome before the start).</summary>
    public const string InterviewTransitionRefused = "interview.transition-refused";

    /// <summary>The interview's start has passed, so it can no longer be cancelled: record its outcome (held, or not held
    /// with the person's attendance) instead. Nothing was changed.</summary>
    public const string InterviewAlreadyStarted = "interview.already-started";

    /// <summary>Only the organiser may do this.</summary>
    public const string InterviewNotOrganiser = "interview.not-organiser";

    /// <summary>The case reference names no referral the caller's service is on that is open to a tripartite interview
    /// (it must be tripartite-proposed or accepted).</summary>
    public const string InterviewCaseNotOpen = "interview.case-not-open";

    /// <summary>A participant is not allowed: a worker of a service outside the case, a justice assistant outside a
    /// Maison de justice, an unknown member.</summary>
    public const string InterviewParticipantRefused = "interview.participant-refused";

    /// <summary>The availability is invalid (overlapping periods, an absence ending before it starts, a feed that is not
    /// an https URL).</summary>
    public const string InterviewAvailabilityInvalid = "interview.availability-invalid";

    /// <summary>An invitation envelope travels only between participants of a live interview under its case reference.</summary>
    public const string InterviewEnvelopeOutside = "interview.envelope-outside";
}
