using Messaging.Scheduling.Interviews;
using NodaTime;

namespace Messaging.Scheduling.Invitations;

/// <summary>
/// The person's own invitation, made on the organiser's device: the server never holds the person's address (DESIGN
/// §2). It is an <c>.ics</c> (METHOD:PUBLISH: no reply expected, no attendee listed, so no worker's address reaches the
/// person besides the scheduling mailbox as organiser), a ready-to-send text, and a <c>mailto:</c> link without recipient
/// that the worker's own mail program opens (the worker adds the person's address there, and attaches the file).
/// </summary>
public sealed record PersonInvitation(string Ics, string FileName, string Text, Uri MailTo)
{
    /// <summary>The person's copy of <paramref name="interview"/> under <paramref name="uid"/>, the server's
    /// <see cref="InvitationUids.ForPerson"/> (updates keep it and carry the interview's SEQUENCE; a cancelled interview
    /// gives a cancelled copy). The UID names no interview and gives no worker's UID away.</summary>
    /// <exception cref="ArgumentException">The UID or the mailbox is blank.</exception>
    public static PersonInvitation Create(Interview interview, string uid, string schedulingMailbox, Instant stamp)
    {
        ArgumentNullException.ThrowIfNull(interview);
        var cancelled = interview.Status == InterviewStatus.Cancelled;
        var calendar = InvitationCalendar.Build(interview, ItipMethod.Publish, uid, schedulingMailbox, stamp);
        if (cancelled && calendar.Events.FirstOrDefault() is { } evt)
        {
            evt.Status = "CANCELLED";
        }

        var method = cancelled ? ItipMethod.Cancel : ItipMethod.Request;
        var text = Texts.PlainBody(interview, method);
        var subject = Texts.Subject(interview, method);
        var mailto = new Uri("mailto:?subject=" + Uri.EscapeDataString(subject) + "&body=" + Uri.EscapeDataString(text.Replace("\n", "\r\n", StringComparison.Ordinal)));
        return new PersonInvitation(InvitationCalendar.Serialize(calendar), "entretien.ics", text, mailto);
    }
}
