using System.Text.RegularExpressions;
using Ical.Net;
using Messaging.Scheduling.Interviews;
using Messaging.Scheduling.Invitations;
using Messaging.Scheduling.Tests.Infrastructure;
using MimeKit;
using NodaTime;

namespace Messaging.Scheduling.Tests.Invitations;

/// <summary>The keyed UIDs that authenticate iMIP replies (review 2026-11-29, finding 1).</summary>
public class InvitationUidsTests
{
    private static readonly Interview Current = Samples.Interview();
    private static readonly Instant Earlier = Samples.Utc("2027-03-01T07:00:00Z");
    private static readonly MailboxAddress Mailbox = new("Planning", "planning@messaging.example");

    [Fact]
    public void Uids_MatchTheKnownAnswers_OfTheCorpusScript()
    {
        // Computed independently by Replies/make-corpus.py (Python's hmac) under the same test key.
        Assert.Equal("44444444444444444444444444444444.b1c1a846ac866d8578007807a46a62efb9fe3108@interviews.messaging",
            Samples.Uids.ForAttendee(Current.Id, "worker@safer.example"));
        Assert.Equal("44444444444444444444444444444444.45541d83a757fc18bba90154f52202d6e35620f3@interviews.messaging",
            Samples.Uids.ForAttendee(Current.Id, "aj@mj-liege.example"));
        Assert.Equal("84145d4a7f5252b8720b3d309b231f6c8011f57b@interviews.messaging", Samples.Uids.ForPerson(Current.Id));
    }

    [Fact]
    public void AnAttendeesUid_NamesTheInterview_AndCarriesA160BitToken_BoundToTheAttendee()
    {
        var uid = Samples.Uids.ForAttendee(Current.Id, "worker@safer.example");

        Assert.Matches(new Regex("^[0-9a-f]{32}\\.[0-9a-f]{40}@interviews\\.messaging$"), uid);
        Assert.Equal(new InvitationUid(InvitationUidShape.Attendee, Current.Id), InvitationUids.Read(uid));
        Assert.Equal(uid, Samples.Uids.ForAttendee(Current.Id, " Worker@SAFER.example "));                   // the normalised address
        Assert.NotEqual(uid, Samples.Uids.ForAttendee(Current.Id, "aj@mj-liege.example"));                     // another attendee
        Assert.NotEqual(uid[33..], Samples.Uids.ForAttendee(Guid.NewGuid(), "worker@safer.example")[33..]);   // another interview
        Assert.NotEqual(uid, new InvitationUids(InvitationUids.NewKey()).ForAttendee(Current.Id, "worker@safer.example")); // another key
    }

    [Fact]
    public void EveryRecipient_KeepsOneUidOfTheirOwn_AcrossTheRequestItsUpdateAndTheCancel()
    {
        var moved = Current.Reschedule(Current.Start + Duration.FromDays(2), Current.Duration, Current.Place, Earlier);
        var cancelled = moved.Cancel(Earlier);

        var versions = new[]
        {
            InvitationMessage.Build(Current, ItipMethod.Request, Mailbox, Samples.Uids, Earlier),
            InvitationMessage.Build(moved, ItipMethod.Request, Mailbox, Samples.Uids, Earlier),
            InvitationMessage.Build(cancelled, ItipMethod.Cancel, Mailbox, Samples.Uids, Earlier),
        };
        var uids = versions.Select(v => v.Select(m => (m.Recipient, Uid: Uid(m))).ToList()).ToList();

        Assert.Equal(["organiser@caprev.example", "worker@safer.example", "aj@mj-liege.example"], uids[0].Select(u => u.Recipient));
        Assert.All(uids, u => Assert.Equal(uids[0], u));                  // stable across versions: the client updates its event
        Assert.Equal(3, uids[0].Select(u => u.Uid).Distinct().Count());  // one per recipient, the organiser's included
        Assert.All(uids[0], u => Assert.Equal(Samples.Uids.ForAttendee(Current.Id, u.Recipient), u.Uid));
        Assert.Equal([0, 1, 2], versions.Select(v => Calendar.Load(CalendarText(v[1]))!.Events.Single().Sequence));
    }

    [Fact]
    public void ThePersonsUid_NamesNoInterview_AndGivesNoAttendeesUidAway()
    {
        var person = Samples.Uids.ForPerson(Current.Id);

        Assert.Equal(person, Samples.Uids.ForPerson(Current.Id));       // stable: updates of the person's copy replace it
        Assert.DoesNotContain(Current.Id.ToString("N"), person, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(Current.Id.ToString("D"), person, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(InvitationUidShape.Foreign, InvitationUids.Read(person).Shape);
        Assert.NotEqual(person, new InvitationUids(InvitationUids.NewKey()).ForPerson(Current.Id));
        foreach (var attendee in new[] { "organiser@caprev.example", "worker@safer.example", "aj@mj-liege.example" })
        {
            var uid = Samples.Uids.ForAttendee(Current.Id, attendee);
            Assert.DoesNotContain(person[..40], uid, StringComparison.Ordinal);
            Assert.False(Samples.Uids.Authenticates(person, Current.Id, attendee));
        }
    }

    [Fact]
    public void Authenticates_OnlyTheAttendeesOwnUid()
    {
        var worker = Samples.Uids.ForAttendee(Current.Id, "worker@safer.example");
        var flipped = worker[..33] + (worker[33] == '0' ? '1' : '0') + worker[34..];

        Assert.True(Samples.Uids.Authenticates(worker, Current.Id, "worker@safer.example"));
        Assert.False(Samples.Uids.Authenticates(worker, Current.Id, "aj@mj-liege.example"));             // another invitee's copy
        Assert.False(Samples.Uids.Authenticates(worker, Guid.NewGuid(), "worker@safer.example"));       // another interview
        Assert.False(Samples.Uids.Authenticates(flipped, Current.Id, "worker@safer.example"));          // a guessed token
        Assert.False(Samples.Uids.Authenticates($"{Current.Id:N}@interviews.messaging", Current.Id, "worker@safer.example")); // legacy
        Assert.False(Samples.Uids.Authenticates(worker + "\n", Current.Id, "worker@safer.example"));
        Assert.False(Samples.Uids.Authenticates(null, Current.Id, "worker@safer.example"));
        Assert.False(new InvitationUids(InvitationUids.NewKey()).Authenticates(worker, Current.Id, "worker@safer.example")); // another key
        Assert.Equal(new InvitationUid(InvitationUidShape.Legacy, Current.Id), InvitationUids.Read($"{Current.Id:N}@interviews.messaging"));
        Assert.Equal(InvitationUidShape.Foreign, InvitationUids.Read("040000008200E00074C5B7101A82E008@outlook.example").Shape);
    }

    [Fact]
    public void TheKey_HasItsFullLength_AndNeverPrints()
    {
        Assert.Throws<ArgumentException>(() => new InvitationUids(new byte[16]));
        Assert.Equal(InvitationUids.KeyLength, InvitationUids.NewKey().Length);
        Assert.DoesNotContain("000102", Samples.Uids.ToString(), StringComparison.Ordinal);
    }

    private static string CalendarText(OutgoingInvitation invitation)
        => invitation.Message.BodyParts.OfType<TextPart>().Single(p => p.ContentType.MimeType == "text/calendar").Text;

    private static string Uid(OutgoingInvitation invitation) => Calendar.Load(CalendarText(invitation))!.Events.Single().Uid!;
}
