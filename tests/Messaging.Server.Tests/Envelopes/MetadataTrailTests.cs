using System.Text;
using Messaging.Contracts;
using Messaging.Server.Features.Audit;
using Messaging.Server.Hosting;
using Messaging.Server.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace Messaging.Server.Tests.Envelopes;

/// <summary>An envelope's metadata lives only while it is undelivered (DESIGN.md section 2): once every recipient
/// acknowledged it, the database is as it was before the send — in every table, and in the bytes of the file.</summary>
public sealed class MetadataTrailTests
{
    [Fact]
    public async Task AfterDeliveryAndAcknowledgement_NoTableHoldsTheEnvelopesSenderConversationOrTime()
    {
        await using var app = new MessagingApp();
        var organisation = await app.CreateOrganisationAsync();
        await using var sender = await app.ConnectWorkerAsync(organisation);
        await using var recipient = await app.ConnectWorkerAsync(organisation);
        var conversation = await MessagingApp.CreateConversationAsync(sender, false, recipient.Device.Member);
        var request = await MessagingApp.BuildSendAsync(sender, conversation.ConversationId);
        app.Clock.Advance(TimeSpan.FromSeconds(37)); // a send instant no earlier row carries
        var before = await SnapshotAsync(app);

        var accepted = await sender.SendAsync(request);
        Assert.Equal(SendOutcome.Accepted, accepted.Outcome);
        Assert.NotEqual(before, await SnapshotAsync(app)); // the snapshot sees the envelope while it waits
        Assert.Equal(1, (await recipient.AcknowledgeAsync(accepted.Sequence)).Acknowledged);

        // Every row of every table is what it was before the send: no sender, conversation, kind or time of it remains.
        var after = await SnapshotAsync(app);
        Assert.Equal(before.Keys, after.Keys);
        foreach (var (table, rows) in before)
        {
            Assert.True(rows.SequenceEqual(after[table]), $"table {table} changed");
        }

        var sentAt = accepted.AcceptedAt!.Value.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        Assert.DoesNotContain(after.Values.SelectMany(r => r), row => row.Contains(sentAt, StringComparison.Ordinal));

        // And the file itself: deleted rows are overwritten (secure_delete), so neither the envelope id nor a ciphertext
        // can be carved out of free space.
        var file = await CheckpointedFileAsync(app);
        Assert.Equal(-1, file.AsSpan().IndexOf(Encoding.ASCII.GetBytes(request.EnvelopeId.ToString("D"))));
        Assert.Equal(-1, file.AsSpan().IndexOf(request.Recipients[0].Ciphertext));
    }

    [Fact]
    public async Task AnAuditChainWithEnvelopeEntriesFromBeforeTheChange_StillVerifies_AndItsTamperingIsFound()
    {
        await using var app = new MessagingApp();
        var organisation = await app.CreateOrganisationAsync();
        var audit = app.Services.GetRequiredService<AuditLog>();
        // What the server appended for each accepted envelope until issue 12.
        var index = await app.Database.WriteAsync(s => audit.AppendAsync(s, new AuditEvent("envelope.accepted", organisation.Admin.Member.Id,
            organisation.Admin.Id, [AuditSubject.Conversation(Guid.NewGuid()), new AuditSubject("envelope", Guid.NewGuid())], "chat")));
        await app.CreateMemberAsync(organisation); // entries after it, written by today's code

        var (command, _) = HostCommand.Parse(["verify-audit"]);
        using (var intact = new StringWriter())
        {
            Assert.Equal(0, await command!.RunAsync(app.Services, intact));
            Assert.Contains("audit-log: intact", intact.ToString(), StringComparison.Ordinal);
        }

        await app.ExecuteSqlAsync($"UPDATE audit_log SET detail = 'case-file' WHERE idx = {index};");
        using var broken = new StringWriter();
        Assert.Equal(1, await command.RunAsync(app.Services, broken));
        Assert.Contains($"audit-log: BROKEN at index {index}", broken.ToString(), StringComparison.Ordinal);
    }

    /// <summary>Every user table's rows, as text, in a stable order. <c>sqlite_sequence</c> is left out: it holds one
    /// number per table (the highest envelope sequence ever used), nothing about any envelope.</summary>
    private static async Task<Dictionary<string, List<string>>> SnapshotAsync(MessagingApp app)
    {
        var snapshot = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var tables = await app.QueryRowsAsync("SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'sqlite_sequence' ORDER BY name;");
        foreach (var table in tables.Select(t => t[0]!))
        {
            var rows = await app.QueryRowsAsync($"SELECT * FROM \"{table}\";");
            snapshot[table] = [.. rows.Select(r => string.Join('|', r.Select(v => v ?? "∅"))).Order(StringComparer.Ordinal)];
        }

        return snapshot;
    }

    /// <summary>The database file's bytes once the WAL is checkpointed into it and truncated.</summary>
    private static async Task<byte[]> CheckpointedFileAsync(MessagingApp app)
    {
        await using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = app.DatabasePath, Pooling = false }.ToString()))
        {
            await connection.OpenAsync();
            await using var checkpoint = connection.CreateCommand();
            checkpoint.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";
            for (var attempt = 0; ; attempt++)
            {
                await using var reader = await checkpoint.ExecuteReaderAsync();
                Assert.True(await reader.ReadAsync());
                if (reader.GetInt64(0) == 0)
                {
                    break;
                }

                Assert.True(attempt < 50, "the WAL could not be checkpointed");
                await Task.Delay(100);
            }
        }

        var wal = app.DatabasePath + "-wal";
        Assert.True(!File.Exists(wal) || new FileInfo(wal).Length == 0, "the WAL still holds frames");
        await using var file = new FileStream(app.DatabasePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var bytes = new MemoryStream();
        await file.CopyToAsync(bytes);
        return bytes.ToArray();
    }
}
