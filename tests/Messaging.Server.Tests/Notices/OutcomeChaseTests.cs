using Messaging.Contracts;
using Messaging.Contracts.Referrals;
using Hangfire;
using Messaging.Server.Features.Notices;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

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

    [Fact]
    public async Task TheSweep_ReadsOnce_AndOpensAWriteOnlyForEachInterviewItChases_AmongManyChasedUnmandatedHeldOrTooOld()
    {
        await using var world = await NoticeWorld.CreateAsync(storage: storage);
        var app = world.App;
        app.Services.GetRequiredService<IRecurringJobManager>().RemoveIfExists(OutcomeChaseSweep.Id); // only this test's runs
        var now = app.Clock.GetUtcNow();
        var retention = app.Services.GetRequiredService<IOptions<NoticesOptions>>().Value.Retention;

        // Three interviews to chase; then many that ended without an outcome too, but are already chased, under no
        // mandate, under a mandate of another service, or have a notice; some held; one not over; some ended before the
        // retention period (an interview lasts an hour here).
        var toChase = await InsertInterviewsAsync(world, world.CaseReference, 3, i => now.AddDays(-1 - i));
        var chased = await InsertInterviewsAsync(world, world.CaseReference, 30, i => now.AddDays(-2).AddMinutes(-i));
        await app.ExecuteSqlAsync("INSERT INTO notice_outcome_chases (interview_id, mandate_id, host_member_id, ended_at, remind_at, escalate_at) VALUES "
            + string.Join(", ", chased.Select(id => $"('{id:D}', '{world.Mandate.MandateId:D}', '{world.Worker.Device.Member.Id:D}', 0, 0, 0)")) + ";");
        await InsertInterviewsAsync(world, CaseReference.New(), 30, i => now.AddDays(-3).AddMinutes(-i));
        await InsertInterviewsAsync(world, world.CaseReference, 1, _ => now.AddDays(-1), organiser: world.OtherWorker);
        var noticed = await InsertInterviewsAsync(world, world.CaseReference, 2, i => now.AddDays(-4).AddMinutes(-i));
        await app.ExecuteSqlAsync("INSERT INTO notices (id, mandate_id, kind, interview_id, issuer_member_id, issuer_device_id, relayed_at) VALUES "
            + string.Join(", ", noticed.Select(id => $"('{Guid.NewGuid():D}', '{world.Mandate.MandateId:D}', {(int)NoticeKind.Present}, '{id:D}', "
                + $"'{world.Worker.Device.Member.Id:D}', '{world.Worker.Device.Id:D}', {now.ToUnixTimeMilliseconds()})")) + ";");
        await InsertInterviewsAsync(world, world.CaseReference, 2, i => now.AddDays(-5).AddMinutes(-i), InterviewState.Held);
        await InsertInterviewsAsync(world, world.CaseReference, 1, _ => now.AddDays(1));
        await InsertInterviewsAsync(world, world.CaseReference, 3, i => now - retention - TimeSpan.FromDays(1 + i));

        var database = new CountingDatabase(app.Database);
        var sweep = Sweep(app, database);
        Assert.Equal(3, await sweep.RunAsync(CancellationToken.None));
        Assert.Equal((1, 3), (database.Reads, database.Writes));
        Assert.Equal(33, await app.CountAsync("notice_outcome_chases"));
        Assert.Equal(toChase.Order(), (await app.QueryRowsAsync(
            $"SELECT interview_id FROM notice_outcome_chases WHERE mandate_id = '{world.Mandate.MandateId:D}' AND ended_at > 0;"))
            .Select(r => Guid.Parse(r[0]!)).Order());

        // Again: nothing left to chase, and no write at all.
        Assert.Equal(0, await sweep.RunAsync(CancellationToken.None));
        Assert.Equal((2, 3), (database.Reads, database.Writes));
    }

    [Fact]
    public async Task TheSweep_ChecksAgainInsideEachWrite_SoAChaseRecordedMeanwhileIsNotRecordedTwice()
    {
        await using var world = await NoticeWorld.CreateAsync(storage: storage);
        var app = world.App;
        app.Services.GetRequiredService<IRecurringJobManager>().RemoveIfExists(OutcomeChaseSweep.Id);
        var now = app.Clock.GetUtcNow();
        var first = Assert.Single(await InsertInterviewsAsync(world, world.CaseReference, 1, _ => now.AddDays(-2)));
        var second = Assert.Single(await InsertInterviewsAsync(world, world.CaseReference, 1, _ => now.AddDays(-1)));

        // Between the sweep's read and its first write, another instance's sweep chases the second interview.
        var database = new CountingDatabase(app.Database)
        {
            BeforeWrite = n => n == 1 ? app.ExecuteSqlAsync("INSERT INTO notice_outcome_chases (interview_id, mandate_id, host_member_id, ended_at, "
                + $"remind_at, escalate_at) VALUES ('{second:D}', '{world.Mandate.MandateId:D}', '{world.Worker.Device.Member.Id:D}', 0, 0, 0);") : Task.CompletedTask,
        };
        Assert.Equal(1, await Sweep(app, database).RunAsync(CancellationToken.None));
        Assert.Equal(2, database.Writes);
        Assert.Equal(1, await app.CountAsync("notice_outcome_chases", $"interview_id = '{first:D}' AND ended_at > 0"));
        Assert.Equal(1, await app.CountAsync("notice_outcome_chases", $"interview_id = '{second:D}' AND ended_at = 0"));
    }

    private static OutcomeChaseSweep Sweep(MessagingApp app, IDatabase database) => new(database, app.Services.GetServices<IMandatedInterviewSource>(),
        app.Services.GetRequiredService<OutcomeChaseJob>(), app.Clock, app.Services.GetRequiredService<IOptions<NoticesOptions>>(),
        NullLogger<OutcomeChaseSweep>.Instance);

    /// <summary>Interviews of an hour organised by the worker (or <paramref name="organiser"/>) of a case, ending at the
    /// given instants, written straight to the table: a year of them through the hub would take minutes.</summary>
    private static async Task<List<Guid>> InsertInterviewsAsync(NoticeWorld world, string caseReference, int count, Func<int, DateTimeOffset> end,
        InterviewState state = InterviewState.Confirmed, ConnectedDevice? organiser = null)
    {
        var by = organiser ?? world.Worker;
        var ids = Enumerable.Range(0, count).Select(_ => Guid.NewGuid()).ToList();
        await world.App.ExecuteSqlAsync($"""
            INSERT INTO interviews (id, case_reference, organiser_member_id, organiser_organisation_id, organiser_email, service_name, start_at,
                duration_minutes, place, place_is_video, includes_person, status, sequence, created_at, updated_at)
            VALUES {string.Join(", ", ids.Select((id, i) => $"('{id:D}', '{caseReference}', '{by.Device.Member.Id:D}', '{by.Device.Member.OrganisationId:D}', "
                + $"'host@example.org', 'Service', {end(i).AddHours(-1).ToUnixTimeMilliseconds()}, 60, 'Rue de la Loi 16', 0, 0, {(int)state}, 0, 0, 0)"))};
            """);
        return ids;
    }

    private static async Task<Guid> ProposeInterviewAsync(NoticeWorld world, string caseReference, DateTimeOffset start)
        => (await world.Worker.InvokeAsync<InterviewEntry>(nameof(IMessagingHub.ProposeInterview), new ProposeInterviewRequest(Guid.NewGuid(), caseReference,
            [world.OtherWorker.Device.Member.Id, world.Assistant.Device.Member.Id], false, start, 60, "Rue de la Loi 16"))).InterviewId;

    public sealed class OnSqlite() : OutcomeChaseTests(StorageProvider.Sqlite);

    public sealed class OnPostgres() : OutcomeChaseTests(StorageProvider.Postgres);
}
