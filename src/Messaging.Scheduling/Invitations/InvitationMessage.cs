using System.Security.Cryptography;
using System.Text;
using Messaging.Scheduling.Interviews;
using MimeKit;
using NodaTime;

namespace Messaging.Scheduling.Invitations;

/// <summary>One email to one attendee, with the delivery id that makes its sending idempotent.</summary>
public sealed record OutgoingInvitation(string DeliveryId, string Recipient, MimeMessage Message);

/// <summary>
/// iMIP messages (RFC 6047): one per attendee, laid out as Outlook, Gmail and Apple Mail all read them —
/// <code>
/// multipart/mixed
///   multipart/alternative
///     text/plain; charset=utf-8
///     text/html; charset=utf-8
///     text/calendar; method=REQUEST|CANCEL; charset=utf-8   (the same METHOD as inside)
///   application/ics; name=invitation.ics   (attachment, the same object)
/// </code>
/// Each recipient's calendar object carries that recipient's own UID (<see cref="InvitationUids.ForAttendee"/>), so a
/// reply proves which copy it answers. The delivery id is derived from (interview, sequence, method, recipient): a
/// retried job builds the same id, and the sender's ledger refuses to send it twice. The Message-ID is derived from it too.
/// </summary>
public static class InvitationMessage
{
    /// <summary>The messages of a REQUEST (new or updated interview) or a CANCEL: the organising worker and every
    /// emailed participant, each alone in To, each with their own UID under <paramref name="uids"/>.</summary>
    public static IReadOnlyList<OutgoingInvitation> Build(Interview interview, ItipMethod method, MailboxAddress schedulingMailbox, InvitationUids uids, Instant stamp)
    {
        ArgumentNullException.ThrowIfNull(interview);
        ArgumentNullException.ThrowIfNull(schedulingMailbox);
        ArgumentNullException.ThrowIfNull(uids);
        if (method == ItipMethod.Publish)
        {
            throw new ArgumentException("PUBLISH is for the person's copy, made on the organiser's device.", nameof(method));
        }

        var recipients = interview.EmailedParticipants.Select(p => p.WorkEmail!).Prepend(interview.Organiser.WorkEmail);
        return [.. recipients.Select(r => Single(interview, method, schedulingMailbox, r,
            InvitationCalendar.Write(interview, method, uids.ForAttendee(interview.Id, r), schedulingMailbox.Address, stamp), stamp))];
    }

    /// <summary>The delivery id of one message: stable across retries of the same send.</summary>
    public static string DeliveryId(Interview interview, ItipMethod method, string recipient)
    {
        ArgumentNullException.ThrowIfNull(interview);
        var input = $"{interview.Id:N}|{interview.Sequence}|{InvitationCalendar.MethodName(method)}|{recipient.ToLowerInvariant()}";
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(input)))[..32];
    }

    private static OutgoingInvitation Single(Interview interview, ItipMethod method, MailboxAddress from, string recipient, string ics, Instant stamp)
    {
        var deliveryId = DeliveryId(interview, method, recipient);
        var methodName = InvitationCalendar.MethodName(method);
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress(interview.Organiser.ServiceName, from.Address));
        message.To.Add(MailboxAddress.Parse(recipient));
        message.Subject = Texts.Subject(interview, method);
        message.MessageId = $"{deliveryId}@{from.Domain}";
        message.Date = stamp.ToDateTimeOffset();
        message.Headers.Add("X-Messaging-Delivery-Id", deliveryId);

        var alternative = new MultipartAlternative
        {
            new TextPart("plain") { Text = Texts.PlainBody(interview, method) },
            new TextPart("html") { Text = Texts.HtmlBody(interview, method) },
            Calendar(ics, methodName, attachment: false),
        };
        foreach (var part in alternative.OfType<TextPart>())
        {
            part.ContentType.Charset = "utf-8";
            part.ContentTransferEncoding = ContentEncoding.QuotedPrintable;
        }

        message.Body = new Multipart("mixed") { alternative, Calendar(ics, methodName, attachment: true) };
        return new OutgoingInvitation(deliveryId, recipient, message);
    }

    private static MimePart Calendar(string ics, string method, bool attachment)
    {
        var part = attachment
            ? new MimePart("application", "ics")
            {
                Content = new MimeContent(new MemoryStream(Encoding.UTF8.GetBytes(ics))),
                ContentDisposition = new ContentDisposition(ContentDisposition.Attachment) { FileName = "invitation.ics" },
                ContentTransferEncoding = ContentEncoding.Base64,
            }
            : new TextPart("calendar") { Text = ics, ContentTransferEncoding = ContentEncoding.QuotedPrintable };
        part.ContentType.Charset = "utf-8";
        if (attachment)
        {
            part.ContentType.Name = "invitation.ics";
        }
        else
        {
            part.ContentType.Parameters.Add("method", method);
        }

        return part;
    }
}
