using Messaging.Contracts;
using Messaging.Contracts.Referrals;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace Messaging.Server.Tests;

/// <summary>
/// Issue 11, items 3 and 8: the SDK opens a referral (or answers one) before it sends the envelope, so a failed send is
/// mended by a retry of the same call — which the server answers with the entry as it stands, audited once. Anything
/// that is not the same call retried is refused as before. And a referral's answer is stored without a lasting trace
/// of a tripartite proposal.
/// </summary>
public abstract class ReferralRetryTests(StorageProvider storage)
{
    private async Task<(MessagingApp App, TestOrganisation A, TestOrganisation B, ConnectedDevice WorkerA, ConnectedDevice WorkerB, ConnectedDevice WorkerC)> SetUpAsync()
    {
        var app = new MessagingApp(storage);
        var a = await app.CreateOrganisationAsync();
        var b = await app.CreateOrganisationAsync();
        var c = await app.CreateOrganisationAsync();
        return (app, a, b, await app.ConnectWorkerAsync(a), await app.ConnectWorkerAsync(b), await app.ConnectWorkerAsync(c));
    }

    private static Task<long> StatusEntriesAsync(MessagingApp app, string detail)
        => app.CountAsync("audit_log", $"event_type = 'referral.status-changed' AND detail = '{detail}'");

    [Fact]
    public async Task OpeningAgain_BySameOrganisationForSameService_ReturnsTheOpenReferral_AuditedOnce()
    {
        var (app, a, b, workerA, _, _) = await SetUpAsync();
        await using var _app = app;
        var opened = await MessagingApp.OpenReferralAsync(workerA, b.Id);
        app.Clock.Advance(TimeSpan.FromMinutes(2));

        Assert.Equal(opened, await MessagingApp.OpenReferralAsync(workerA, b.Id, opened.CaseReference));
        await using var colleague = await app.ConnectAsync(a.Admin);
        Assert.Equal(opened, await MessagingApp.OpenReferralAsync(colleague, b.Id, opened.CaseReference));
        Assert.Equal(1, await app.CountAsync("referrals"));
        Assert.Equal(1, await StatusEntriesAsync(app, "proposed"));
    }

    [Fact]
    public async Task OpeningAgain_ForAnotherService_ByAnotherOrganisation_OrAfterAnAnswer_IsRefused()
    {
        var (app, a, b, workerA, workerB, workerC) = await SetUpAsync();
        await using var _app = app;
        var other = await app.CreateOrganisationAsync();
        var opened = await MessagingApp.OpenReferralAsync(workerA, b.Id);

        await Refusal.AssertHubAsync(ErrorCodes.CaseReferenceInUse, () => MessagingApp.OpenReferralAsync(workerA, other.Id, opened.CaseReference));
        await Refusal.AssertHubAsync(ErrorCodes.CaseReferenceInUse, () => MessagingApp.OpenReferralAsync(workerC, b.Id, opened.CaseReference));
        await Refusal.AssertHubAsync(ErrorCodes.CaseReferenceInUse, () => MessagingApp.OpenReferralAsync(workerB, a.Id, opened.CaseReference));

        await MessagingApp.RespondAsync(workerB, opened.CaseReference, ReferralResponse.ProposeTripartite);
        await Refusal.AssertHubAsync(ErrorCodes.CaseReferenceInUse, () => MessagingApp.OpenReferralAsync(workerA, b.Id, opened.CaseReference));
        Assert.Equal(1, await app.CountAsync("referrals"));
        Assert.Equal(1, await StatusEntriesAsync(app, "proposed"));
    }

    public static TheoryData<ReferralResponse, ReferralDeclineReason?, string> Answers() => new()
    {
        { ReferralResponse.Accept, null, "accepted" },
        { ReferralResponse.Decline, ReferralDeclineReason.NoCapacity, "declined" },
        { ReferralResponse.ProposeTripartite, null, "tripartite-proposed" },
    };

    [Theory]
    [MemberData(nameof(Answers))]
    public async Task AnsweringAgain_WithTheSameAnswer_ReturnsTheCurrentEntryUnchanged_AuditedOnce(ReferralResponse response, ReferralDeclineReason? reason, string detail)
    {
        var (app, _, b, workerA, workerB, _) = await SetUpAsync();
        await using var _app = app;
        var opened = await MessagingApp.OpenReferralAsync(workerA, b.Id);
        var answered = await MessagingApp.RespondAsync(workerB, opened.CaseReference, response, reason);
        app.Clock.Advance(TimeSpan.FromMinutes(5));

        await using var colleague = await app.ConnectAsync(b.Admin);
        Assert.Equal(answered, await MessagingApp.RespondAsync(colleague, opened.CaseReference, response, reason));
        Assert.Equal(answered, await MessagingApp.ReferralAsync(workerA, opened.CaseReference));
        Assert.Equal(1, await StatusEntriesAsync(app, detail));

        // Not the same call: the referring side, a different reason, a different answer.
        await Refusal.AssertHubAsync(ErrorCodes.ReferralWrongParty, () => MessagingApp.RespondAsync(workerA, opened.CaseReference, response, reason));
        if (response == ReferralResponse.Decline)
        {
            await Refusal.AssertHubAsync(ErrorCodes.ReferralTransitionRefused,
                () => MessagingApp.RespondAsync(workerB, opened.CaseReference, ReferralResponse.Decline, ReferralDeclineReason.Other));
        }

        var different = response == ReferralResponse.Accept ? ReferralResponse.ProposeTripartite : ReferralResponse.Accept;
        if (response != ReferralResponse.ProposeTripartite)
        {
            await Refusal.AssertHubAsync(ErrorCodes.ReferralTransitionRefused, () => MessagingApp.RespondAsync(workerB, opened.CaseReference, different));
        }

        Assert.Equal(answered, await MessagingApp.ReferralAsync(workerA, opened.CaseReference));
    }

