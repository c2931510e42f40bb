using System.Text;
using System.Text.Json;
using Ical.Net;
using Messaging.Scheduling.Interviews;
using Messaging.Scheduling.Invitations;
using Messaging.Scheduling.Tests.Infrastructure;
using MimeKit;
using NodaTime;

namespace Messaging.Scheduling.Tests.Invitations;

public class InvitationTests
{
    private const string Mailbox = "planning@messaging.example";
    private static readonly Instant Stamp = Samples.Utc("2027-03-01T08:00:00Z");
    private static readonly Instant Earlier = Samples.Utc("2027-03-01T07:00:00Z");
    private static readonly string WorkerUid = Samples.Uids.ForAttendee(Samples.Interview().Id, "worker@safer.example");

    [Fact]
    public async Task Request_ParsesBackInIcalNetAndIcalJs_WithEveryItipField()
    {
        var ics = InvitationCalendar.Write(Samples.Interview(), ItipMethod.Request, WorkerUid, Mailbox, Stamp);

        var calendar = Calendar.Load(ics)!;
        var evt = calendar.Events.Single();
        Assert.Equal("REQUEST", calendar.Method);
        Assert.Equal(WorkerUid, evt.Uid);
        Assert.Equal(0, evt.Sequence);
        Assert.Equal(new DateTime(2027, 3, 1, 8, 0, 0), evt.DtStamp!.Value);
        Assert.Equal("mailto:" + Mailbox, evt.Organizer!.Value!.ToString());
        Assert.Equal(
            [("mailto:organiser@caprev.example", "CHAIR", "ACCEPTED", false), ("mailto:worker@safer.example", "REQ-PARTICIPANT", "NEEDS-ACTION", true),
                ("mailto:aj@mj-liege.example", "REQ-PARTICIPANT", "NEEDS-ACTION", true)],
            evt.Attendees.Select(a => (a.Value!.ToString(), a.Role, a.ParticipationStatus, a.Rsvp)));
        Assert.Contains("RSVP=TRUE", ics, StringComparison.Ordinal);

        var js = await IcalJs.ParseAsync(ics);
        Assert.Equal("REQUEST", js.GetProperty("method").GetString());
        var zone = js.GetProperty("zones")[0];
        Assert.Equal("Europe/Brussels", zone.GetProperty("tzid").GetString());
        Assert.True(zone.GetProperty("standard").GetInt32() >= 1 && zone.GetProperty("daylight").GetInt32() >= 1);
        var jsEvent = js.GetProperty("events")[0];
        Assert.Equal(evt.Uid, jsEvent.GetProperty("uid").GetString());
        Assert.Equal(0, jsEvent.GetProperty("sequence").GetInt32());
        Assert.Equal(3, jsEvent.GetProperty("attendees").GetArrayLength());
        Assert.Equal("REQ-PARTICIPANT", jsEvent.GetProperty("attendees")[1].GetProperty("role").GetString());
        Assert.Equal("NEEDS-ACTION", jsEvent.GetProperty("attendees")[1].GetProperty("partstat").GetString());
        Assert.Equal("TRUE", jsEvent.GetProperty("attendees")[1].GetProperty("rsvp").GetString());
    }

