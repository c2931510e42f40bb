using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;
using Messaging.Server.Persistence;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Messaging.Server.Tests.Infrastructure;

/// <summary>
/// The PostgreSQL server the test script starts (<c>ops/scripts/deps.sh</c>: a private cluster on a loopback port, its
/// superuser connection string in <see cref="Variable"/>). Each server a test starts gets a database of its own, created
/// with a random name and dropped afterwards. Without the variable the PostgreSQL variants fail with the remedy — they
/// never pass or skip silently.
/// </summary>
public static class TestPostgres
{
    public const string Variable = "MESSAGING_TEST_POSTGRES";

    /// <summary>
    /// A database that the server's own <see cref="MigrationRunner"/> and Hangfire's installer have brought to the current
    /// schema, once per test process, and that holds nothing else: <see cref="CreateMigratedDatabase"/> copies it. The
    /// copy (PostgreSQL's <c>CREATE DATABASE … TEMPLATE</c>) costs a fraction of migrating anew at every server start.
    /// </summary>
    private static readonly Lazy<string> Template = new(CreateTemplate, LazyThreadSafetyMode.ExecutionAndPublication);

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
    /// Creates a database with a random name as a copy of the migrated template: the server that starts on it finds its
    /// migrations and Hangfire's schema applied (it checks both, as at any restart) and no row of data. Tests of the
    /// migrations themselves use <see cref="CreateDatabase"/>.
    /// </summary>
    public static string CreateMigratedDatabase()
    {
        var template = Template.Value;
        var name = NewName();
        Execute($"CREATE DATABASE {name} TEMPLATE {template};");
        return name;
    }

    public static string ConnectionString(string database, bool pooling = true)
        => new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = database, Pooling = pooling }.ConnectionString;

    /// <summary>Drops the database, closing whatever connections are still open to it.</summary>
    public static async Task DropDatabaseAsync(string database)
    {
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

    /// <summary>Migrates a fresh database as a server start would (the messaging tables, then Hangfire's schema as
    /// <c>JobsFeature</c> configures it), over connections that close at once: a template must have no session open.</summary>
    private static string CreateTemplate()
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
        Execute($"ALTER DATABASE {name} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false;");
        AppDomain.CurrentDomain.ProcessExit += (_, _) => DropTemplate(name);
        return name;
    }

    private static void DropTemplate(string name)
    {
        try
        {
            Execute($"ALTER DATABASE {name} WITH IS_TEMPLATE false;");
            Execute($"DROP DATABASE IF EXISTS {name};");
        }
        catch (NpgsqlException)
        {
            // The cluster is already stopping (the test script throws it away).
        }
    }
}
