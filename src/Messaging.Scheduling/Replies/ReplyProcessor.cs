using Ical.Net;
using Messaging.Scheduling.Availability;
using Messaging.Scheduling.Interviews;
using Messaging.Scheduling.Invitations;
using Microsoft.Extensions.Logging;
using MimeKit;
using NodaTime;

namespace Messaging.Scheduling.Replies;

/// <summary>A participant's answer.</summary>
public enum ReplyAnswer
{
    Accepted,
    Declined,
    Tentative,

    /// <summary>An iTIP COUNTER: the participant proposes another time (see <see cref="ParticipantReply.ProposedStart"/>).</summary>
    ProposedAnotherTime,
}

/// <summary>Why a message was not taken as a reply: one value per thing the server does about it (all are logged
/// without content and the message is set aside).</summary>
public enum ReplyRefusal
{
    /// <summary>No iCalendar REPLY or COUNTER in the message (an ordinary email, an auto-responder).</summary>
    NotACalendarReply,

    /// <summary>The calendar object cannot be read, or a REPLY without exactly one attendee and a known PARTSTAT.</summary>
    Malformed,

    /// <summary>No interview has that UID (or it is over).</summary>
    UnknownInterview,

    /// <summary>The reply answers an older version of the interview (its SEQUENCE is below the current one).</summary>
    StaleSequence,

    /// <summary>The attendee in the body is not one of the interview's invitees.</summary>
    NotAnInvitee,

    /// <summary>The UID does not carry the token of the attendee the body names (<see cref="InvitationUids"/>): a forged
    /// reply, one naming another invitee than the copy it answers, or one to an invitation sent before replies were
    /// authenticated (a UID without token). The organiser re-sends (reschedules) to reach such an invitee again.</summary>
    Unauthenticated,

    /// <summary>Reading or handing over the message failed unexpectedly (set by <see cref="ImapReplyPoller"/>, never by
    /// the processor): it is moved to the failed folder, logged with the exception's type only, and the poll goes on.</summary>
    Failed,
}

/// <summary>A reply taken: which interview, which invitee (read from the calendar body and proven by the UID's token,
/// whoever sent the mail), the answer, and the proposed time for a COUNTER.</summary>
public sealed record ParticipantReply(Guid InterviewId, Guid? MemberId, string Attendee, ReplyAnswer Answer, int Sequence,
    Instant? ProposedStart = null, Instant? ProposedEnd = null);

/// <summary>The result of reading one message: a reply, or a typed refusal.</summary>
public sealed record ReplyOutcome(ParticipantReply? Reply, ReplyRefusal? Refusal)
{
    public static ReplyOutcome Refused(ReplyRefusal refusal) => new(null, refusal);
}

/// <summary>Looks up an interview by the id its invitations' UIDs name (the server's store).</summary>
public interface IInterviewLookup
{
    Interview? FindById(Guid interviewId);
}

/// <summary>
/// Reads iMIP replies (RFC 6047) from a scheduling mailbox: the calendar object is found wherever the mailer put it
/// (text/calendar in an alternative, an .ics attachment, inside a forwarded message/rfc822), its METHOD must be REPLY or
/// COUNTER. The ORGANIZER is not required (Outlook/Exchange omit it); the attendee is read from the body and must be an
/// invitee of the interview the UID names, the UID must carry that invitee's token (<see cref="InvitationUids"/>: only
/// their own copy of the invitation has it), and the reply must answer the current SEQUENCE. The mail's From is not
/// looked at: it is forged at will, and may rightly differ (a secretariat answering the copy forwarded to it, a
/// delegate). Refusals are logged with their reason only.
/// </summary>
public sealed partial class ReplyProcessor
{
    private readonly IInterviewLookup _interviews;
    private readonly InvitationUids _uids;
    private readonly ILogger<ReplyProcessor> _logger;

    /// <param name="interviews">The interviews replies may answer.</param>
    /// <param name="uids">The UIDs under the key the invitations were sent with.</param>
    /// <param name="logger">Where refusals go, with their reason only.</param>
    public ReplyProcessor(IInterviewLookup interviews, InvitationUids uids, ILogger<ReplyProcessor> logger)
    {
        _interviews = interviews ?? throw new ArgumentNullException(nameof(interviews));
        _uids = uids ?? throw new ArgumentNullException(nameof(uids));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
    }

    public ReplyOutcome Process(MimeMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var outcome = Read(message);
        if (outcome.Refusal is { } refusal)
        {
            LogRefused(refusal);
        }
        else
        {
            LogTaken(outcome.Reply!.InterviewId, outcome.Reply.Answer);
        }

        return outcome;
    }

