using Messaging.Contracts;
using Messaging.Server.Features.Audit;
using Messaging.Server.Features.Devices;
using Messaging.Server.Hosting;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Messaging.Server.Tests;

public abstract class KeyLogAndAuditTests(StorageProvider storage)
{
    private static async Task<List<KeyLogEntry>> FetchKeyLogAsync(ConnectedDevice device)
    {
        var entries = new List<KeyLogEntry>();
        while (true)
        {
            var page = await device.Hub.InvokeAsync<KeyLogPage>(nameof(IMessagingHub.GetKeyLog), new GetKeyLogRequest(entries.Count, 2));
            entries.AddRange(page.Entries);
            if (!page.HasMore)
            {
                return entries;
            }
        }
    }

    [Fact]
    public async Task TheKeyLog_RecordsEveryAddedAndRevokedKey_AndItsChainVerifiesOnTheClient()
    {
        await using var app = new MessagingApp(storage);
        var organisation = await app.CreateOrganisationAsync();
        var worker = await app.CreateMemberAsync(organisation);
        var device = await app.EnrolDeviceAsync(worker);
        var spare = await app.EnrolDeviceAsync(worker);
        (await (await app.ClientAsync(organisation.Admin)).PostAsync(ApiRoutes.RevokeDeviceFor(spare.Id), null)).EnsureSuccessStatusCode();
        await using var connected = await app.ConnectAsync(device);

        var entries = await FetchKeyLogAsync(connected);

        Assert.Null(KeyLogHash.FindFirstBroken(entries, 0, KeyLogHash.Genesis()));
        Assert.Contains(entries, e => e.DeviceId == device.Id && e.Action == KeyLogAction.Added
            && e.IdentityKey.AsSpan().SequenceEqual(device.Keys.Identity.PublicKey.ToBytes()));
        Assert.Equal([KeyLogAction.Added, KeyLogAction.Revoked], entries.Where(e => e.DeviceId == spare.Id).Select(e => e.Action));
        Assert.True((await KeyLog.VerifyAsync(app.Database, CancellationToken.None)).IsIntact);
    }

    [Fact]
    public async Task ASwappedKeyInTheKeyLog_IsDetected()
    {
        await using var app = new MessagingApp(storage);
        var organisation = await app.CreateOrganisationAsync();
        var device = await app.EnrolDeviceAsync(await app.CreateMemberAsync(organisation));
        await app.EnrolDeviceAsync(await app.CreateMemberAsync(organisation));
        var attacker = DeviceKeys.Generate().Identity.PublicKey.ToBytes();

        await app.ExecuteSqlAsync($"UPDATE key_log SET identity_key = {app.BlobLiteral(attacker)} WHERE idx = 2;");

        await using var connected = await app.ConnectAsync(device);
        Assert.Equal(2, KeyLogHash.FindFirstBroken(await FetchKeyLogAsync(connected), 0, KeyLogHash.Genesis()));
        Assert.Equal(2, (await KeyLog.VerifyAsync(app.Database, CancellationToken.None)).FirstBrokenIndex);
    }

    [Fact]
    public async Task TheAuditLog_ChainVerifies_AndRecordsMetadataOnly()
    {
        await using var app = new MessagingApp(storage);
        var organisation = await app.CreateOrganisationAsync();
        var worker = await app.CreateMemberAsync(organisation, displayName: "Adélaïde Secretname", email: "adelaide.secret@service.example");
        var device = await app.EnrolDeviceAsync(worker);
        await using var connected = await app.ConnectAsync(device);
        var conversation = await MessagingApp.CreateConversationAsync(connected, false, organisation.Admin.Member);
        await MessagingApp.SendAsync(connected, conversation.ConversationId);

        var verification = await AuditLog.VerifyAsync(app.Database, CancellationToken.None);

        Assert.True(verification.IsIntact);
        var types = new[]
        {
            AuditEventTypes.OrganisationCreated, AuditEventTypes.MemberCreated, AuditEventTypes.EnrolmentCodeIssued,
            AuditEventTypes.DeviceEnrolled, AuditEventTypes.ConversationCreated,
        };
        foreach (var type in types)
        {
            Assert.True(await app.CountAsync("audit_log", $"event_type = '{type}'") > 0, type);
        }

        // Individual envelopes are not audited: no lasting map of who wrote where and when.
        Assert.Equal(0, await app.CountAsync("audit_log", "event_type LIKE 'envelope.%' OR subjects LIKE '%envelope:%'"));

        Assert.Equal(0, await app.CountAsync("audit_log", "subjects LIKE '%Secretname%' OR subjects LIKE '%adelaide%' OR detail LIKE '%adelaide%'"));
    }

