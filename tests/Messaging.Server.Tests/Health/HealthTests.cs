using System.Net;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Messaging.Server.Tests;

public abstract class HealthTests(StorageProvider storage)
{
    [Fact]
    public async Task LiveAndReady_AnswerHealthy_OnceTheDatabaseIsMigrated()
    {
        await using var app = new MessagingApp(storage);
        var http = app.CreateClient();

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/health/live", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/health/ready", UriKind.Relative))).StatusCode);
        Assert.True(storage != StorageProvider.Sqlite || File.Exists(app.DatabasePath));
        Assert.Equal(MigrationRunner.LoadScripts().Count, await app.CountAsync("schema_migrations"));
    }

    [Fact]
    public async Task Ready_IsUnhealthy_WhenTheSchemaIsGone()
    {
        await using var app = new MessagingApp(storage);
        var http = app.CreateClient();
        await app.ExecuteSqlAsync("DROP TABLE schema_migrations;");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync(new Uri("/health/ready", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/health/live", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task Ready_GivesItsAnswerAgainWithinAnswerReuse_SoALoopOfRequestsProbesTheDatabaseOnce()
    {
        // Outside review 2026-11-29, persist F5: the anonymous probe took the database's write lock at every request.
        await using var app = new MessagingApp(storage, new Dictionary<string, string?> { ["Messaging:Health:AnswerReuse"] = "01:00:00" });
        var http = app.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/health/ready", UriKind.Relative))).StatusCode);

        // A probe would now answer unready: the requests within the reuse window are not probes.
        await app.ExecuteSqlAsync("DROP TABLE schema_migrations;");
        var answers = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => http.GetAsync(new Uri("/health/ready", UriKind.Relative))));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.StatusCode));
    }

    public sealed class OnSqlite() : HealthTests(StorageProvider.Sqlite)
    {
        [Fact]
        public async Task Ready_IsUnready_WhileTheSingleWriterCannotRunAUnit_AndReadyOnceItCan()
        {
            // The write probe is a unit of the single writer: a writer that is stuck (a slow disk, a unit that hangs)
            // cannot serve a send, so the server is not ready, although no other process holds the write lock.
            await using var app = new MessagingApp(new Dictionary<string, string?>
            {
                ["Messaging:Health:WriteProbeTimeout"] = "00:00:01",
                ["Messaging:Health:AnswerReuse"] = "00:00:00",
            });
            var http = app.CreateClient();
            var database = app.Services.GetRequiredService<IDatabase>();
            var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var stuck = database.WriteAsync(async _ =>
            {
                await release.Task;
                return true;
            });

            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync(new Uri("/health/ready", UriKind.Relative))).StatusCode);

            release.SetResult();
            await stuck;
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/health/ready", UriKind.Relative))).StatusCode);
        }
    }

    public sealed class OnPostgres() : HealthTests(StorageProvider.Postgres);
}
