using Messaging.Scheduling.Interviews;
using Messaging.Scheduling.Tests.Infrastructure;
using NodaTime;

namespace Messaging.Scheduling.Tests.Interviews;

public class InterviewStateMachineTests
{
    private static readonly Instant Before = Samples.At("2027-03-20T10:00:00");
    private static readonly Instant After = Samples.At("2027-03-27T10:00:00");

    [Theory]
    [InlineData(InterviewStatus.Proposed, InterviewAction.Confirm, InterviewStatus.Confirmed)]
    [InlineData(InterviewStatus.Proposed, InterviewAction.Reschedule, InterviewStatus.Rescheduled)]
    [InlineData(InterviewStatus.Confirmed, InterviewAction.Reschedule, InterviewStatus.Rescheduled)]
    [InlineData(InterviewStatus.Rescheduled, InterviewAction.Confirm, InterviewStatus.Confirmed)]
    [InlineData(InterviewStatus.Rescheduled, InterviewAction.Reschedule, InterviewStatus.Rescheduled)]
    [InlineData(InterviewStatus.Confirmed, InterviewAction.Cancel, InterviewStatus.Cancelled)]
    [InlineData(InterviewStatus.Proposed, InterviewAction.RecordHeld, InterviewStatus.Held)]
    [InlineData(InterviewStatus.Confirmed, InterviewAction.RecordNotHeld, InterviewStatus.NotHeld)]
    public void Next_ForEachDocumentedEdge_GivesTheDocumentedStatus(InterviewStatus from, InterviewAction action, InterviewStatus to)
        => Assert.Equal(to, InterviewStateMachine.Next(from, action));

    [Fact]
    public void Next_FromEveryFinalStatus_AllowsNothing()
    {
        foreach (var status in Enum.GetValues<InterviewStatus>().Where(InterviewStateMachine.IsFinal))
        {
            foreach (var action in Enum.GetValues<InterviewAction>())
            {
                Assert.Null(InterviewStateMachine.Next(status, action));
            }
        }
    }

    [Fact]
    public void Confirm_AnAlreadyConfirmedInterview_IsRefusedAsNotFromThisStatus()
    {
        var e = Assert.Throws<InterviewTransitionRefusedException>(() => InterviewStateMachine.Apply(
            InterviewStatus.Confirmed, InterviewAction.Confirm, InterviewActor.System, After, Before));
        Assert.Equal(InterviewRefusal.NotFromThisStatus, e.Reason);
    }

    [Fact]
    public void RecordOutcome_BeforeTheStart_IsRefusedAsNotStartedYet()
    {
        var interview = Samples.Interview();
        var e = Assert.Throws<InterviewTransitionRefusedException>(() => interview.RecordOutcome(held: true, Before));
        Assert.Equal(InterviewRefusal.NotStartedYet, e.Reason);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(60 * 24 * 7)]
    public void Cancel_AtOrAfterTheStart_IsRefusedAsAlreadyStarted_FromEveryLiveStatus(int minutesAfterStart)
    {
        var interview = Samples.Interview();
        var confirmed = interview.Confirm(Before);
        var rescheduled = interview.Reschedule(interview.Start, interview.Duration + Duration.FromMinutes(15), interview.Place, Before);
        var now = interview.Start + Duration.FromMinutes(minutesAfterStart);
        foreach (var live in new[] { interview, confirmed, rescheduled })
        {
            var e = Assert.Throws<InterviewTransitionRefusedException>(() => live.Cancel(now));
            Assert.Equal(InterviewRefusal.AlreadyStarted, e.Reason);

            // What happened is recorded as an outcome instead.
            Assert.Equal(InterviewStatus.NotHeld, live.RecordOutcome(held: false, now).Status);
        }
    }

    [Fact]
    public void Cancel_OneTickBeforeTheStart_IsAllowed()
    {
        var interview = Samples.Interview();
        Assert.Equal(InterviewStatus.Cancelled, interview.Cancel(interview.Start - Duration.Epsilon).Status);
    }

    [Fact]
    public void Confirm_ByTheOrganiser_IsRefusedAsNotYourAction()
    {
        var e = Assert.Throws<InterviewTransitionRefusedException>(() => InterviewStateMachine.Apply(
            InterviewStatus.Proposed, InterviewAction.Confirm, InterviewActor.Organiser, After, Before));
        Assert.Equal(InterviewRefusal.NotYourAction, e.Reason);
    }

