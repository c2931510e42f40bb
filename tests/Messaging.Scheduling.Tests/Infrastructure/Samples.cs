using Messaging.Scheduling.Availability;
using Messaging.Scheduling.Interviews;
using Messaging.Scheduling.Invitations;
using NodaTime;
using NodaTime.Text;

namespace Messaging.Scheduling.Tests.Infrastructure;

/// <summary>Interviews, participants and times the tests share (values only: no test depends on another's data).</summary>
internal static class Samples
{
    public const string CaseReference = "ABCDEFGHIJKLMNOPQRSTUVWXYA";

    public static readonly Guid OrganiserId = Guid.Parse("11111111-1111-1111-1111-111111111111");
    public static readonly Guid WorkerId = Guid.Parse("22222222-2222-2222-2222-222222222222");
    public static readonly Guid JusticeAssistantId = Guid.Parse("33333333-3333-3333-3333-333333333333");

    /// <summary>The test key of the invitations' UIDs: bytes 0 to 31 (<c>Replies/make-corpus.py</c> computes the corpus's
    /// UIDs under the same key).</summary>
    public static InvitationUids Uids => new([.. Enumerable.Range(0, InvitationUids.KeyLength).Select(i => (byte)i)]);

    public static Organiser Organiser => Organiser.Create(OrganiserId, "organiser@caprev.example", "CAPREV");

    public static Participant Worker => Participant.Member(ParticipantRole.Worker, WorkerId, "worker@safer.example");

    public static Participant JusticeAssistant => Participant.Member(ParticipantRole.JusticeAssistant, JusticeAssistantId, "aj@mj-liege.example");

    public static Instant At(string localBrussels)
        => LocalDateTimePattern.ExtendedIso.Parse(localBrussels).Value.InZoneStrictly(SlotSearch.Brussels).ToInstant();

    public static Instant Utc(string utc) => InstantPattern.ExtendedIso.Parse(utc).Value;

    public static Interview Interview(Instant? start = null) => Scheduling.Interviews.Interview.Propose(
        Guid.Parse("44444444-4444-4444-4444-444444444444"), CaseReference, Organiser,
        [Worker, JusticeAssistant, Participant.ThePerson], start ?? At("2027-03-26T10:00:00"), Duration.FromHours(1),
        InterviewPlace.ServiceAddress("Rue de la Loi 1, 1000 Bruxelles"));

    public static WorkingHours OfficeHours => WorkingHours.Weekdays(new WorkingPeriod(new LocalTime(9, 0), new LocalTime(12, 0)),
        new WorkingPeriod(new LocalTime(13, 0), new LocalTime(17, 0)));

    public static ParticipantAvailability Person(string label, WorkingHours? hours = null, IReadOnlyList<BusySource>? busy = null,
        IReadOnlyList<Interval>? absences = null, Community community = Community.French)
        => new(label, hours ?? OfficeHours, community, absences ?? [], busy ?? [], []);
}
