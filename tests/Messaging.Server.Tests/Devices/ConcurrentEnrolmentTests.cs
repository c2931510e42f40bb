using Messaging.Server.Features.Audit;
using Messaging.Server.Features.Devices;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;

namespace Messaging.Server.Tests.Devices;

/// <summary>
/// Sixteen devices enrolled at once, on both providers. Each enrolment appends to the key log and the audit log and
/// consumes a single-use code; on PostgreSQL these units run in parallel, serializable, and under load one of them used to
/// exhaust its retries and answer 500. Every enrolment succeeds, both chains stay whole, and every device can then work.
/// </summary>
public abstract class ConcurrentEnrolmentTests(StorageProvider storage)
{
    private const int Enrolments = 16;

    [Fact]
    public async Task SixteenEnrolmentsAtOnce_AllSucceed_AndEveryDeviceCanConnect()
    {
        await using var app = new MessagingApp(storage);
        var service = await app.CreateOrganisationAsync();
        var members = new List<TestMember>();
        for (var i = 0; i < Enrolments; i++)
        {
            members.Add(await app.CreateMemberAsync(service));
        }

        var keyLogBefore = await app.CountAsync("key_log");
        var devices = await Task.WhenAll(members.Select(m => Task.Run(() => app.EnrolDeviceAsync(m))));

        Assert.Equal(Enrolments, devices.Select(d => d.Id).Distinct().Count());
        Assert.Equal(keyLogBefore + Enrolments, await app.CountAsync("key_log"));
        Assert.True((await KeyLog.VerifyAsync(app.Database, CancellationToken.None)).IsIntact);
        Assert.True((await AuditLog.VerifyAsync(app.Database, CancellationToken.None)).IsIntact);
        foreach (var device in devices)
        {
            await using var connected = await app.ConnectAsync(device);
        }
    }

    public sealed class OnSqlite() : ConcurrentEnrolmentTests(StorageProvider.Sqlite);

    public sealed class OnPostgres() : ConcurrentEnrolmentTests(StorageProvider.Postgres);
}
