using Messaging.Contracts;
using Messaging.Contracts.Referrals;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;

namespace Messaging.Server.Tests.Notices;

/// <summary>The retention sweeps of interviews (<c>interviews.retention</c>) and of mandates and notices
/// (<c>notices.retention</c>), run by the job runner at the retention interval: what is finished goes after the
/// retention period, what is live or still waiting stays.</summary>
public abstract class RetentionTests(StorageProvider storage)
{
    private static readonly TimeSpan Retention = TimeSpan.FromDays(365);

    [Fact]
    public async Task AfterTheRetentionPeriod_InterviewsChasesNoticesFinishedDeliveriesAndEndedMandatesGo_WhileLiveAndWaitingOnesStay()
    {
        await using var world = await NoticeWorld.CreateAsync(storage: storage);
        var app = world.App;

        // A tripartite case under mandate, an interview that ends without outcome (chased), then its no-show notice.
        var referral = await MessagingApp.OpenReferralAsync(world.Worker, world.OtherService.Id);
        await MessagingApp.RespondAsync(world.OtherWorker, referral.CaseReference, ReferralResponse.ProposeTripartite);
        var mandate = await NoticeWorld.AcceptAsync(world.Assistant,
            (await NoticeWorld.ProposeAsync(world.Worker, referral.CaseReference, world.Assistant.Device.Member.Id)).MandateId);
        var interview = (await world.Worker.InvokeAsync<InterviewEntry>(nameof(IMessagingHub.ProposeInterview), new ProposeInterviewRequest(Guid.NewGuid(),
            referral.CaseReference, [world.OtherWorker.Device.Member.Id, world.Assistant.Device.Member.Id], false, app.Clock.GetUtcNow().AddDays(1), 60, "Rue de la Loi 16"))).InterviewId;
        app.Clock.Advance(TimeSpan.FromDays(1) + TimeSpan.FromHours(4));
        await app.RunSweepsAsync();
        Assert.Equal(1, await app.CountAsync("notice_outcome_chases"));
        var worker = await app.ReconnectAsync(world.Worker); // a day later: the first token expired, and its connection with it
        var noShow = await NoticeWorld.BuildNoticeAsync(worker, world.ConversationId, referral.CaseReference, NoticeKind.NoShow, interview);
        Assert.Equal(SendOutcome.Accepted, (await worker.SendAsync(noShow)).Outcome);
        var dated = await NoticeWorld.BuildNoticeAsync(worker, world.ConversationId, world.CaseReference, NoticeKind.Present);
        Assert.Equal(SendOutcome.Accepted, (await worker.SendAsync(dated)).Outcome);

        // One intake delivery finished, one still waiting (retried by its job); a mandate that ended.
        var now = app.Clock.GetUtcNow().ToUnixTimeMilliseconds();
        await app.ExecuteSqlAsync($"""
            INSERT INTO notice_intake_outbox (notice_id, justice_house_id, body, state, attempts, next_attempt_at, last_status, created_at, finished_at)
            VALUES ('{noShow.Notice!.NoticeId:D}', '{world.JusticeHouse.Id:D}', NULL, 'delivered', 1, NULL, 200, {now}, {now}),
                   ('{dated.Notice!.NoticeId:D}', '{world.JusticeHouse.Id:D}', NULL, 'pending', 3, {now + (long)TimeSpan.FromDays(400).TotalMilliseconds}, 503, {now}, NULL);
            """);
        var ended = await NoticeWorld.EndAsync(worker, (await NoticeWorld.ProposeAsync(worker, CaseReference.New(), world.Assistant.Device.Member.Id)).MandateId);
        Assert.Equal(MandateStatus.Ended, ended.Status);
        await app.ExecuteSqlAsync($"INSERT INTO delivery_ledger (delivery_id, state, holder, claimed_at, outcome_unknown, sent_at) VALUES ('{new string('a', 32)}', 2, NULL, {now}, 0, {now});");
        var before = await RowsAsync(app);
        Assert.Equal(new Rows(Interviews: 1, Participants: 2, Chases: 1, Outbox: 2, Notices: 2, Mandates: 3, Ledger: 1), before);

        // A day short of the retention period: nothing goes.
        app.Clock.Advance(Retention - TimeSpan.FromDays(2));
        await app.RunSweepsAsync();
        Assert.Equal(before, await RowsAsync(app));

        // Past it: the interview (with its participants), the chase, the finished delivery and its notice, the ended
        // mandate. The waiting delivery keeps its notice; both accepted mandates stay, and still carry notices.
        app.Clock.Advance(TimeSpan.FromDays(3));
        await app.RunSweepsAsync();
        Assert.Equal(new Rows(Interviews: 0, Participants: 0, Chases: 0, Outbox: 1, Notices: 1, Mandates: 2, Ledger: 0), await RowsAsync(app));
        Assert.Equal(1, await app.CountAsync("notices", $"id = '{dated.Notice.NoticeId:D}'"));
        Assert.Equal(0, await app.CountAsync("mandates", $"id = '{ended.MandateId:D}'"));
        Assert.Equal(2, await app.CountAsync("mandates", $"id IN ('{mandate.MandateId:D}', '{world.Mandate.MandateId:D}') AND status = {(int)MandateStatus.Accepted}"));
        await worker.DisposeAsync();
        await using var later = await app.ReconnectAsync(world.Worker);
        Assert.Equal(SendOutcome.Accepted,
            (await later.SendAsync(await NoticeWorld.BuildNoticeAsync(later, world.ConversationId, world.CaseReference, NoticeKind.UnilateralEnd))).Outcome);
    }

    private sealed record Rows(long Interviews, long Participants, long Chases, long Outbox, long Notices, long Mandates, long Ledger);

    private static async Task<Rows> RowsAsync(MessagingApp app) => new(
        await app.CountAsync("interviews"), await app.CountAsync("interview_participants"), await app.CountAsync("notice_outcome_chases"),
        await app.CountAsync("notice_intake_outbox"), await app.CountAsync("notices"), await app.CountAsync("mandates"),
        await app.CountAsync("delivery_ledger"));

    public sealed class OnSqlite() : RetentionTests(StorageProvider.Sqlite);

    public sealed class OnPostgres() : RetentionTests(StorageProvider.Postgres);
}
