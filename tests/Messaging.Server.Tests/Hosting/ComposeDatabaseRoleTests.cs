using System.Diagnostics;
using System.Security.Cryptography;
using Messaging.Server.Features.Envelopes;
using Messaging.Server.Tests.Infrastructure;
using Npgsql;

namespace Messaging.Server.Tests;

/// <summary>
/// The compose deployment's database role (<c>ops/compose/postgres-init/10-messaging-role.sh</c>), run as the postgres
/// image runs it — connected as the superuser to the new database — on the test PostgreSQL: the role it creates is not a
/// superuser and cannot create roles or databases, yet owns the database, and a server logged in as it migrates,
/// installs its jobs' schema, delivers a message, and may vacuum the envelope tables it created.
/// </summary>
public sealed class ComposeDatabaseRoleTests
{
    private static readonly string Script = Path.Combine(OpsFilesTests.Root, "ops", "compose", "postgres-init", "10-messaging-role.sh");

    [Fact]
    public async Task TheInitScript_CreatesAnOwnerThatIsNotASuperuser_AndTheServerRunsAsIt()
    {
        var database = TestPostgres.CreateDatabase();
        var role = "messaging_role_" + Guid.NewGuid().ToString("N")[..12];
        // Quotes and a comment marker: the password must reach PostgreSQL as data, whatever it holds.
        var password = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)) + "'\"; -- x";
        var admin = new NpgsqlConnectionStringBuilder(TestPostgres.AdminConnectionString);
        try
        {
            var (exitCode, output) = await RunScriptAsync(admin, database, role, password);
            Assert.True(exitCode == 0, output);

            var attributes = await AdminQueryAsync(database,
                "SELECT rolsuper, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, rolbypassrls FROM pg_roles WHERE rolname = @role",
                role, r => (r.GetBoolean(0), r.GetBoolean(1), r.GetBoolean(2), r.GetBoolean(3), r.GetBoolean(4), r.GetBoolean(5)));
            Assert.Equal((false, false, false, true, false, false), Assert.Single(attributes));
            Assert.Equal(role, Assert.Single(await AdminQueryAsync(database,
                "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()", null, r => r.GetString(0))));

            var asRole = new NpgsqlConnectionStringBuilder(admin.ConnectionString) { Database = database, Username = role, Password = password }.ConnectionString;
            await using (var app = new MessagingApp(new Dictionary<string, string?>
            {
                ["Messaging:Storage:Provider"] = "Postgres",
                ["Messaging:Storage:ConnectionString"] = asRole,
            }))
            {
                var service = await app.CreateOrganisationAsync();
                var other = await app.CreateMemberAsync(service);
                await using var sender = await app.ConnectWorkerAsync(service);
                await using var receiver = await app.ConnectAsync(await app.EnrolDeviceAsync(other));
                var conversation = await MessagingApp.CreateConversationAsync(sender, false, other);
                await MessagingApp.SendAsync(sender, conversation.ConversationId);
                Assert.Single(await receiver.ReceiveAsync(1));
            }

            // Everything the server created (its tables and Hangfire's) belongs to the role: its VACUUM of the envelope
            // tables runs without a permission warning.
            var owners = await AdminQueryAsync(database,
                "SELECT schemaname, tableowner = @role FROM pg_tables WHERE schemaname IN ('public', 'hangfire')", role, r => (r.GetString(0), r.GetBoolean(1)));
            Assert.Contains(owners, o => o.Item1 == "public");
            Assert.Contains(owners, o => o.Item1 == "hangfire");
            Assert.All(owners, o => Assert.True(o.Item2, $"a table in {o.Item1} is not the role's"));
            var notices = new List<string>();
            await using (var connection = new NpgsqlConnection(asRole + ";Pooling=false"))
            {
                connection.Notice += (_, e) => notices.Add(e.Notice.MessageText);
                await connection.OpenAsync();
                await using var vacuum = new NpgsqlCommand(EnvelopeTableUpkeep.Statement, connection);
                await vacuum.ExecuteNonQueryAsync();
            }

            Assert.Empty(notices);
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await TestPostgres.DropDatabaseAsync(database);
            await using var connection = new NpgsqlConnection(TestPostgres.AdminConnectionString);
            await connection.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP ROLE IF EXISTS {role}", connection);
            await drop.ExecuteNonQueryAsync();
        }
    }

    /// <summary>Runs the script with the variables the postgres image and compose.yaml give it, over TCP to the test
    /// server instead of the image's socket.</summary>
    private static async Task<(int ExitCode, string Output)> RunScriptAsync(NpgsqlConnectionStringBuilder admin, string database, string role, string password)
    {
        var info = new ProcessStartInfo("sh") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Script);
        info.Environment["POSTGRES_USER"] = admin.Username;
        info.Environment["POSTGRES_DB"] = database;
        info.Environment["MESSAGING_DB_USER"] = role;
        info.Environment["MESSAGING_DB_PASSWORD"] = password;
        info.Environment["PGHOST"] = admin.Host;
        info.Environment["PGPORT"] = admin.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        info.Environment["PGPASSWORD"] = admin.Password;
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output + await error);
    }

    private static async Task<List<T>> AdminQueryAsync<T>(string database, string sql, string? role, Func<NpgsqlDataReader, T> read)
    {
        await using var connection = new NpgsqlConnection(TestPostgres.ConnectionString(database, pooling: false));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        if (role is not null)
        {
            command.Parameters.AddWithValue("role", role);
        }

        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<T>();
        while (await reader.ReadAsync())
        {
            rows.Add(read(reader));
        }

        return rows;
    }
}