    [Theory]
    [InlineData("2027-03-26T09:00:00Z", 60, ";TZID=Europe/Brussels:20270326T100000")] // Friday before the spring change: UTC+1
    [InlineData("2027-03-30T08:00:00Z", 60, ";TZID=Europe/Brussels:20270330T100000")] // Tuesday after: UTC+2
    [InlineData("2027-03-28T00:30:00Z", 120, ";TZID=Europe/Brussels:20270328T013000")] // across the change itself: 01:30 CET to 04:30 CEST
    [InlineData("2027-10-29T08:00:00Z", 60, ";TZID=Europe/Brussels:20271029T100000")] // Friday before the autumn change: UTC+2
    [InlineData("2027-11-02T09:00:00Z", 60, ";TZID=Europe/Brussels:20271102T100000")] // Tuesday after: UTC+1
    [InlineData("2027-10-30T23:30:00Z", 120, ";TZID=Europe/Brussels:20271031T013000")] // across the change: 01:30 CEST to 02:30 CET (that end is ambiguous locally: UTC)
    [InlineData("2027-10-31T00:30:00Z", 120, ":20271031T003000Z")] // 02:30 CEST, ambiguous locally: written in UTC
    public async Task SlotsAroundTheLastSundays_AreRightInUtcAndThroughTheVtimezone(string startUtc, int minutes, string expectedDtStart)
    {
        var start = Samples.Utc(startUtc);
        var interview = Interview.Propose(Guid.NewGuid(), Samples.CaseReference, Samples.Organiser, [Samples.Worker, Participant.ThePerson],
            start, Duration.FromMinutes(minutes), InterviewPlace.ServiceAddress("Rue 1"));
        var ics = InvitationCalendar.Write(interview, ItipMethod.Request, WorkerUid, Mailbox, Stamp);

        Assert.Contains("DTSTART" + expectedDtStart + "\r\n", ics, StringComparison.Ordinal);
        var evt = Calendar.Load(ics)!.Events.Single();
        Assert.Equal(start.ToDateTimeUtc(), evt.DtStart!.AsUtc);
        Assert.Equal((start + Duration.FromMinutes(minutes)).ToDateTimeUtc(), evt.DtEnd!.AsUtc);

        // ical.js computes the instant from the object's own VTIMEZONE rules.
        var js = (await IcalJs.ParseAsync(ics)).GetProperty("events")[0];
        Assert.Equal(start.ToUnixTimeSeconds(), js.GetProperty("startUtc").GetInt64());
        Assert.Equal((start + Duration.FromMinutes(minutes)).ToUnixTimeSeconds(), js.GetProperty("endUtc").GetInt64());
        Assert.Equal(expectedDtStart.EndsWith('Z') ? "UTC" : "Europe/Brussels", js.GetProperty("startTzid").GetString());
    }

    [Fact]
    public async Task Reschedule_KeepsTheUid_AndBumpsTheSequence_ThenCancelSendsCancelWithStatusCancelled()
    {
        var first = Samples.Interview();
        var moved = first.Reschedule(first.Start + Duration.FromDays(4), first.Duration, InterviewPlace.Video(new Uri("https://video.example/room/42")), Earlier);
        var cancelled = moved.Cancel(Earlier);

        var update = Calendar.Load(InvitationCalendar.Write(moved, ItipMethod.Request, WorkerUid, Mailbox, Stamp))!;
        var cancelIcs = InvitationCalendar.Write(cancelled, ItipMethod.Cancel, WorkerUid, Mailbox, Stamp);
        var cancel = Calendar.Load(cancelIcs)!;

        Assert.Equal((WorkerUid, 1), (update.Events.Single().Uid, update.Events.Single().Sequence));
        Assert.Equal("https://video.example/room/42", update.Events.Single().Location);
        Assert.Equal(("CANCEL", "CANCELLED", WorkerUid, 2), (cancel.Method, cancel.Events.Single().Status, cancel.Events.Single().Uid, cancel.Events.Single().Sequence));
        var js = await IcalJs.ParseAsync(cancelIcs);
        Assert.Equal("CANCEL", js.GetProperty("method").GetString());
        Assert.Equal("CANCELLED", js.GetProperty("events")[0].GetProperty("status").GetString());
        Assert.Equal(2, js.GetProperty("events")[0].GetProperty("sequence").GetInt32());
    }

