using System.Runtime.CompilerServices;
using Hangfire;
using Hangfire.Common;
using Hangfire.States;
using Ical.Net;
using Messaging.Contracts;
using Messaging.Scheduling.Invitations;
using Messaging.Scheduling.Tests.Infrastructure;
using Messaging.Server.Features.Interviews;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;

namespace Messaging.Server.Tests.Interviews;

/// <summary>Issue 13 end to end on the real server and the loopback aiosmtpd: invitations, updates and cancellations
/// by email with the UID/SEQUENCE rules, answers from the client, authorisation, and exactly-once delivery.</summary>
public abstract class InterviewFlowTests(StorageProvider storage)
{
    [Fact]
    public async Task AnInvitation_ReachesEveryMemberByEmail_AsAnIcalRequestThatParsesBack()
    {
        await using var world = await InterviewWorld.CreateAsync(InterviewWorld.SmtpSettings(), storage: storage);
        var entry = await world.ProposeAsync(world.StartIn(3));

        Assert.Equal(InterviewState.Proposed, entry.State);
        Assert.Equal(0, entry.Sequence);
        var uids = await world.UidsAsync();
        foreach (var address in world.Addresses)
        {
            await world.WaitAsync(() => TestServices.Received(address).Length == 1, $"the invitation to {address}");
            var calendar = AssertCalendarPart(InterviewWorld.SmtpMessages(address).Single(), "REQUEST");
            var evt = calendar.Events.Single();
            Assert.Equal(uids.ForAttendee(entry.InterviewId, address), evt.Uid); // each address its own UID, with its token
            Assert.Equal(0, evt.Sequence);
            Assert.Equal("mailto:" + entry.SchedulingMailbox, evt.Organizer!.Value!.ToString());
            Assert.Equal(entry.Start.UtcDateTime, evt.Start!.AsUtc);
        }

        // Three distinct UIDs, none the person's (which names no interview); the person has no address on the server:
        // three emails, no fourth.
        Assert.Equal(4, world.Addresses.Select(a => uids.ForAttendee(entry.InterviewId, a)).Append(entry.PersonUid).Distinct().Count());
        Assert.Equal((uids.ForPerson(entry.InterviewId), InvitationUidShape.Foreign), (entry.PersonUid, InvitationUids.Read(entry.PersonUid).Shape));
        Assert.DoesNotContain(entry.InterviewId.ToString("N"), entry.PersonUid, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(3, entry.Participants.Count);
        Assert.Null(entry.Participants.Single(p => p.Role == InterviewParticipantRole.Person).WorkEmail);
        await world.WaitAsync(() => world.ReadAsync(entry.InterviewId).Result.Participants.Where(p => p.MemberId is not null)
            .All(p => p.Delivery == InterviewDeliveryState.Sent), "the deliveries recorded as sent");
    }

    [Fact]
    public void EveryOrganisationName_TheServerTakes_IsAServiceNameAnInterviewTakes()
        => Assert.Equal(Messaging.Server.Text.MaxNameLength, Messaging.Scheduling.Interviews.Organiser.MaxServiceNameLength);

    [Fact]
    public async Task AServiceWithTheLongestNameAllowed_ProposesAnInterview_AndItsInvitationsNameIt()
    {
        // Review 2026-11-29, sched finding 12: names of 121–200 characters used to be refused as interview.invalid.
        var name = "Service d'aide à la jeunesse de la Fédération Wallonie-Bruxelles, section prévention ".PadRight(Messaging.Server.Text.MaxNameLength, 'z');
        await using var world = await InterviewWorld.CreateAsync(InterviewWorld.SmtpSettings(), storage: storage, organiserServiceName: name);
        var entry = await world.ProposeAsync(world.StartIn(3));

        Assert.Equal((InterviewState.Proposed, name), (entry.State, entry.ServiceName));
        await world.WaitAsync(() => TestServices.Received(world.WorkerBEmail).Length == 1, "the invitation");
        var message = InterviewWorld.SmtpMessages(world.WorkerBEmail).Single();
        Assert.Equal(name, AssertCalendarPart(message, "REQUEST").Events.Single().Organizer!.CommonName);
        Assert.Contains(name, message.Subject, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARescheduleResendsTheSameUidWithSequenceOne_AndACancelSendsCancelWithSequenceTwo()
    {
        await using var world = await InterviewWorld.CreateAsync(InterviewWorld.SmtpSettings(), storage: storage);
        var entry = await world.ProposeAsync(world.StartIn(3));
        await world.WaitAsync(() => TestServices.Received(world.WorkerBEmail).Length == 1, "the first invitation");

        var moved = await world.RescheduleAsync(entry.InterviewId, world.StartIn(4, 13));
        Assert.Equal((InterviewState.Rescheduled, 1, entry.PersonUid), (moved.State, moved.Sequence, moved.PersonUid));
        await world.WaitAsync(() => TestServices.Received(world.WorkerBEmail).Length == 2, "the update");

        var cancelled = await world.CancelAsync(entry.InterviewId);
        Assert.Equal((InterviewState.Cancelled, 2), (cancelled.State, cancelled.Sequence));
        var uids = await world.UidsAsync();
        foreach (var address in world.Addresses)
        {
            var uid = uids.ForAttendee(entry.InterviewId, address); // the same for the request, its update and its cancel
            await world.WaitAsync(() => TestServices.Received(address).Length == 3, $"the cancellation to {address}");
            var messages = InterviewWorld.SmtpMessages(address);
            var update = AssertCalendarPart(messages.Single(m => (m.Subject ?? string.Empty).StartsWith("Modifié", StringComparison.Ordinal)), "REQUEST").Events.Single();
            Assert.Equal((uid, 1), (update.Uid, update.Sequence));
            Assert.Equal(moved.Start.UtcDateTime, update.Start!.AsUtc);
            var cancel = AssertCalendarPart(messages.Single(m => (m.Subject ?? string.Empty).StartsWith("Annulé", StringComparison.Ordinal)), "CANCEL").Events.Single();
            Assert.Equal((uid, 2, "CANCELLED"), (cancel.Uid, cancel.Sequence, cancel.Status));
            var request = AssertCalendarPart(messages.Single(m => (m.Subject ?? string.Empty).StartsWith("Invitation", StringComparison.Ordinal)), "REQUEST");
            Assert.Equal(uid, request.Events.Single().Uid);
        }

        await Refusal.AssertHubAsync(ErrorCodes.InterviewTransitionRefused, () => world.RescheduleAsync(entry.InterviewId, world.StartIn(5)));
    }

    [Fact]
    public async Task ACancelWhoseJobIsLostInARestart_IsSentAfterTheRestart_ExactlyOnce()
    {
        var losing = new StrongBox<bool>(false);
        await using var world = await InterviewWorld.CreateAsync(configureServices: s => LoseCancelJobs(s, losing), storage: storage);
        var entry = await world.ProposeAsync(world.StartIn(3));
        await world.WaitAsync(() => world.ReadAsync(entry.InterviewId).Result is var i && i.OrganiserDelivery == InterviewDeliveryState.Sent
            && i.Participants.Where(p => p.MemberId is not null).All(p => p.Delivery == InterviewDeliveryState.Sent), "the invitations recorded as sent");

        // The cancel commits, then the process stops before its mail job records anything (the embedded mode's job is
        // in memory): the job is lost. The cancel itself sets every delivery back to pending.
        losing.Value = true;
        var cancelled = await world.CancelAsync(entry.InterviewId);
        Assert.Equal(InterviewDeliveryState.Pending, cancelled.OrganiserDelivery);
        Assert.All(cancelled.Participants.Where(p => p.MemberId is not null), p => Assert.Equal(InterviewDeliveryState.Pending, p.Delivery));
        await world.App.RunDueJobsAsync();
        Assert.Empty(Cancels(world));

        // At the next start the CANCEL is re-derived from the deliveries still pending, and goes to each address once.
        losing.Value = false;
        await world.RestartAsync();
        await world.WaitAsync(() => Cancels(world).Count == 3, "the CANCEL sent after the restart");
        Assert.Equal(world.Addresses.Order(StringComparer.Ordinal), Cancels(world).SelectMany(m => m.To.Mailboxes.Select(b => b.Address)).Order(StringComparer.Ordinal));
        var uids = await world.UidsAsync();
        Assert.All(Cancels(world), m =>
        {
            var cancel = AssertCalendarPart(m, "CANCEL").Events.Single();
            Assert.Equal((uids.ForAttendee(entry.InterviewId, m.To.Mailboxes.Single().Address), 1), (cancel.Uid, cancel.Sequence));
        });
        await world.WaitAsync(() => world.ReadAsync(entry.InterviewId).Result is var i && i.OrganiserDelivery == InterviewDeliveryState.Sent
            && i.Participants.Where(p => p.MemberId is not null).All(p => p.Delivery == InterviewDeliveryState.Sent), "the CANCEL recorded as sent");

        // Nothing is pending any more: another restart derives nothing, and a second run of the job sends nothing (the
        // delivery ids are those of the messages already out).
        await world.RestartAsync();
        await world.App.RunDueJobsAsync();
        Assert.Equal(0, await world.App.Services.GetRequiredService<InterviewMailJob>().SendAsync(entry.InterviewId, 1, true, CancellationToken.None));
        Assert.Equal(3, Cancels(world).Count);
    }

    private static List<MimeMessage> Cancels(InterviewWorld world)
        => [.. world.PickupMessages().Where(m => (m.Subject ?? string.Empty).StartsWith("Annulé", StringComparison.Ordinal))];

    /// <summary>Drops the CANCEL's mail job while <paramref name="losing"/> holds, as a process that stops between the
    /// cancel's commit and its job would lose it.</summary>
    private static void LoseCancelJobs(IServiceCollection services, StrongBox<bool> losing)
    {
        var original = services.Last(d => d.ServiceType == typeof(IBackgroundJobClient));
        services.Remove(original);
        services.AddSingleton<IBackgroundJobClient>(sp => new LosingCancelJobs(
            (IBackgroundJobClient)(original.ImplementationFactory?.Invoke(sp) ?? original.ImplementationInstance
                ?? ActivatorUtilities.CreateInstance(sp, original.ImplementationType!)), losing));
    }

    private sealed class LosingCancelJobs(IBackgroundJobClient inner, StrongBox<bool> losing) : IBackgroundJobClient
    {
        public string Create(Job job, IState state)
            => losing.Value && job.Type == typeof(InterviewMailJob) && job.Args[2] is true ? "lost" : inner.Create(job, state);

        public bool ChangeState(string jobId, IState state, string expectedState) => inner.ChangeState(jobId, state, expectedState);
    }

    [Fact]
    public async Task AnswersFromTheClient_ConfirmTheInterview_OnceEveryInvitedMemberAccepted()
    {
        await using var world = await InterviewWorld.CreateAsync(storage: storage);
        var entry = await world.ProposeAsync(world.StartIn(3));

        var counter = world.StartIn(5, 14);
        var answered = await InterviewWorld.AnswerAsync(world.WorkerB, entry.InterviewId, InterviewAnswer.ProposedAnotherTime, counter);
        var b = answered.Participants.Single(p => p.MemberId == world.WorkerB.Device.Member.Id);
        Assert.Equal((InterviewAnswer.ProposedAnotherTime, counter), (b.Answer, b.ProposedStart));
        Assert.Equal(InterviewState.Proposed, answered.State);

        await InterviewWorld.AnswerAsync(world.WorkerB, entry.InterviewId, InterviewAnswer.Accepted);
        var confirmed = await InterviewWorld.AnswerAsync(world.JusticeAssistant, entry.InterviewId, InterviewAnswer.Accepted);
        Assert.Equal(InterviewState.Confirmed, confirmed.State);
        Assert.Equal(InterviewState.Confirmed, (await world.ReadAsync(entry.InterviewId, world.JusticeAssistant)).State);

        // A reschedule asks everyone again.
        var moved = await world.RescheduleAsync(entry.InterviewId, world.StartIn(6));
        Assert.All(moved.Participants.Where(p => p.MemberId is not null), p => Assert.Equal(InterviewAnswer.NeedsAction, p.Answer));
        Assert.Equal(1, await world.App.CountAsync("audit_log", "event_type = 'interview.confirmed'"));
    }

    [Fact]
    public async Task Authorisation_IsRefusedWithTypedCodes_FromPlainHubCalls_AndChangesNothing()
    {
        await using var world = await InterviewWorld.CreateAsync(storage: storage);
        var outsiderService = await world.App.CreateOrganisationAsync();
        await using var outsider = await world.App.ConnectWorkerAsync(outsiderService);
        var start = world.StartIn(3);

        // A justice assistant never organises; a worker of a service not on the case cannot use its reference.
        await Refusal.AssertHubAsync(ErrorCodes.Forbidden, () => world.ProposeAsync(start, by: world.JusticeAssistant));
        await Refusal.AssertHubAsync(ErrorCodes.InterviewCaseNotOpen, () => world.ProposeAsync(start, by: outsider));

        // A participant must be on the case (or a justice assistant of a Maison de justice).
        await Refusal.AssertHubAsync(ErrorCodes.InterviewParticipantRefused, () => world.Organiser.InvokeAsync<InterviewEntry>(
            nameof(IMessagingHub.ProposeInterview), new ProposeInterviewRequest(Guid.NewGuid(), world.CaseReference,
                [world.WorkerB.Device.Member.Id, outsider.Device.Member.Id], false, start, 60, "Rue de la Loi 16")));
        await Refusal.AssertHubAsync(ErrorCodes.InterviewInvalid, () => world.Organiser.InvokeAsync<InterviewEntry>(
            nameof(IMessagingHub.ProposeInterview), new ProposeInterviewRequest(Guid.NewGuid(), world.CaseReference,
                [world.WorkerB.Device.Member.Id], false, start, 60, "Rue de la Loi 16")));
        await Refusal.AssertHubAsync(ErrorCodes.InterviewInvalid, () => world.Organiser.InvokeAsync<InterviewEntry>(
            nameof(IMessagingHub.ProposeInterview), new ProposeInterviewRequest(Guid.NewGuid(), world.CaseReference,
                [world.WorkerB.Device.Member.Id], true, start, 60, null, new Uri("http://video.example/room"))));
        Assert.Equal(0, await world.App.CountAsync("interviews"));

        var entry = await world.ProposeAsync(start);
        await Refusal.AssertHubAsync(ErrorCodes.InterviewNotOrganiser, () => world.WorkerB.InvokeAsync<InterviewEntry>(
            nameof(IMessagingHub.CancelInterview), new CancelInterviewRequest(entry.InterviewId)));
        await Refusal.AssertHubAsync(ErrorCodes.InterviewNotFound, () => outsider.InvokeAsync<InterviewEntry>(
            nameof(IMessagingHub.AnswerInterview), new AnswerInterviewRequest(entry.InterviewId, InterviewAnswer.Accepted)));
        await Refusal.AssertHubAsync(ErrorCodes.InterviewTransitionRefused, () => world.Organiser.InvokeAsync<InterviewEntry>(
            nameof(IMessagingHub.RecordInterviewOutcome), new RecordInterviewOutcomeRequest(entry.InterviewId, true, PersonAttendance.Present)));
        Assert.Empty(await outsider.Hub.InvokeAsync<IReadOnlyList<InterviewEntry>>(nameof(IMessagingHub.ListInterviews)));
        Assert.Equal(InterviewState.Proposed, (await world.ReadAsync(entry.InterviewId)).State);
    }

    [Fact]
    public async Task TheOutcome_IsRecordedOnceStarted_AndTellsTheListeningFeatures()
    {
        var listener = new RecordingListener();
        await using var world = await InterviewWorld.CreateAsync(configureServices: s => s.AddSingleton<IInterviewOutcomeListener>(listener), storage: storage);
        var entry = await world.ProposeAsync(world.StartIn(2));

        var queries = world.App.Services.GetRequiredService<InterviewQueries>();
        var end = entry.Start.AddMinutes(entry.DurationMinutes);
        Assert.Empty(await EndedWithoutOutcomeAsync(world, end.AddDays(-1)));
        world.App.Clock.Advance(TimeSpan.FromDays(3));
        await world.ReconnectAllAsync();
        Assert.Equal([entry.InterviewId], await EndedWithoutOutcomeAsync(world, end));
        Assert.Empty(await EndedWithoutOutcomeAsync(world, end.AddMinutes(1))); // the window's start is applied by the query
        var found = (await queries.FindAsync(entry.InterviewId))!;
        Assert.Equal((world.JusticeAssistant.Device.Member.Id, (InterviewOutcome?)null), (found.JusticeAssistantMemberId, found.Outcome));

        await Refusal.AssertHubAsync(ErrorCodes.InterviewInvalid, () => world.Organiser.InvokeAsync<InterviewEntry>(
            nameof(IMessagingHub.RecordInterviewOutcome), new RecordInterviewOutcomeRequest(entry.InterviewId, true)));
        var held = await world.Organiser.InvokeAsync<InterviewEntry>(nameof(IMessagingHub.RecordInterviewOutcome),
            new RecordInterviewOutcomeRequest(entry.InterviewId, true, PersonAttendance.NoShow));
        Assert.Equal((InterviewState.Held, true, PersonAttendance.NoShow), (held.State, held.Held, held.Attendance));

        var told = Assert.Single(listener.Seen);
        Assert.Equal((entry.InterviewId, entry.CaseReference, world.ServiceA.Id), (told.InterviewId, told.CaseReference, told.OrganiserOrganisationId));
        Assert.Equal(new InterviewOutcome(true, PersonAttendance.NoShow, told.Outcome!.RecordedAt), told.Outcome);
        Assert.Empty(await EndedWithoutOutcomeAsync(world, end));
        Assert.Equal(PersonAttendance.NoShow, (await queries.FindAsync(entry.InterviewId))!.Outcome!.Attendance);
        await Refusal.AssertHubAsync(ErrorCodes.InterviewTransitionRefused, () => world.Organiser.InvokeAsync<InterviewEntry>(
            nameof(IMessagingHub.RecordInterviewOutcome), new RecordInterviewOutcomeRequest(entry.InterviewId, false)));
        Assert.Equal(1, await world.App.CountAsync("audit_log", "event_type = 'interview.outcome-recorded' AND detail = 'held'"));
    }

    [Fact]
    public async Task ACancel_OnceTheStartHasPassed_IsRefusedAsAlreadyStarted_ChangesNothing_AndTheOutcomeIsStillChased()
    {
        await using var world = await InterviewWorld.CreateAsync(storage: storage);
        var entry = await world.ProposeAsync(world.StartIn(2));
        var end = entry.Start.AddMinutes(entry.DurationMinutes);
        world.App.Clock.Advance(entry.Start - world.App.Clock.GetUtcNow() + TimeSpan.FromMinutes(5));
        await world.ReconnectAllAsync();

        // The person did not come and the organiser tries to call it off: refused, with a sentence saying what to do.
        var refused = await Assert.ThrowsAsync<HubException>(() => world.CancelAsync(entry.InterviewId));
        Assert.True(ErrorCodes.TryParseHubMessage(refused.Message, out var code), refused.Message);
        Assert.Equal(ErrorCodes.InterviewAlreadyStarted, code);
        Assert.Contains("record its outcome", refused.Message, StringComparison.Ordinal);
        var after = await world.ReadAsync(entry.InterviewId);
        Assert.Equal((InterviewState.Proposed, entry.Sequence), (after.State, after.Sequence));
        Assert.Equal(0, await world.App.CountAsync("audit_log", "event_type = 'interview.cancelled'"));

        // So the interview stays among those whose outcome is chased, and the outcome path records what happened.
        world.App.Clock.Advance(TimeSpan.FromHours(2));
        await world.ReconnectAllAsync();
        Assert.Equal([entry.InterviewId], await EndedWithoutOutcomeAsync(world, end));
        var notHeld = await world.Organiser.InvokeAsync<InterviewEntry>(nameof(IMessagingHub.RecordInterviewOutcome),
            new RecordInterviewOutcomeRequest(entry.InterviewId, false));
        Assert.Equal(InterviewState.NotHeld, notHeld.State);
    }

    [Fact]
    public async Task SmtpFailingThenRecovering_DeliversEachInvitationExactlyOnce()
    {
        await using var world = await InterviewWorld.CreateAsync(InterviewWorld.SmtpSettings(maxAttempts: 2), storage: storage);
        TestServices.FailNext(world.WorkerBEmail, 3);
        var entry = await world.ProposeAsync(world.StartIn(3));

        // The sender's backoff between attempts waits on the server's clock: let the fake clock run.
        using var pump = world.RunClock();

        // The organiser's and the justice assistant's go at once; worker B's fails twice in the job (451, 451).
        await world.WaitAsync(() => TestServices.Received(world.JusticeAssistantEmail).Length == 1, "the justice assistant's invitation");
        await world.WaitAsync(() => world.App.Logs.Lines.Any(l => l.Contains("could not be delivered yet", StringComparison.Ordinal)
            || l.Contains("gave up", StringComparison.OrdinalIgnoreCase)), "the failed attempt", 30);
        Assert.Empty(TestServices.Received(world.WorkerBEmail));
        Assert.Equal(InterviewDeliveryState.Pending, (await world.ReadAsync(entry.InterviewId)).Participants.Single(p => p.MemberId == world.WorkerB.Device.Member.Id).Delivery);

        // A retry of the job (as Hangfire's automatic retry, or a restart's re-derivation, would run it): one 451 left.
        var job = world.App.Services.GetRequiredService<InterviewMailJob>();
        Assert.Equal(1, await job.SendAsync(entry.InterviewId, 0, false, CancellationToken.None));
        Assert.Equal(0, await job.SendAsync(entry.InterviewId, 0, false, CancellationToken.None));
        foreach (var address in world.Addresses)
        {
            Assert.Single(TestServices.Received(address));
        }

        Assert.All((await world.ReadAsync(entry.InterviewId)).Participants.Where(p => p.MemberId is not null), p => Assert.Equal(InterviewDeliveryState.Sent, p.Delivery));
    }

    [Fact]
    public async Task APermanentRefusal_IsShownToTheOrganiser_OnTheParticipantsRow()
    {
        await using var world = await InterviewWorld.CreateAsync(InterviewWorld.SmtpSettings(), storage: storage);
        TestServices.Reject(world.JusticeAssistantEmail);
        var entry = await world.ProposeAsync(world.StartIn(3));

        await world.WaitAsync(() => world.ReadAsync(entry.InterviewId).Result.Participants
            .Any(p => p.Delivery == InterviewDeliveryState.PermanentFailure), "the refusal recorded");
        var ja = (await world.ReadAsync(entry.InterviewId)).Participants.Single(p => p.MemberId == world.JusticeAssistant.Device.Member.Id);
        Assert.Equal((InterviewDeliveryState.PermanentFailure, 550), (ja.Delivery, ja.DeliveryReplyCode));
    }

    internal static Calendar AssertCalendarPart(MimeMessage message, string method)
    {
        var part = message.BodyParts.OfType<TextPart>().Single(p => p.ContentType.IsMimeType("text", "calendar"));
        Assert.Equal(method, part.ContentType.Parameters["method"]);
        var calendar = Calendar.Load(part.Text)!;
        Assert.Equal(method, calendar.Method);
        return calendar;
    }

    private sealed class RecordingListener : IInterviewOutcomeListener
    {
        public List<InterviewSummary> Seen { get; } = [];

        public Task OnOutcomeRecordedAsync(Messaging.Server.Persistence.DbSession session, InterviewSummary interview)
        {
            Seen.Add(interview);
            return Task.CompletedTask;
        }
    }

    [Fact]
    public async Task ALengthJustOutsideFifteenMinutesToFourHours_IsRefused_ToProposeAndToSearch_AndTheBoundsThemselvesAreTaken()
    {
        await using var world = await InterviewWorld.CreateAsync(storage: storage);
        Task<InterviewEntry> Propose(int minutes, int days = 3) => world.Organiser.InvokeAsync<InterviewEntry>(nameof(IMessagingHub.ProposeInterview),
            new ProposeInterviewRequest(Guid.NewGuid(), world.CaseReference, [world.WorkerB.Device.Member.Id, world.JusticeAssistant.Device.Member.Id], true,
                world.StartIn(days), minutes, "Rue de la Loi 16, 1000 Bruxelles"));

        foreach (var minutes in new[] { 14, 241 })
        {
            await Refusal.AssertHubAsync(ErrorCodes.InterviewInvalid, () => Propose(minutes));
            await Refusal.AssertHubAsync(ErrorCodes.InterviewInvalid, () => world.Organiser.InvokeAsync<object>(nameof(IMessagingHub.FindInterviewSlots),
                new FindInterviewSlotsRequest(world.CaseReference, [world.WorkerB.Device.Member.Id], minutes)));
        }

        Assert.Empty(await world.Organiser.Hub.InvokeAsync<IReadOnlyList<InterviewEntry>>(nameof(IMessagingHub.ListInterviews)));
        Assert.Equal(15, (await Propose(15)).DurationMinutes);
        Assert.Equal(240, (await Propose(240, days: 4)).DurationMinutes);
    }

    /// <summary>The ids the Interviews feature's relation of interviews ended without an outcome holds, from
    /// <paramref name="endedFrom"/> to now, read as another feature reads it (a derived table in its own statement).</summary>
    private static Task<List<Guid>> EndedWithoutOutcomeAsync(InterviewWorld world, DateTimeOffset endedFrom)
    {
        var ended = InterviewQueries.EndedWithoutOutcome(endedFrom, world.App.Clock.GetUtcNow());
        return world.App.Database.ReadAsync(s => s.QueryAsync($"SELECT interview_id FROM ({ended.Sql}) i ORDER BY ended_at;", r => r.GetGuidValue(0),
            [.. ended.Parameters]));
    }

    public sealed class OnSqlite() : InterviewFlowTests(StorageProvider.Sqlite);

    public sealed class OnPostgres() : InterviewFlowTests(StorageProvider.Postgres);
}
