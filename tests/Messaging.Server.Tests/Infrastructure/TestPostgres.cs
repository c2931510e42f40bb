using System.Collections.Concurrent;
using System.Text;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;
using Messaging.Server.Persistence;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Messaging.Server.Tests.Infrastructure;

/// <summary>
/// The PostgreSQL server the test script starts (<c>ops/scripts/deps.sh</c>: a private cluster on a loopback port, its
/// superuser connection string in <see cref="Variable"/>). Each server a test starts gets a database of its own: a copy
/// of the migrated template with a random name, or one that an earlier test of this process gave back and that was
/// brought back to the template's state (<see cref="ReleaseMigratedDatabaseAsync"/>). Without the variable the
/// PostgreSQL variants fail with the remedy — they never pass or skip silently.
/// </summary>
public static class TestPostgres
{
    public const string Variable = "MESSAGING_TEST_POSTGRES";

    /// <summary>
    /// A database that the server's own <see cref="MigrationRunner"/> and Hangfire's installer have brought to the current
    /// schema, once per test process, and that holds nothing else: <see cref="CreateMigratedDatabase"/> copies it. The
    /// copy (PostgreSQL's <c>CREATE DATABASE … TEMPLATE</c>) costs a fraction of migrating anew at every server start.
    /// </summary>
    private static readonly Lazy<TemplateState> Template = new(CreateTemplate, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Databases given back, each in the template's state, ready for the next test.</summary>
    private static readonly ConcurrentBag<string> Recycled = [];

    /// <summary>The superuser connection string of the test server.</summary>
    public static string AdminConnectionString => Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } value
        ? value
        : throw new InvalidOperationException(
            $"{Variable} is not set: the PostgreSQL variants of the tests need the PostgreSQL server that the test script starts. "
            + "Run the tests with `bash ops/scripts/test.sh` (it installs and starts PostgreSQL, Redis and the mail servers, "
            + "then runs `dotnet test` with their addresses).");

    /// <summary>Creates an empty database with a random name and returns the name.</summary>
    public static string CreateDatabase()
    {
        var name = NewName();
        Execute($"CREATE DATABASE {name};");
        return name;
    }

    /// <summary>
    /// A database in the migrated template's state: the server that starts on it finds its migrations and Hangfire's
    /// schema applied (it checks both, as at any restart) and no row of data. It is one given back by an earlier test
    /// (<see cref="ReleaseMigratedDatabaseAsync"/>) when there is one, else a new copy of the template with a random name.
    /// Tests of the migrations themselves use <see cref="CreateDatabase"/>.
    /// </summary>
    public static string CreateMigratedDatabase()
    {
        var template = Template.Value;
        if (Recycled.TryTake(out var recycled))
        {
            return recycled;
        }

        var name = NewName();
        Execute($"CREATE DATABASE {name} TEMPLATE {template.Name};");
        return name;
    }

    /// <summary>
    /// Gives back a database of <see cref="CreateMigratedDatabase"/> once no server uses it any more. Creating and dropping
    /// a database cost PostgreSQL about half a CPU-second each time (some 300 files made and removed); instead, when the
    /// database's schema and its template rows (the migrations applied, Hangfire's schema version) are still the
    /// template's, every other row is deleted, the sequences are set back, and the next test gets it. A database whose
    /// schema a test changed (a dropped table, a trigger of its own) is dropped as before.
    /// </summary>
    public static async Task ReleaseMigratedDatabaseAsync(string database)
    {
        // The server's sessions and Hangfire's (the process-wide pool of ConnectionString) end here; the test's
        // inspection session stays in its pool for the next test on this database.
        await using (var pooled = new NpgsqlConnection(ConnectionString(database)))
        {
            NpgsqlConnection.ClearPool(pooled);
        }

        bool reusable;
        try
        {
            reusable = await TryResetAsync(database);
        }
        catch (NpgsqlException)
        {
            reusable = false;
        }

        if (reusable)
        {
            Recycled.Add(database);
        }
        else
        {
            await DropDatabaseAsync(database);
        }
    }

