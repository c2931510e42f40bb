using System.ComponentModel.DataAnnotations;
using Messaging.Contracts;
using Messaging.Server.Features.Audit;
using Messaging.Server.Features.Devices;
using Messaging.Server.Features.Envelopes;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Tests.Persistence;

/// <summary>PostgreSQL storage: migrations per provider, parallel writers, the hash chains' serial appends.</summary>
public sealed class PostgresDatabaseTests
{
    /// <summary>A fresh, migrated database of its own on the test server, dropped when disposed.</summary>
    private sealed class TestDatabase : IAsyncDisposable
    {
        private readonly string _name = TestPostgres.CreateDatabase();

        public IOptions<StorageOptions> Options => OptionsFor(TestPostgres.ConnectionString(_name));

        public static async Task<TestDatabase> CreateAsync()
        {
            var test = new TestDatabase();
            await using var database = test.Open();
            await new MigrationRunner(test.Options, database, TimeProvider.System, NullLogger<MigrationRunner>.Instance).MigrateAsync(CancellationToken.None);
            return test;
        }

        /// <summary>One more server process's view of the database: its own data source and pool.</summary>
        public PostgresDatabase Open() => new(Options);

        /// <summary>A view whose pool holds one connection: every unit runs on the same one.</summary>
        public PostgresDatabase OpenWithOneConnection() => new(OptionsFor(TestPostgres.ConnectionString(_name) + ";Maximum Pool Size=1"));

        private static IOptions<StorageOptions> OptionsFor(string connectionString) => Microsoft.Extensions.Options.Options.Create(new StorageOptions
        {
            Provider = StorageProvider.Postgres,
            ConnectionString = connectionString,
        });

        public ValueTask DisposeAsync() => new(TestPostgres.DropDatabaseAsync(_name));
    }

    [Fact]
    public void EverySqliteMigration_HasAPostgresTwin_WithTheSameNumberAndName()
    {
        var sqlite = MigrationRunner.LoadScripts(StorageProvider.Sqlite).Select(s => s.Name).ToList();
        var postgres = MigrationRunner.LoadScripts(StorageProvider.Postgres).Select(s => s.Name).ToList();

        Assert.NotEmpty(sqlite);
        Assert.Equal(sqlite, postgres);
    }

    [Fact]
    public async Task BothProviders_MigrateToTheSameTablesAndColumns()
    {
        await using var sqlite = new MessagingApp(StorageProvider.Sqlite);
        await using var postgres = new MessagingApp(StorageProvider.Postgres);
        _ = sqlite.Server;
        _ = postgres.Server;

        var sqliteColumns = await sqlite.QueryRowsAsync(
            """
            SELECT m.name || '.' || p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p
            WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite%' ORDER BY 1;
            """);
        var postgresColumns = await postgres.QueryRowsAsync(
            """
            SELECT table_name || '.' || column_name FROM information_schema.columns
            WHERE table_schema = 'public' ORDER BY (table_name || '.' || column_name) COLLATE "C";
            """);

        Assert.Equal(sqliteColumns.Select(r => r[0]), postgresColumns.Select(r => r[0]));
    }

    [Fact]
    public void ThePostgresProvider_WithoutAValidConnectionString_IsRefused_WithoutQuotingIt()
    {
        static List<ValidationResult> Validate(string? connectionString)
        {
            var options = new StorageOptions { Provider = StorageProvider.Postgres, ConnectionString = connectionString };
            var results = new List<ValidationResult>();
            Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true);
            return results;
        }