    [Fact]
    public void Reschedule_ThenCancel_BumpsTheSequenceEachTime_AndCancelledIsFinal()
    {
        var interview = Samples.Interview();
        var moved = interview.Reschedule(interview.Start + Duration.FromDays(1), interview.Duration, interview.Place, Before);
        var cancelled = moved.Cancel(Before);

        Assert.Equal((0, 1, 2), (interview.Sequence, moved.Sequence, cancelled.Sequence));
        Assert.Equal(InterviewStatus.Rescheduled, moved.Status);
        Assert.Equal(interview.Id, cancelled.Id);
        var e = Assert.Throws<InterviewTransitionRefusedException>(() => cancelled.Cancel(Before));
        Assert.Equal(InterviewRefusal.AlreadyFinal, e.Reason);
    }

    [Fact]
    public void Reschedule_WithNothingChanged_IsRefused()
    {
        var interview = Samples.Interview();
        var e = Assert.Throws<InterviewInvalidException>(() => interview.Reschedule(interview.Start, interview.Duration, interview.Place, Before));
        Assert.Equal(InterviewProblem.NothingChanged, e.Problem);
    }

    [Fact]
    public void Propose_WithOneOrFiveParticipants_IsRefused()
    {
        var one = Assert.Throws<InterviewInvalidException>(() => Interview.Propose(Guid.NewGuid(), Samples.CaseReference, Samples.Organiser,
            [Samples.Worker], Before, Duration.FromHours(1), InterviewPlace.ServiceAddress("Rue 1")));
        var five = Assert.Throws<InterviewInvalidException>(() => Interview.Propose(Guid.NewGuid(), Samples.CaseReference, Samples.Organiser,
            [Samples.Worker, Samples.JusticeAssistant, Participant.ThePerson,
                Participant.Member(ParticipantRole.Worker, Guid.NewGuid(), "a@b.example"),
                Participant.Member(ParticipantRole.Worker, Guid.NewGuid(), "c@d.example")],
            Before, Duration.FromHours(1), InterviewPlace.ServiceAddress("Rue 1")));
        Assert.Equal(InterviewProblem.ParticipantCount, one.Problem);
        Assert.Equal(InterviewProblem.ParticipantCount, five.Problem);
    }

    [Theory]
    [InlineData("not-a-case-reference")]
    [InlineData("abcdefghijklmnopqrstuvwxya")]
    public void Propose_WithAMalformedCaseReference_IsRefused(string caseReference)
    {
        var e = Assert.Throws<InterviewInvalidException>(() => Interview.Propose(Guid.NewGuid(), caseReference, Samples.Organiser,
            [Samples.Worker, Participant.ThePerson], Before, Duration.FromHours(1), InterviewPlace.ServiceAddress("Rue 1")));
        Assert.Equal(InterviewProblem.BadCaseReference, e.Problem);
    }

    [Fact]
    public void Propose_TheOrganiserAsAParticipant_IsRefused()
    {
        var e = Assert.Throws<InterviewInvalidException>(() => Interview.Propose(Guid.NewGuid(), Samples.CaseReference, Samples.Organiser,
            [Participant.Member(ParticipantRole.Worker, Samples.OrganiserId, "other@caprev.example"), Participant.ThePerson],
            Before, Duration.FromHours(1), InterviewPlace.ServiceAddress("Rue 1")));
        Assert.Equal(InterviewProblem.BadParticipant, e.Problem);
    }

    [Fact]
    public void TheOrganisingServicesName_IsTakenUpTo200Characters_AndRefusedBeyond()
    {
        var longest = "Service d'aide à la jeunesse de la Fédération Wallonie-Bruxelles ".PadRight(Organiser.MaxServiceNameLength, 'x');
        Assert.Equal(200, longest.Length);

        Assert.Equal(longest, Organiser.Create(Samples.OrganiserId, "organiser@caprev.example", longest).ServiceName);
        var e = Assert.Throws<InterviewInvalidException>(() => Organiser.Create(Samples.OrganiserId, "organiser@caprev.example", longest + "x"));
        Assert.Equal(InterviewProblem.BadParticipant, e.Problem);
    }

    [Fact]
    public void ThePerson_HasNoMemberIdAndNoAddress()
    {
        Assert.Null(Participant.ThePerson.MemberId);
        Assert.Null(Participant.ThePerson.WorkEmail);
        Assert.DoesNotContain(Samples.Interview().EmailedParticipants, p => p.Role == ParticipantRole.Person);
    }

    [Fact]
    public void VideoPlace_OverPlainHttp_IsRefused()
    {
        var e = Assert.Throws<InterviewInvalidException>(() => InterviewPlace.Video(new Uri("http://video.example/room")));
        Assert.Equal(InterviewProblem.BadPlace, e.Problem);
    }
}
