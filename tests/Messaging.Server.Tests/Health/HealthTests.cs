using System.Net;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;

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

    public sealed class OnSqlite() : HealthTests(StorageProvider.Sqlite);

    public sealed class OnPostgres() : HealthTests(StorageProvider.Postgres);
}