        Assert.Contains(Validate(null), r => r.MemberNames.Contains(nameof(StorageOptions.ConnectionString)));
        var malformed = Validate("Host=db;Database=messaging;Password=hunter2-secret;Colour=blue");
        var refusal = Assert.Single(malformed);
        Assert.DoesNotContain("hunter2", refusal.ErrorMessage, StringComparison.Ordinal);
        Assert.Empty(Validate("Host=db;Database=messaging;Username=messaging;Password=hunter2-secret"));
    }

    [Theory]
    [InlineData("Host=db;Database=messaging", false)]
    [InlineData("Host=db;Database=messaging;Maximum Pool Size=50", true)]
    [InlineData("Host=db;Database=messaging;maxpoolsize=50", true)]
    [InlineData("Host=db;Database=messaging;Max Pool Size=50", true)]
    [InlineData("Host=db;Database=messaging;Minimum Pool Size=2", false)]
    public void ThePoolBound_IsTheConnectionStrings_WhenItSetsOne(string connectionString, bool sets)
    {
        Assert.Equal(sets, PostgresDatabase.SetsPoolSize(connectionString));
        Assert.Equal(Math.Max(8, 4 * Environment.ProcessorCount), PostgresDatabase.DefaultMaxPoolSize);
    }

    [Fact]
    public async Task ABurstOfReads_UsesNoMoreBackendsThanTheDefaultBound_AndEachReadCompletes()
    {
        await using var test = await TestDatabase.CreateAsync();
        await using var database = test.Open();
        var bound = PostgresDatabase.DefaultMaxPoolSize;

        // Ten times the bound at once, each holding its connection long enough for all to overlap.
        var seen = await Task.WhenAll(Enumerable.Range(0, 10 * bound).Select(_ => database.ReadAsync(async s =>
        {
            var backends = await s.QueryAsync(
                "SELECT (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'messaging'), pg_sleep(0.05);",
                r => r.GetInt64(0));
            return backends.Single();
        })));

        Assert.Equal(10 * bound, seen.Length);
        Assert.InRange(seen.Max(), 1, bound);
        Assert.Equal(bound, seen.Max());
    }

    [Fact]
    public async Task AReadStartedInsideAWriteUnit_IsRefused_AndTheUnitIsRolledBack()
    {
        await using var test = await TestDatabase.CreateAsync();
        await using var database = test.Open();

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => database.WriteAsync(async s =>
        {
            await s.ExecuteAsync("INSERT INTO organisations (id, name, type, created_at) VALUES ('inside', 'Inside', 'prevention-service', 1);");
            return await database.ReadAsync(r => Task.FromResult(0));
        }));

        Assert.Contains("DbSession", refused.Message, StringComparison.Ordinal);
        Assert.Equal(0, await database.ReadAsync(async s => (await s.QueryAsync("SELECT count(*) FROM organisations WHERE id = 'inside';", r => r.GetInt64(0))).Single()));
    }

    [Fact]
    public async Task TwoProcessesWritingAtOnce_KeepBothHashChainsValid_AndLoseNoEnvelope()
    {
        await using var test = await TestDatabase.CreateAsync();
        await using var first = test.Open();
        await using var second = test.Open();
        var keyLog = new KeyLog(TimeProvider.System);
        var auditLog = new AuditLog(TimeProvider.System);
        const int UnitsPerProcess = 40;

        // Each unit appends to both chains and stores an envelope, as an enrolment and a send would, from two pools.
        async Task<long> UnitAsync(PostgresDatabase database, int i) => await database.WriteAsync(async s =>
        {
            var device = Guid.NewGuid();
            var member = Guid.NewGuid();
            await keyLog.AppendAsync(s, KeyLogAction.Added, device, member, new byte[32]);
            await auditLog.AppendAsync(s, new AuditEvent(AuditEventTypes.DeviceEnrolled, member, device, [AuditSubject.Device(device)]));
            var now = DbValues.ToStoragePrecision(DateTimeOffset.FromUnixTimeMilliseconds(1_900_000_000_000 + i));
            // Serializable, and committed in the store's own batch: a serialization failure at that commit runs the unit again.
            return (await EnvelopeRepository.StoreAsync(s, new NewEnvelope(device, member, Guid.NewGuid(), Guid.NewGuid(), EnvelopeKind.Chat, now,
                now.AddDays(1), [new RecipientCiphertext(Guid.NewGuid(), [1, 2, 3])]), [], commit: true)).Sequence
                ?? throw new InvalidOperationException("A fresh envelope id conflicted.");
        });

        var sequences = await Task.WhenAll(Enumerable.Range(0, UnitsPerProcess)
            .SelectMany(i => new[] { UnitAsync(first, i), UnitAsync(second, i) }));

        Assert.Equal(2 * UnitsPerProcess, sequences.Distinct().Count());
        var keys = await KeyLog.VerifyAsync(first, CancellationToken.None);
        var audit = await AuditLog.VerifyAsync(second, CancellationToken.None);
        Assert.True(keys.IsIntact);
        Assert.True(audit.IsIntact);
        Assert.Equal(2 * UnitsPerProcess, keys.Entries);
        Assert.Equal(2 * UnitsPerProcess, audit.Entries);
        Assert.Equal(2 * UnitsPerProcess, await first.ReadAsync(s => s.ScalarInt64Async("SELECT COUNT(*) FROM envelope_recipients;")));
    }

    [Fact]
    public async Task AUnitThatThrows_IsRolledBack_AndItsCallerGetsItsException()
    {
        await using var test = await TestDatabase.CreateAsync();
        await using var database = test.Open();
        var auditLog = new AuditLog(TimeProvider.System);

        await Assert.ThrowsAsync<InvalidDataException>(() => database.WriteAsync<int>(async s =>
        {
            await auditLog.AppendAsync(s, new AuditEvent(AuditEventTypes.OrganisationCreated, null, null, []));
            throw new InvalidDataException("refused");
        }));

        Assert.Equal(0, (await AuditLog.VerifyAsync(database, CancellationToken.None)).Entries);
    }

    [Fact]
    public async Task AUnitThatCommitsInItsLastBatch_IsCommittedOnce_AndNothingMoreRunsInIt()
    {
        await using var test = await TestDatabase.CreateAsync();
        await using var database = test.OpenWithOneConnection();
        var before = await CountOrganisationsAsync(database);
        async Task<string> SynchronousCommitAsync() => await database.ReadAsync(async s => (await s.QueryAsync("SHOW synchronous_commit;", r => r.GetString(0))).Single());
        var setting = await SynchronousCommitAsync();
        Assert.NotEqual("local", setting);

        var (rows, changed) = await database.WriteAsync(async s =>
        {
            var result = await s.QueryThenExecuteEachAsync(OrganisationCount, _ => { },
                [("SET LOCAL synchronous_commit = local;", []), (InsertOrganisation, [("@id", Guid.NewGuid())])], commit: true);
            Assert.True(s.Committed);
            await Assert.ThrowsAsync<InvalidOperationException>(() => s.ExecuteAsync(InsertOrganisation, ("@id", Guid.NewGuid())));
            return result;
        });

        Assert.Equal([before], rows);
        Assert.Equal([-1, 1], changed);
        Assert.Equal(before + 1, await CountOrganisationsAsync(database));
        // The transaction's setting ended with it: the pool's one connection is handed on as it was.
        Assert.Equal(setting, await SynchronousCommitAsync());
    }

    [Fact]
    public async Task AUnitWhoseLastBatchFailsAfterItsFirstStatement_CommitsNothing()
    {
        await using var test = await TestDatabase.CreateAsync();
        await using var database = test.Open();
        var before = await CountOrganisationsAsync(database);
        var id = Guid.NewGuid();

        await Assert.ThrowsAsync<Npgsql.PostgresException>(() => database.WriteAsync(s => s.QueryThenExecuteEachAsync(OrganisationCount, _ => { },
            [(InsertOrganisation, [("@id", Guid.NewGuid())]), (InsertOrganisation, [("@id", id)]), (InsertOrganisation, [("@id", id)])], commit: true)));

        Assert.Equal(before, await CountOrganisationsAsync(database));
    }

    [Fact]
    public async Task AUnitThatAsksToRunAgainAfterItsCommit_RunsAgain_AndKeepsWhatItsFirstRunCommitted()
    {
        await using var test = await TestDatabase.CreateAsync();
        await using var database = test.Open();
        var before = await CountOrganisationsAsync(database);
        var runs = 0;

        var answer = await database.WriteAsync(async s =>
        {
            runs++;
            var (rows, _) = await s.QueryThenExecuteEachAsync(OrganisationCount, _ => { }, [(InsertOrganisation, [("@id", Guid.NewGuid())])], commit: runs == 1);
            return runs == 1 ? throw new DbRunAgainException() : rows.Single();
        }, WriteIsolation.ReadCommitted);

        Assert.Equal(2, runs);
        Assert.Equal(before + 1, answer);
        Assert.Equal(before + 2, await CountOrganisationsAsync(database));
    }

    private static readonly DbQuery<long> OrganisationCount = new("SELECT COUNT(*) FROM organisations;", r => r.GetInt64(0));

    private static async Task<long> CountOrganisationsAsync(PostgresDatabase database)
        => (await database.ReadAsync(s => s.QueryAsync(OrganisationCount))).Single();

    private const string InsertOrganisation = """
        INSERT INTO organisations (id, name, type, created_at) VALUES (@id, 'Service', 'prevention', 0);
        """;
}
