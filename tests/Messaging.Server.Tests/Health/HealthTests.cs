using System.Net;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;

namespace Messaging.Server.Tests;

public sealed class HealthTests
{
    [Fact]
    public async Task LiveAndReady_AnswerHealthy_OnceTheDatabaseIsMigrated()
    {
        await using var app = new MessagingApp();
        var http = app.CreateClient();

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/health/live", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/health/ready", UriKind.Relative))).StatusCode);
        Assert.True(File.Exists(app.DatabasePath));
        Assert.Equal(MigrationRunner.LoadScripts().Count, await app.CountAsync("schema_migrations"));
    }

    [Fact]
    public async Task Ready_IsUnhealthy_WhenTheSchemaIsGone()
    {
        await using var app = new MessagingApp();
        var http = app.CreateClient();
        await app.ExecuteSqlAsync("DROP TABLE schema_migrations;");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync(new Uri("/health/ready", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/health/live", UriKind.Relative))).StatusCode);
    }
}
