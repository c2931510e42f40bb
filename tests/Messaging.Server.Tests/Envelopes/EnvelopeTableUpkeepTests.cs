using System.Globalization;
using Messaging.Server.Features.Envelopes;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Messaging.Server.Tests.Envelopes;

/// <summary>
/// PostgreSQL's envelope tables are vacuumed by the server itself, at its interval (<c>EnvelopeTableUpkeep</c>): their
/// rows are inserted and deleted within seconds, and waiting for autovacuum let them bloat and keep plans that scan them
/// whole (docs/performance.md).
/// </summary>
public sealed class EnvelopeTableUpkeepTests
{
    [Fact]
    public async Task TheEnvelopeTables_AreVacuumedAtTheInterval_AndLoseTheirDeadRows()
    {
        await using var app = new MessagingApp(StorageProvider.Postgres, new Dictionary<string, string?>
        {
            ["Messaging:Envelopes:TableUpkeepInterval"] = "00:00:01",
        });
        var workerA = await app.CreateMemberAsync(await app.CreateOrganisationAsync());
        var workerB = await app.CreateMemberAsync(await app.CreateOrganisationAsync());
        await using var a1 = await app.ConnectAsync(await app.EnrolDeviceAsync(workerA));
        await using var b1 = await app.ConnectAsync(await app.EnrolDeviceAsync(workerB));
        var conversation = (await MessagingApp.CreateConversationAsync(a1, false, workerB)).ConversationId;
        var vacuumsBefore = await VacuumsAsync(app);

        // Twenty envelopes delivered and acknowledged: twenty dead rows in each table.
        for (var i = 0; i < 20; i++)
        {
            await MessagingApp.SendAsync(a1, conversation);
        }

        var delivered = await b1.ReceiveAsync(20);
        Assert.Equal(20, (await b1.AcknowledgeAsync([.. delivered.Select(d => d.Sequence)])).Acknowledged);
        Assert.Equal(0, await app.CountAsync("envelope_recipients"));

        // Within a few intervals both tables were vacuumed again, by the server (not autovacuum), and hold no dead row.
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var now = await VacuumsAsync(app);
            if (now.Copies > vacuumsBefore.Copies && now.Envelopes > vacuumsBefore.Envelopes && now.DeadCopies == 0 && now.DeadEnvelopes == 0)
            {
                break;
            }

            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(30), $"not vacuumed within 30 s: {now} (before: {vacuumsBefore})");
            await Task.Delay(250);
        }
    }

    [Fact]
    public async Task AVacuumLessThanHalfAnIntervalAgo_IsNotRepeated_SoSeveralInstancesVacuumOncePerInterval()
    {
        // Every instance runs the upkeep on the one database; a second instance's turn right after the first's is what
        // RunOnceAsync called again here stands for (it reads the same statistics of the same tables).
        await using var app = new MessagingApp(StorageProvider.Postgres, new Dictionary<string, string?>
        {
            ["Messaging:Envelopes:TableUpkeepInterval"] = "00:00:04",
        });
        var upkeep = app.Services.GetServices<IHostedService>().OfType<EnvelopeTableUpkeep>().Single();
        var database = app.Services.GetRequiredService<PostgresDatabase>();

        // A turn that vacuums: at the latest once half an interval has passed since the last vacuum (a database reused
        // from an earlier test, or this app's own timer, may just have vacuumed).
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!await upkeep.RunOnceAsync(database, CancellationToken.None))
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(10), "no turn vacuumed within 10 s");
            await Task.Delay(100);
        }

        // For the next second and a half — under half the interval — every turn, this one's and the app's own timer's,
        // finds that vacuum recent and skips: no vacuum is counted.
        var afterFirst = await VacuumsAsync(app);
        var turns = System.Diagnostics.Stopwatch.StartNew();
        while (turns.Elapsed < TimeSpan.FromSeconds(1.5))
        {
            Assert.False(await upkeep.RunOnceAsync(database, CancellationToken.None));
            await Task.Delay(100);
        }

        var later = await VacuumsAsync(app);
        Assert.Equal((afterFirst.Copies, afterFirst.Envelopes), (later.Copies, later.Envelopes));
    }

    /// <summary>Manual vacuums (not autovacuum's) and dead rows of the two tables, from PostgreSQL's statistics.</summary>
    private static async Task<(long Copies, long Envelopes, long DeadCopies, long DeadEnvelopes)> VacuumsAsync(MessagingApp app)
    {
        var rows = await app.QueryRowsAsync(
            "SELECT relname, vacuum_count, n_dead_tup FROM pg_stat_user_tables WHERE relname IN ('envelope_recipients', 'envelopes')");
        long Read(string table, int column) => long.Parse(rows.Single(r => r[0] == table)[column]!, CultureInfo.InvariantCulture);
        return (Read("envelope_recipients", 1), Read("envelopes", 1), Read("envelope_recipients", 2), Read("envelopes", 2));
    }
}
