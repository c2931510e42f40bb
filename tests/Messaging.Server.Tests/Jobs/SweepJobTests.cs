using Messaging.Server.Features.Attachments;
using Messaging.Server.Features.Authentication;
using Messaging.Server.Features.Devices;
using Messaging.Server.Features.Envelopes;
using Messaging.Server.Features.Jobs;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Messaging.Server.Tests.Jobs;

/// <summary>The recurring sweeps: each feature registers its own; they are registered again at every start (the
/// in-memory storage starts empty), purge what is due on the injected clock, and a second run changes nothing.</summary>
public abstract class SweepJobTests(StorageProvider storage)
{
    private static readonly string[] Sweeps =
        [AttachmentExpiryJob.Id, ExpiredCredentialsJob.Id, EnrolmentCodeCleanupJob.Id, EnvelopeExpiryJob.Id, Features.Notices.OutcomeChaseSweep.Id,
            Features.Notices.NoticeRetentionJob.Id, Features.Interviews.InterviewRetentionJob.Id, DeliveryLedgerExpiryJob.Id];

    [Fact]
    public async Task EverySweep_IsRegisteredAtStart_AndAgainAfterARestart()
    {
        var app = new MessagingApp(storage);
        try
        {
            _ = app.Server;
            Assert.Equal(Sweeps.Order(StringComparer.Ordinal), app.RecurringJobIds());
            app = await app.RestartAsync();
            Assert.Equal(Sweeps.Order(StringComparer.Ordinal), app.RecurringJobIds());
        }
        finally
        {
            await app.DisposeAsync();
        }
    }

    [Fact]
    public async Task TheSweeps_PurgeExpiredEnvelopesCredentialsAndCodes_OnceAtTheirTime()
    {
        await using var app = new MessagingApp(storage, new Dictionary<string, string?> { ["Messaging:Envelopes:Retention"] = "2.00:00:00" });
        var organisation = await app.CreateOrganisationAsync();
        await using (var a = await app.ConnectWorkerAsync(organisation))
        {
            await using var b = await app.ConnectWorkerAsync(organisation);
            var conversation = await MessagingApp.CreateConversationAsync(a, false, b.Device.Member);
            await MessagingApp.SendAsync(a, conversation.ConversationId);
        }

        var unused = await app.CreateMemberAsync(organisation);
        await app.IssueCodeAsync(unused);
        await app.RunSweepsAsync();
        Assert.Equal(1, await app.CountAsync("envelopes"));
        Assert.True(await app.CountAsync("access_tokens") > 0);
        var codes = await app.CountAsync("enrolment_codes");

        app.Clock.Advance(TimeSpan.FromDays(8)); // past the envelope retention, every token, and the codes' 7-day keep
        await app.RunSweepsAsync();
        Assert.Equal((0L, 0L, 0L, 0L), (await app.CountAsync("envelopes"), await app.CountAsync("envelope_recipients"),
            await app.CountAsync("access_tokens"), await app.CountAsync("enrolment_codes")));
        Assert.True(codes > 0);

        foreach (var sweep in app.Services.GetServices<SweepRegistration>())
        {
            Assert.Contains(sweep.Id, Sweeps);
        }

        Assert.Equal(0, await app.Services.GetRequiredService<EnvelopeExpiryJob>().RunAsync(CancellationToken.None));
        Assert.Equal(0, await app.Services.GetRequiredService<ExpiredCredentialsJob>().RunAsync(CancellationToken.None));
        Assert.Equal(0, await app.Services.GetRequiredService<EnrolmentCodeCleanupJob>().RunAsync(CancellationToken.None));
    }

    [Theory]
    [InlineData("00:00:30", "*/30 * * * * *")]
    [InlineData("00:05:00", "0 */5 * * * *")]
    [InlineData("06:00:00", "0 0 */6 * * *")]
    [InlineData("1.00:00:00", "0 0 0 * * *")]
    public void ASweepInterval_BecomesTheCronScheduleThatRunsItExactly(string interval, string cron)
        => Assert.Equal(cron, JobsFeature.CronFor(TimeSpan.Parse(interval, System.Globalization.CultureInfo.InvariantCulture)));

    [Fact]
    public async Task ASweepIntervalThatNoCronScheduleMatches_StopsTheServerAtStart()
    {
        await using var app = new MessagingApp(storage, new Dictionary<string, string?> { ["Messaging:Retention:Interval"] = "00:07:00" });
        var failure = Assert.ThrowsAny<Exception>(() => app.Server);
        Assert.Contains("Retention:Interval", failure.ToString(), StringComparison.Ordinal);
    }

    public sealed class OnSqlite() : SweepJobTests(StorageProvider.Sqlite);

    public sealed class OnPostgres() : SweepJobTests(StorageProvider.Postgres);
}
