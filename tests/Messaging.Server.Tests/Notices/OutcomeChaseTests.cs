using Messaging.Contracts;
using Messaging.Contracts.Referrals;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Messaging.Server.Tests.Notices;

/// <summary>Outcomes of interviews under mandate chased by jobs, with the real Interviews feature: a reminder to the host
/// after the grace period, an escalation to the service's admins at the next working day's deadline, and a no-show
/// recorded by the host producing exactly one notice across a server restart in between.</summary>
public abstract class OutcomeChaseTests(StorageProvider storage)
{
    [Fact]
    public async Task AnInterviewUnderMandateWithoutOutcome_IsRemindedThenEscalated_AndANoShowAcrossARestartGivesExactlyOneNotice()
    {
        var pickup = Path.Combine(Path.GetTempPath(), "messaging-chase-pickup", Guid.NewGuid().ToString("N"));
        await using var world = await NoticeWorld.CreateAsync(new Dictionary<string, string?> { ["Messaging:Notices:PickupDirectory"] = pickup }, storage: storage);

        // A tripartite case between the following service and another one, under an accepted mandate.
        var referral = await MessagingApp.OpenReferralAsync(world.Worker, world.OtherService.Id);
        await MessagingApp.RespondAsync(world.OtherWorker, referral.CaseReference, ReferralResponse.ProposeTripartite);
        var mandate = await NoticeWorld.ProposeAsync(world.Worker, referral.CaseReference, world.Assistant.Device.Member.Id);
        await NoticeWorld.AcceptAsync(world.Assistant, mandate.MandateId);
        var start = world.App.Clock.GetUtcNow().AddDays(7);
        var noShow = await ProposeInterviewAsync(world, referral.CaseReference, start);
        var forgotten = await ProposeInterviewAsync(world, referral.CaseReference, start.AddHours(2));

        // Both end; the sweep records their chases; after the grace period the host is reminded, once.
        world.App.Clock.Advance(TimeSpan.FromDays(7) + TimeSpan.FromHours(4));
        await world.App.RunSweepsAsync();
        Assert.Equal(2, await world.App.CountAsync("notice_outcome_chases"));
        world.App.Clock.Advance(TimeSpan.FromHours(3));
        await world.App.RunDueJobsAsync();
        await world.App.RunDueJobsAsync();
        Assert.Equal(2, await world.App.CountAsync("notice_outcome_chases", "reminded_at IS NOT NULL"));
        Assert.Equal(2, await world.App.CountAsync("audit_log", "event_type = 'notice.outcome-reminded'"));
        Assert.Equal(2, Directory.GetFiles(pickup, "*.eml").Count(f => File.ReadAllText(f).Contains("outcome is not recorded yet", StringComparison.Ordinal)));

        // The server restarts before the deadline; the host records the no-show: the notice goes out at once, a retry
        // of it is refused, and its chase stops.
        await world.RestartAsync();
        Assert.Equal(2, (await world.Worker.Hub.InvokeAsync<IReadOnlyList<OutcomeReminderEntry>>(nameof(IMessagingHub.ListOutcomeReminders))).Count);
        Assert.Equal(SendOutcome.Accepted, (await world.Worker.SendAsync(await NoticeWorld.BuildNoticeAsync(world.Worker,
            world.ConversationId, referral.CaseReference, NoticeKind.NoShow, noShow))).Outcome);
        await Refusal.AssertHubAsync(ErrorCodes.NoticeDuplicate, async () => await world.Worker.SendAsync(await NoticeWorld.BuildNoticeAsync(world.Worker,
            world.ConversationId, referral.CaseReference, NoticeKind.NoShow, noShow)));

        // Past the deadline: only the forgotten interview is escalated to the service's admins.
        world.App.Clock.Advance(TimeSpan.FromDays(6));
        await world.App.RunDueJobsAsync();
        await world.App.RunDueJobsAsync();
        Assert.Equal(1, await world.App.CountAsync("notices", $"interview_id = '{noShow:D}' AND kind = {(int)NoticeKind.NoShow}"));
        Assert.Equal(1, await world.App.CountAsync("notices"));
        Assert.Equal(1, await world.App.CountAsync("notice_outcome_chases", $"interview_id = '{noShow:D}' AND resolved_at IS NOT NULL AND escalated_at IS NULL"));
        Assert.Equal(1, await world.App.CountAsync("notice_outcome_chases", $"interview_id = '{forgotten:D}' AND escalated_at IS NOT NULL"));
        Assert.Equal(1, await world.App.CountAsync("audit_log", "event_type = 'notice.outcome-escalated'"));
        Assert.Single(Directory.GetFiles(pickup, "*.eml"), f => File.ReadAllText(f).Contains("was not recorded by its deadline", StringComparison.Ordinal));
        Directory.Delete(pickup, recursive: true);
    }

    private static async Task<Guid> ProposeInterviewAsync(NoticeWorld world, string caseReference, DateTimeOffset start)
        => (await world.Worker.InvokeAsync<InterviewEntry>(nameof(IMessagingHub.ProposeInterview), new ProposeInterviewRequest(Guid.NewGuid(), caseReference,
            [world.OtherWorker.Device.Member.Id, world.Assistant.Device.Member.Id], false, start, 60, "Rue de la Loi 16"))).InterviewId;

    public sealed class OnSqlite() : OutcomeChaseTests(StorageProvider.Sqlite);

    public sealed class OnPostgres() : OutcomeChaseTests(StorageProvider.Postgres);
}