    [Theory]
    [InlineData("UPDATE audit_log SET subjects = 'member:00000000-0000-0000-0000-000000000001' WHERE idx = 3;", 3)]
    [InlineData("UPDATE audit_log SET occurred_at = occurred_at + 1 WHERE idx = 1;", 1)]
    [InlineData("DELETE FROM audit_log WHERE idx = 2;", 2)]
    public async Task ATamperedAuditRow_IsDetected_ByTheVerifyCommand(string tamper, long brokenAt)
    {
        await using var app = new MessagingApp(storage);
        var organisation = await app.CreateOrganisationAsync();
        await app.EnrolDeviceAsync(await app.CreateMemberAsync(organisation));
        var (command, _) = HostCommand.Parse(["verify-audit"]);
        using (var intact = new StringWriter())
        {
            Assert.Equal(0, await command!.RunAsync(app.Services, intact));
            Assert.Contains("audit-log: intact", intact.ToString(), StringComparison.Ordinal);
            Assert.Contains("key-log: intact", intact.ToString(), StringComparison.Ordinal);
        }

        await app.ExecuteSqlAsync(tamper);

        using var output = new StringWriter();
        Assert.Equal(1, await command.RunAsync(app.Services, output));
        Assert.Contains($"audit-log: BROKEN at index {brokenAt}", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheBootstrapCommand_CreatesAnOperatorWhoseCodeEnrolsADevice()
    {
        await using var app = new MessagingApp(storage);
        _ = app.Server;
        var (command, configuration) = HostCommand.Parse(["bootstrap", "--organisation", "Plateforme", "--type", "operator",
            "--operator", "Op Erator", "--email", "op@platform.example", "--Messaging:Storage:DataDirectory", "ignored"]);
        using var output = new StringWriter();

        Assert.Equal(["--Messaging:Storage:DataDirectory", "ignored"], configuration);
        Assert.Equal(0, await command!.RunAsync(app.Services, output));

        var code = output.ToString().Split('\n').Single(l => l.StartsWith("enrolment code ", StringComparison.Ordinal)).Split(' ')[2];
        var response = await app.PostEnrolmentAsync(DeviceKeys.Generate().Request(code));
        response.EnsureSuccessStatusCode();
        Assert.DoesNotContain(app.Logs.Lines, l => l.Contains(code, StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheBootstrapCommand_WithAnUnknownOrganisationType_PrintsTheErrorAndCreatesNothing()
    {
        await using var app = new MessagingApp(storage);
        _ = app.Server;
        var (command, _) = HostCommand.Parse(["bootstrap", "--organisation", "Plateforme", "--type", "no-such-type",
            "--operator", "Op Erator", "--email", "op@platform.example"]);
        using var output = new StringWriter();

        Assert.Equal(2, await command!.RunAsync(app.Services, output));

        Assert.StartsWith("error: ", output.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("enrolment code", output.ToString(), StringComparison.Ordinal);
        Assert.Equal(0, await app.CountAsync("organisations", "name = 'Plateforme'"));
    }

    public sealed class OnSqlite() : KeyLogAndAuditTests(StorageProvider.Sqlite);

    public sealed class OnPostgres() : KeyLogAndAuditTests(StorageProvider.Postgres);
}