    private ReplyOutcome Read(MimeMessage message)
    {
        var texts = CalendarTexts(message).ToList();
        if (texts.Count == 0)
        {
            return ReplyOutcome.Refused(ReplyRefusal.NotACalendarReply);
        }

        Calendar? calendar = null;
        foreach (var text in texts)
        {
            try
            {
                calendar = Calendar.Load(text);
            }
#pragma warning disable CA1031 // Hostile input: whatever the parser throws means "malformed".
            catch (Exception)
#pragma warning restore CA1031
            {
                calendar = null;
            }

            if (calendar is not null)
            {
                break;
            }
        }

        if (calendar is null)
        {
            return ReplyOutcome.Refused(ReplyRefusal.Malformed);
        }

        var (read, refusal) = Interpret(calendar);
        if (read is null)
        {
            return ReplyOutcome.Refused(refusal);
        }

        var uid = InvitationUids.Read(read.Uid);
        if (uid.Shape == InvitationUidShape.Legacy)
        {
            return ReplyOutcome.Refused(ReplyRefusal.Unauthenticated);
        }

        var interview = uid.Shape == InvitationUidShape.Attendee ? _interviews.FindById(uid.InterviewId) : null;
        if (interview is null || interview.Id != uid.InterviewId || InterviewStateMachine.IsFinal(interview.Status))
        {
            return ReplyOutcome.Refused(ReplyRefusal.UnknownInterview);
        }

        var invitee = interview.EmailedParticipants.FirstOrDefault(p => p.WorkEmail == read.Attendee);
        if (invitee is null)
        {
            return ReplyOutcome.Refused(ReplyRefusal.NotAnInvitee);
        }

        // Authentication before anything else about the answer: a forged reply is reported as such, stale or not.
        if (!_uids.Authenticates(read.Uid, interview.Id, invitee.WorkEmail!))
        {
            return ReplyOutcome.Refused(ReplyRefusal.Unauthenticated);
        }

        if (read.Sequence < interview.Sequence)
        {
            return ReplyOutcome.Refused(ReplyRefusal.StaleSequence);
        }

        return new ReplyOutcome(new ParticipantReply(interview.Id, invitee.MemberId, read.Attendee, read.Answer, read.Sequence,
            read.ProposedStart, read.ProposedEnd), null);
    }

    /// <summary>What the calendar object says, or why it is refused (the refusal means nothing beside a reply).
    /// Everything read from the parsed object is read here, under one catch: Ical.Net parses property values lazily,
    /// and a COUNTER's time can name an unknown TZID or an out-of-range DTEND or DURATION, so any exception means
    /// "malformed" — never an exception out of <see cref="Process"/>.</summary>
    private static (ReadReply? Reply, ReplyRefusal Refusal) Interpret(Calendar calendar)
    {
        try
        {
            var method = calendar.Method?.ToUpperInvariant();
            if (method is not ("REPLY" or "COUNTER"))
            {
                return (null, ReplyRefusal.NotACalendarReply);
            }

            if (calendar.Events.Count != 1 || calendar.Events.First() is not { } evt || string.IsNullOrEmpty(evt.Uid) || evt.Attendees.Count != 1)
            {
                return (null, ReplyRefusal.Malformed);
            }

            var attendee = Address(evt.Attendees[0].Value);
            var answer = method == "COUNTER" ? ReplyAnswer.ProposedAnotherTime : Answer(evt.Attendees[0].ParticipationStatus);
            if (attendee is null || answer is null)
            {
                return (null, ReplyRefusal.Malformed);
            }

            Instant? proposedStart = null, proposedEnd = null;
            if (answer == ReplyAnswer.ProposedAnotherTime && evt.DtStart is not null)
            {
                proposedStart = IcsBusyCalendar.ToInstant(evt.DtStart, SlotSearch.Brussels);
                proposedEnd = proposedStart + IcsBusyCalendar.NominalDuration(evt, SlotSearch.Brussels);
            }

            return (new ReadReply(evt.Uid, evt.Sequence, attendee, answer.Value, proposedStart, proposedEnd), ReplyRefusal.Malformed);
        }
#pragma warning disable CA1031 // Hostile input: whatever reading the parsed object throws means "malformed".
        catch (Exception)
#pragma warning restore CA1031
        {
            return (null, ReplyRefusal.Malformed);
        }
    }

    private sealed record ReadReply(string Uid, int Sequence, string Attendee, ReplyAnswer Answer, Instant? ProposedStart, Instant? ProposedEnd);

    /// <summary>Every calendar object in the message, in document order, forwarded messages included.</summary>
    private static IEnumerable<string> CalendarTexts(MimeMessage message)
    {
        foreach (var entity in message.BodyParts)
        {
            if (entity is MessagePart { Message: { } inner })
            {
                foreach (var text in CalendarTexts(inner))
                {
                    yield return text;
                }
            }
            else if (entity is MimePart part && IsCalendar(part))
            {
                using var stream = new MemoryStream();
                part.Content?.DecodeTo(stream);
                var charset = part.ContentType.CharsetEncoding ?? System.Text.Encoding.UTF8;
                yield return charset.GetString(stream.ToArray());
            }
        }
    }

    private static bool IsCalendar(MimePart part)
        => part.ContentType.IsMimeType("text", "calendar") || part.ContentType.IsMimeType("application", "ics")
            || (part.FileName?.EndsWith(".ics", StringComparison.OrdinalIgnoreCase) ?? false);

    private static string? Address(Uri? value)
    {
        if (value is null || !string.Equals(value.Scheme, "mailto", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var address = Uri.UnescapeDataString(value.OriginalString["mailto:".Length..]).Trim().ToLowerInvariant();
        return address.Contains('@', StringComparison.Ordinal) ? address : null;
    }

    private static ReplyAnswer? Answer(string? partStat) => partStat?.ToUpperInvariant() switch
    {
        "ACCEPTED" => ReplyAnswer.Accepted,
        "DECLINED" => ReplyAnswer.Declined,
        "TENTATIVE" => ReplyAnswer.Tentative,
        _ => null,
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Scheduling mailbox: message refused ({Refusal})")]
    private partial void LogRefused(ReplyRefusal refusal);

    [LoggerMessage(Level = LogLevel.Information, Message = "Scheduling mailbox: reply {Answer} for interview {InterviewId}")]
    private partial void LogTaken(Guid interviewId, ReplyAnswer answer);
}
