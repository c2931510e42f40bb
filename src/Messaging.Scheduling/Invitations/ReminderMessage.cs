using System.Security.Cryptography;
using System.Text;
using Messaging.Scheduling.Interviews;
using MimeKit;
using NodaTime;

namespace Messaging.Scheduling.Invitations;

/// <summary>
/// A reminder of an interview (the day before, an hour before): a plain neutral email to the organising worker and
/// every emailed participant — the organising service, date, place and case reference, nothing else, and no calendar
/// object (the invitation already carried it). The delivery id is derived from (interview, sequence, reminder lead,
/// recipient): a retried or re-derived reminder job builds the same id and the sender's ledger sends it once; a
/// reschedule raises the sequence, so the moved interview gets its own reminders.
/// </summary>
public static class ReminderMessage
{
    /// <summary>The reminder messages of <paramref name="interview"/> for the reminder <paramref name="lead"/> before its
    /// start.</summary>
    public static IReadOnlyList<OutgoingInvitation> Build(Interview interview, Duration lead, MailboxAddress schedulingMailbox, Instant stamp)
    {
        ArgumentNullException.ThrowIfNull(interview);
        ArgumentNullException.ThrowIfNull(schedulingMailbox);
        var recipients = interview.EmailedParticipants.Select(p => p.WorkEmail!).Prepend(interview.Organiser.WorkEmail);
        return [.. recipients.Select(r => Single(interview, lead, schedulingMailbox, r, stamp))];
    }

    /// <summary>The delivery id of one reminder: stable across retries and restarts.</summary>
    public static string DeliveryId(Interview interview, Duration lead, string recipient)
    {
        ArgumentNullException.ThrowIfNull(interview);
        ArgumentNullException.ThrowIfNull(recipient);
        var input = string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{interview.Id:N}|{interview.Sequence}|REMINDER-{(long)lead.TotalMinutes}|{recipient.ToLowerInvariant()}");
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(input)))[..32];
    }

    private static OutgoingInvitation Single(Interview interview, Duration lead, MailboxAddress from, string recipient, Instant stamp)
    {
        var deliveryId = DeliveryId(interview, lead, recipient);
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress(interview.Organiser.ServiceName, from.Address));
        message.To.Add(MailboxAddress.Parse(recipient));
        message.Subject = "Rappel : " + Texts.Title(interview) + " – " + Texts.When(interview);
        message.MessageId = $"{deliveryId}@{from.Domain}";
        message.Date = stamp.ToDateTimeOffset();
        message.Headers.Add("X-Messaging-Delivery-Id", deliveryId);
        var body = $"Rappel de l'entretien suivant.\n\nService organisateur : {interview.Organiser.ServiceName}\nDate : {Texts.When(interview)}\nLieu : {interview.Place.Text}\nRéférence : {interview.CaseReference}\n";
        message.Body = new TextPart("plain") { Text = body, ContentTransferEncoding = ContentEncoding.QuotedPrintable };
        ((TextPart)message.Body).ContentType.Charset = "utf-8";
        return new OutgoingInvitation(deliveryId, recipient, message);
    }
}