    [Theory]
    [InlineData(ItipMethod.Request)]
    [InlineData(ItipMethod.Cancel)]
    public void Messages_OnePerAttendee_MixedAlternativeLayout_SameMethodInMimeAndBody(ItipMethod method)
    {
        var interview = method == ItipMethod.Cancel ? Samples.Interview().Cancel(Earlier) : Samples.Interview();
        var messages = InvitationMessage.Build(interview, method, new MailboxAddress("Planning", Mailbox), Samples.Uids, Stamp);

        Assert.Equal(["organiser@caprev.example", "worker@safer.example", "aj@mj-liege.example"], messages.Select(m => m.Recipient));
        Assert.Equal(3, messages.Select(m => m.DeliveryId).Distinct().Count());
        foreach (var outgoing in messages)
        {
            // Written and read back as bytes, as a mail server would.
            using var stream = new MemoryStream();
            outgoing.Message.WriteTo(stream);
            stream.Position = 0;
            var message = MimeMessage.Load(stream);

            Assert.Equal(outgoing.Recipient, Assert.Single(message.To.Mailboxes).Address);
            var mixed = Assert.IsType<Multipart>(message.Body);
            Assert.Equal("multipart/mixed", mixed.ContentType.MimeType);
            var alternative = Assert.IsType<MultipartAlternative>(mixed[0]);
            Assert.Equal(["text/plain", "text/html", "text/calendar"], alternative.Select(p => p.ContentType.MimeType));
            Assert.All(alternative, p => Assert.Equal("utf-8", p.ContentType.Charset));
            var calendarPart = (TextPart)alternative[2];
            var name = InvitationCalendar.MethodName(method);
            Assert.Equal(name, calendarPart.ContentType.Parameters["method"]);
            Assert.Equal(name, Calendar.Load(calendarPart.Text)!.Method);
            Assert.Equal(Samples.Uids.ForAttendee(interview.Id, outgoing.Recipient), Calendar.Load(calendarPart.Text)!.Events.Single().Uid);

            var attachment = Assert.IsType<MimePart>(mixed[1]);
            Assert.True(attachment.IsAttachment);
            Assert.Equal("invitation.ics", attachment.FileName);
            using var content = new MemoryStream();
            attachment.Content!.DecodeTo(content);
            Assert.Equal(calendarPart.Text.ReplaceLineEndings("\r\n"), Encoding.UTF8.GetString(content.ToArray()));
            Assert.Equal($"{outgoing.DeliveryId}@messaging.example", message.MessageId);
        }
    }

    [Fact]
    public void SubjectAndBody_SayOnlyServiceDatePlaceAndCaseReference()
    {
        var message = InvitationMessage.Build(Samples.Interview(), ItipMethod.Request, new MailboxAddress("Planning", Mailbox), Samples.Uids, Stamp)[1].Message;

        Assert.Equal("Invitation : entretien du 26/03/2027 10:00 – CAPREV – réf. ABCDEFGHIJKLMNOPQRSTUVWXYA", message.Subject);
        Assert.Equal(
            "Vous êtes invité(e) à un entretien.\n\nService organisateur : CAPREV\nDate : 26/03/2027 10:00–11:00 (heure de Bruxelles)\n"
            + "Lieu : Rue de la Loi 1, 1000 Bruxelles\nRéférence : ABCDEFGHIJKLMNOPQRSTUVWXYA\n",
            message.TextBody);
    }

    [Fact]
    public async Task PersonInvitation_IsAPublishWithoutAttendees_AndAMailtoWithoutRecipient()
    {
        var invitation = PersonInvitation.Create(Samples.Interview(), Samples.Uids.ForPerson(Samples.Interview().Id), Mailbox, Stamp);

        var calendar = Calendar.Load(invitation.Ics)!;
        Assert.Equal("PUBLISH", calendar.Method);
        Assert.Equal(Samples.Uids.ForPerson(Samples.Interview().Id), calendar.Events.Single().Uid);
        Assert.DoesNotContain("44444444444444444444444444444444", invitation.Ics, StringComparison.Ordinal);
        Assert.Empty(calendar.Events.Single().Attendees);
        Assert.DoesNotContain("worker@safer.example", invitation.Ics, StringComparison.Ordinal);
        Assert.StartsWith("mailto:?subject=", invitation.MailTo.OriginalString, StringComparison.Ordinal);
        Assert.Contains("ABCDEFGHIJKLMNOPQRSTUVWXYA", Uri.UnescapeDataString(invitation.MailTo.OriginalString), StringComparison.Ordinal);
        var js = await IcalJs.ParseAsync(invitation.Ics);
        Assert.Equal(JsonValueKind.Array, js.GetProperty("events")[0].GetProperty("attendees").ValueKind);
        Assert.Equal(0, js.GetProperty("events")[0].GetProperty("attendees").GetArrayLength());
    }
}
