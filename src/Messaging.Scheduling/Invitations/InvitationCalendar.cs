using Ical.Net;
using Ical.Net.CalendarComponents;
using Ical.Net.DataTypes;
using Ical.Net.Serialization;
using Messaging.Scheduling.Availability;
using Messaging.Scheduling.Interviews;
using NodaTime;

namespace Messaging.Scheduling.Invitations;

/// <summary>The iTIP method of an outgoing calendar object (RFC 5546 §1.4).</summary>
public enum ItipMethod
{
    /// <summary>An invitation, or an update of one (same UID, higher SEQUENCE).</summary>
    Request,

    /// <summary>The interview is called off.</summary>
    Cancel,

    /// <summary>For the person's own calendar: no replies expected.</summary>
    Publish,
}

/// <summary>
/// Builds the iCalendar objects of interview invitations (RFC 5545 + RFC 5546). The event names no person and carries no
/// case content: a neutral title with the organising service, the case reference, time and place. Times are written in
/// Europe/Brussels with a full VTIMEZONE (STANDARD and DAYLIGHT rules) so every client shows the same local time.
/// <para>
/// The ORGANIZER is the scheduling mailbox (CN = the organising service) so that iMIP replies reach the mailbox the
/// server polls; the organising worker is an ATTENDEE with ROLE=CHAIR, already accepted.
/// </para>
/// </summary>
public static class InvitationCalendar
{
    public const string ProductId = "-//Messaging//Scheduling 1.0//EN";
    public const string TimeZoneId = "Europe/Brussels";

    /// <summary>The text of a REQUEST or CANCEL for <paramref name="interview"/>, stamped at <paramref name="stamp"/>, as one
    /// recipient's copy: <paramref name="uid"/> is that recipient's (<see cref="InvitationUids.ForAttendee"/>).</summary>
    public static string Write(Interview interview, ItipMethod method, string uid, string schedulingMailbox, Instant stamp)
        => Serialize(Build(interview, method, uid, schedulingMailbox, stamp));

    /// <summary>The calendar object of one copy of a REQUEST or CANCEL (<paramref name="uid"/> is its recipient's,
    /// <see cref="InvitationUids.ForAttendee"/>), or of the person's PUBLISH (<see cref="InvitationUids.ForPerson"/>, see
    /// <see cref="PersonInvitation"/>).</summary>
    public static Calendar Build(Interview interview, ItipMethod method, string uid, string schedulingMailbox, Instant stamp)
    {
        ArgumentNullException.ThrowIfNull(interview);
        ArgumentException.ThrowIfNullOrWhiteSpace(uid);
        ArgumentException.ThrowIfNullOrWhiteSpace(schedulingMailbox);
        var calendar = new Calendar { ProductId = ProductId, Method = MethodName(method) };

        // A VTIMEZONE with the rules in force (not "since 1892"): STANDARD and DAYLIGHT. Ical.Net derives them from the
        // zone's transitions between this date and the machine's real clock (it reads DateTimeOffset.Now), so the date
        // must not lie after the real now: a date derived from the interview threw for interviews planned on a clock
        // running years ahead (the server tests' fake clock). Brussels has kept the EU rules since 1996.
        var earliest = new DateTime(Math.Min(2000, interview.Start.InZone(SlotSearch.Brussels).Year - 1), 1, 1, 0, 0, 0, DateTimeKind.Unspecified);
        calendar.AddTimeZone(TimeZoneId, earliest, false);

        var evt = new CalendarEvent
        {
            Uid = uid,
            Sequence = interview.Sequence,
            DtStamp = new CalDateTime(stamp.ToDateTimeUtc(), CalDateTime.UtcTzId),
            DtStart = Local(interview.Start),
            DtEnd = Local(interview.End),
            Summary = Texts.Title(interview),
            Description = Texts.PlainBody(interview, method),
            Location = interview.Place.Text,
            Status = method == ItipMethod.Cancel ? "CANCELLED" : "CONFIRMED",
            Transparency = "OPAQUE",
            Class = "CONFIDENTIAL",
            Organizer = new Organizer("mailto:" + schedulingMailbox) { CommonName = interview.Organiser.ServiceName },
        };
        if (interview.Place.VideoLink is { } link)
        {
            evt.Url = link;
        }

        if (method != ItipMethod.Publish)
        {
            evt.Attendees.Add(new Attendee("mailto:" + interview.Organiser.WorkEmail)
            {
                Role = "CHAIR",
                ParticipationStatus = "ACCEPTED",
                Rsvp = false,
                Type = "INDIVIDUAL",
            });
            foreach (var participant in interview.EmailedParticipants)
            {
                evt.Attendees.Add(new Attendee("mailto:" + participant.WorkEmail)
                {
                    Role = "REQ-PARTICIPANT",
                    ParticipationStatus = method == ItipMethod.Cancel ? "DECLINED" : "NEEDS-ACTION",
                    Rsvp = method == ItipMethod.Request,
                    Type = "INDIVIDUAL",
                });
            }
        }

        calendar.Events.Add(evt);
        return calendar;
    }