    /// <summary>Ends every other session on the database, then brings its rows back to the template's inside one
    /// transaction and checks it: committed when the database is the template's again, rolled back when it is not.</summary>
    internal static async Task<bool> TryResetAsync(string database)
    {
        var template = Template.Value;
        await using var connection = new NpgsqlConnection(InspectionConnectionString(database));
        await using var command = connection.CreateCommand();
        await connection.OpenAsync();
        command.CommandText = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid();";
        await command.ExecuteScalarAsync();
        command.CommandText = template.ResetScript;
        await command.ExecuteNonQueryAsync();
        command.CommandText = template.FingerprintQuery;
        var reusable = (string?)await command.ExecuteScalarAsync() == template.Fingerprint;
        command.CommandText = reusable ? "COMMIT;" : "ROLLBACK;";
        await command.ExecuteNonQueryAsync();
        return reusable;
    }

    public static string ConnectionString(string database, bool pooling = true)
        => new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = database, Pooling = pooling }.ConnectionString;

    /// <summary>The connection string of a test's own inspections of a database: pooled, under an application name of
    /// its own so that its pool is neither the server's nor Hangfire's (which use <see cref="ConnectionString"/>).
    /// <see cref="DropDatabaseAsync"/> empties that pool.</summary>
    public static string InspectionConnectionString(string database)
        => new NpgsqlConnectionStringBuilder(ConnectionString(database)) { ApplicationName = "messaging-tests" }.ConnectionString;

    /// <summary>Drops the database, closing whatever connections are still open to it (the test's inspection pool
    /// first, whose sessions would otherwise be ended under it).</summary>
    public static async Task DropDatabaseAsync(string database)
    {
        await using (var inspection = new NpgsqlConnection(InspectionConnectionString(database)))
        {
            NpgsqlConnection.ClearPool(inspection);
        }

        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"DROP DATABASE IF EXISTS {database} WITH (FORCE);";
        await command.ExecuteNonQueryAsync();
    }

    private static string NewName() => "messaging_test_" + Guid.NewGuid().ToString("N");

    private static void Execute(string sql)
    {
        using var connection = new NpgsqlConnection(AdminConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>The template's name, and what <see cref="ReleaseMigratedDatabaseAsync"/> checks a database against and
    /// runs to bring it back to the template's state.</summary>
    private sealed record TemplateState(string Name, string FingerprintQuery, string Fingerprint, string ResetScript);

    /// <summary>Migrates a fresh database as a server start would (the messaging tables, then Hangfire's schema as
    /// <c>JobsFeature</c> configures it), over connections that close at once: a template must have no session open.</summary>
    private static TemplateState CreateTemplate()
    {
        var name = "messaging_template_" + Guid.NewGuid().ToString("N");
        Execute($"CREATE DATABASE {name};");
        var connectionString = ConnectionString(name, pooling: false);
        var options = Microsoft.Extensions.Options.Options.Create(new StorageOptions { Provider = StorageProvider.Postgres, ConnectionString = connectionString });
        var database = new PostgresDatabase(options);
        try
        {
            new MigrationRunner(options, database, TimeProvider.System, NullLogger<MigrationRunner>.Instance)
                .MigrateAsync(CancellationToken.None).GetAwaiter().GetResult();
        }
        finally
        {
            database.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        var hangfire = new PostgreSqlStorageOptions { SchemaName = "hangfire", PrepareSchemaIfNecessary = true };
        _ = new PostgreSqlStorage(new NpgsqlConnectionFactory(connectionString, hangfire), hangfire);
        var state = DescribeTemplate(name, connectionString);
        Execute($"ALTER DATABASE {name} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false;");
        AppDomain.CurrentDomain.ProcessExit += (_, _) => DropTemplate(name);
        return state;
    }

    /// <summary>
    /// What a database must still have to be given to another test — the template's tables, columns, constraints,
    /// indexes, triggers and functions, and the template's rows in the tables that have any — and the script that empties
    /// every other table and sets each sequence back to the template's value.
    /// </summary>
    private static TemplateState DescribeTemplate(string name, string connectionString)
    {
        const string Schemas = "('public', 'hangfire')";
        using var connection = new NpgsqlConnection(connectionString);
        connection.Open();

        var tables = Strings(connection, $"SELECT format('%I.%I', schemaname, tablename) FROM pg_tables WHERE schemaname IN {Schemas} ORDER BY 1;");
        var withRows = tables.Where(t => Strings(connection, $"SELECT 1 FROM {t} LIMIT 1;").Count > 0).ToList();
        var sequences = Strings(connection,
            "SELECT format('SELECT setval(%L, %s, %s);', format('%I.%I', schemaname, sequencename), coalesce(last_value, start_value), (last_value IS NOT NULL)::text) "
            + $"FROM pg_sequences WHERE schemaname IN {Schemas} ORDER BY 1;");

        var rows = string.Concat(withRows.Select(t => $" UNION ALL SELECT format('row {t} %s', r) FROM {t} r"));
        var query = "SELECT md5(string_agg(x, E'\\n' ORDER BY x)) FROM ("
            + $"SELECT format('rel %s.%s %s', n.nspname, c.relname, c.relkind) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN {Schemas}"
            + $" UNION ALL SELECT format('col %s.%s.%s %s %s %s', table_schema, table_name, column_name, data_type, is_nullable, column_default) FROM information_schema.columns WHERE table_schema IN {Schemas}"
            + $" UNION ALL SELECT format('con %s %s %s', c.conrelid::regclass, c.conname, pg_get_constraintdef(c.oid)) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname IN {Schemas}"
            + $" UNION ALL SELECT format('idx %s', indexdef) FROM pg_indexes WHERE schemaname IN {Schemas}"
            + " UNION ALL SELECT format('trg %s %s', tgrelid::regclass, tgname) FROM pg_trigger WHERE NOT tgisinternal"
            + $" UNION ALL SELECT format('fn %s', p.oid::regprocedure) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname IN {Schemas}"
            + rows + ") AS fingerprint(x);";

        // Rows a test added to a table with template rows go; so do template rows a test changed, which the check then
        // finds missing.
        var reset = new StringBuilder("BEGIN; SET LOCAL session_replication_role = replica;");
        foreach (var table in tables.Except(withRows))
        {
            reset.Append(" DELETE FROM ").Append(table).Append(';');
        }

        foreach (var table in withRows)
        {
            reset.Append(' ').Append(Strings(connection, $"SELECT format('DELETE FROM {table} r WHERE NOT (r::text = ANY (%L::text[]));', array_agg(r::text)) FROM {table} r;").Single());
        }

        foreach (var sequence in sequences)
        {
            reset.Append(' ').Append(sequence);
        }

        return new TemplateState(name, query, Strings(connection, query).Single(), reset.ToString());
    }

    private static List<string> Strings(NpgsqlConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var values = new List<string>();
        while (reader.Read())
        {
            values.Add(Convert.ToString(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture)!);
        }

        return values;
    }

    /// <summary>At the end of the test process: the databases given back, then the template.</summary>
    private static void DropTemplate(string name)
    {
        try
        {
            while (Recycled.TryTake(out var recycled))
            {
                Execute($"DROP DATABASE IF EXISTS {recycled} WITH (FORCE);");
            }

            Execute($"ALTER DATABASE {name} WITH IS_TEMPLATE false;");
            Execute($"DROP DATABASE IF EXISTS {name};");
        }
        catch (NpgsqlException)
        {
            // The cluster is already stopping (the test script throws it away).
        }
    }
}
