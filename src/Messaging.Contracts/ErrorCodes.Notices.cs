namespace Messaging.Contracts;

/// <content>Codes of mandates and attendance notices (protocol 7.C).</content>
public static partial class ErrorCodes
{
    /// <summary>No such mandate, or not visible to the caller.</summary>
    public const string MandateNotFound = "mandate.not-found";

    /// <summary>The named member is not a justice assistant of a Maison de justice.</summary>
    public const string MandateNotJusticeAssistant = "mandate.not-justice-assistant";

    /// <summary>A live mandate already links this case reference and this service.</summary>
    public const string MandateExists = "mandate.exists";

    /// <summary>The mandate's status admits no such step, or the caller is not the party that takes it.</summary>
    public const string MandateTransitionRefused = "mandate.transition-refused";

    /// <summary>An attendance-notice envelope lacks its routing fields (notice id, kind, case reference), or another
    /// kind of envelope carries them.</summary>
    public const string NoticeRoutingInvalid = "notice.routing-invalid";

    /// <summary>An attendance-notice envelope carries a field the notice channel does not admit (a consent, for example).</summary>
    public const string NoticeFieldRefused = "notice.field-refused";

    /// <summary>No accepted mandate links the case reference to the sender's service.</summary>
    public const string NoticeNoMandate = "notice.no-mandate";

    /// <summary>Only the workers and organisation admins of the following service issue notices.</summary>
    public const string NoticeWrongSender = "notice.wrong-sender";

    /// <summary>A notice goes to the mandate's justice assistant only (and the sender's own devices).</summary>
    public const string NoticeWrongRecipient = "notice.wrong-recipient";

    /// <summary>A notice with this id was already relayed, or this mandate already sent a notice of this kind about
    /// this interview.</summary>
    public const string NoticeDuplicate = "notice.duplicate";

    /// <summary>The notice names an interview that does not exist or does not involve the sender's service (neither its
    /// organiser nor one of its participants); a notice about an interview held outside the system names a date.</summary>
    public const string NoticeInterviewUnknown = "notice.interview-unknown";

    /// <summary>The notice names an interview of the sender's service held under another case reference than the
    /// notice's.</summary>
    public const string NoticeInterviewOtherCase = "notice.interview-other-case";

    /// <summary>The notice names an interview that has not started yet: attendance is reported once it has.</summary>
    public const string NoticeInterviewNotStarted = "notice.interview-not-started";

    /// <summary>The signed notice handed over for intake delivery does not verify or does not match the relayed notice.</summary>
    public const string NoticeInvalid = "notice.invalid";

    /// <summary>The Maison de justice has no intake endpoint configured.</summary>
    public const string NoticeIntakeNotConfigured = "notice.intake-not-configured";
}