    /// <summary>RFC 5545 text with CRLF line endings and folded lines.</summary>
    public static string Serialize(Calendar calendar) => new CalendarSerializer().SerializeToString(calendar)
        ?? throw new InvalidOperationException("Ical.Net produced no text.");

    /// <summary>The METHOD value.</summary>
    public static string MethodName(ItipMethod method) => method switch
    {
        ItipMethod.Request => "REQUEST",
        ItipMethod.Cancel => "CANCEL",
        ItipMethod.Publish => "PUBLISH",
        _ => throw new ArgumentOutOfRangeException(nameof(method), method, "Unknown method."),
    };

    /// <summary>
    /// Local Brussels time with its TZID, except when that local time is ambiguous (the repeated hour of the autumn
    /// change): then UTC, since parsers disagree on which of the two instants a local time names (RFC 5545 says the
    /// first; ical.js takes the second).
    /// </summary>
    private static CalDateTime Local(Instant instant)
    {
        var local = instant.InZone(SlotSearch.Brussels).LocalDateTime;
        if (SlotSearch.Brussels.MapLocal(local).Count != 1)
        {
            return new CalDateTime(instant.ToDateTimeUtc(), CalDateTime.UtcTzId);
        }

        return new CalDateTime(local.Year, local.Month, local.Day, local.Hour, local.Minute, local.Second, TimeZoneId);
    }
}

/// <summary>The neutral texts of invitations: organising service, date, place, case reference — nothing else.</summary>
internal static class Texts
{
    private static readonly System.Globalization.CultureInfo Invariant = System.Globalization.CultureInfo.InvariantCulture;

    public static string Title(Interview interview) => $"Entretien – {interview.Organiser.ServiceName} – réf. {interview.CaseReference}";

    public static string When(Interview interview)
    {
        var start = interview.Start.InZone(SlotSearch.Brussels).LocalDateTime;
        var end = interview.End.InZone(SlotSearch.Brussels).LocalDateTime;
        return string.Create(Invariant, $"{start:dd/MM/yyyy} {start:HH:mm}–{end:HH:mm} (heure de Bruxelles)");
    }

    public static string Subject(Interview interview, ItipMethod method)
    {
        var prefix = method switch
        {
            ItipMethod.Cancel => "Annulé",
            _ when interview.Sequence > 0 => "Modifié",
            _ => "Invitation",
        };
        var start = interview.Start.InZone(SlotSearch.Brussels).LocalDateTime;
        return string.Create(Invariant, $"{prefix} : entretien du {start:dd/MM/yyyy HH:mm} – {interview.Organiser.ServiceName} – réf. {interview.CaseReference}");
    }

    public static string PlainBody(Interview interview, ItipMethod method)
    {
        var head = method == ItipMethod.Cancel
            ? "L'entretien suivant est annulé."
            : interview.Sequence > 0 ? "L'entretien suivant a été modifié." : "Vous êtes invité(e) à un entretien.";
        return $"{head}\n\nService organisateur : {interview.Organiser.ServiceName}\nDate : {When(interview)}\nLieu : {interview.Place.Text}\nRéférence : {interview.CaseReference}\n";
    }

    public static string HtmlBody(Interview interview, ItipMethod method)
    {
        var lines = PlainBody(interview, method).TrimEnd('\n').Split('\n');
        var encoded = lines.Select(l => System.Net.WebUtility.HtmlEncode(l));
        return "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body><p>" + string.Join("<br>", encoded) + "</p></body></html>";
    }
}