    [Fact]
    public async Task AnAcceptanceAfterATripartiteProposal_LeavesNoTraceOfTheProposal()
    {
        var (app, _, b, workerA, workerB, _) = await SetUpAsync();
        await using var _app = app;
        var opened = await MessagingApp.OpenReferralAsync(workerA, b.Id);
        var direct = await MessagingApp.OpenReferralAsync(workerA, b.Id);
        await MessagingApp.RespondAsync(workerB, opened.CaseReference, ReferralResponse.ProposeTripartite);
        app.Clock.Advance(TimeSpan.FromMinutes(3));
        await MessagingApp.RespondAsync(workerB, opened.CaseReference, ReferralResponse.Accept);
        await MessagingApp.RespondAsync(workerB, direct.CaseReference, ReferralResponse.Accept);

        // Both rows look alike: every column apart from the ids and times is equal, and no column names a proposal.
        var rows = await app.QueryRowsAsync(
            $"SELECT status, decline_reason, expires_at IS NULL, accepted_at = status_changed_at FROM referrals WHERE case_reference IN ('{opened.CaseReference}', '{direct.CaseReference}');");
        Assert.Equal(rows[0], rows[1]);
        var columns = await app.ColumnsAsync("referrals");
        Assert.DoesNotContain(columns, c => c!.Contains("tripartite", StringComparison.Ordinal));
    }

    /// <summary>The upgrade of a database the previous version left: written for SQLite, the embedded default.</summary>
    public sealed class OnSqlite() : ReferralRetryTests(StorageProvider.Sqlite)
    {
        [Fact]
        public async Task TheMigration_DropsTheProposalTime_AndKeepsEveryReferral()
        {
            // A database as the previous version left it: migrations 1 and 2, a referral accepted after a proposal.
            var directory = Path.Combine(Path.GetTempPath(), "messaging-server-tests", Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(directory);
            var path = Path.Combine(directory, "messaging.db");
            var caseReference = CaseReference.New();
            await using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString()))
            {
                await connection.OpenAsync();
                foreach (var (version, name, sql) in MigrationRunner.LoadScripts().Where(s => s.Version <= 2))
                {
                    await using var command = connection.CreateCommand();
                    command.CommandText = sql + (version == 1
                        ? "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL);"
                        : string.Empty) + $"INSERT INTO schema_migrations VALUES ({version}, '{name}', 0);";
                    await command.ExecuteNonQueryAsync();
                }

                await using var insert = connection.CreateCommand();
                insert.CommandText = $"""
                    INSERT INTO referrals (case_reference, id, referring_organisation_id, receiving_organisation_id, status, opened_at,
                        status_changed_at, expires_at, tripartite_proposed_at, accepted_at)
                    VALUES ('{caseReference}', '{Guid.NewGuid():D}', '5eed0000-0000-4000-8000-000000000001', '5eed0000-0000-4000-8000-000000000002',
                        3, 1000, 3000, NULL, 2000, 3000);
                    """;
                await insert.ExecuteNonQueryAsync();
            }

            await using (var app = new MessagingApp(new Dictionary<string, string?> { ["Messaging:Storage:DataDirectory"] = directory }))
            {
                Assert.Equal(System.Net.HttpStatusCode.OK, (await app.CreateClient().GetAsync(new Uri("/health/ready", UriKind.Relative))).StatusCode);
            }

            await using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString()))
            {
                await connection.OpenAsync();
                await using var command = connection.CreateCommand();
                command.CommandText = $"SELECT * FROM referrals WHERE case_reference = '{caseReference}';";
                await using var reader = await command.ExecuteReaderAsync();
                Assert.True(await reader.ReadAsync());
                var row = Enumerable.Range(0, reader.FieldCount).Where(i => i != 1).Select(i => reader.IsDBNull(i) ? null : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture));
                Assert.Equal([caseReference, "5eed0000-0000-4000-8000-000000000001", "5eed0000-0000-4000-8000-000000000002", "3", null, "1000", "3000", null, "3000", null], row);
                Assert.DoesNotContain(Enumerable.Range(0, reader.FieldCount).Select(reader.GetName), c => c.Contains("tripartite", StringComparison.Ordinal));
            }

            SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    public sealed class OnPostgres() : ReferralRetryTests(StorageProvider.Postgres);
}
