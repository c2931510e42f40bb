using Microsoft.Extensions.Options;

namespace Messaging.Server.Persistence;

/// <summary>
/// Applies the numbered SQL scripts embedded under <c>Persistence/Migrations/&lt;provider&gt;</c> (<c>0001_name.sql</c>, …)
/// in order, each in its own transaction, recording them in <c>schema_migrations</c>. Each SQLite script has a PostgreSQL
/// twin with the same number and name (a unit test holds them to it). On SQLite it creates the data folder (0700) and the
/// database file (0600) on first run (<see cref="DataFilePermissions"/>) and sets the WAL journal; on PostgreSQL it holds
/// an advisory lock while it migrates, so that instances starting together migrate once.
/// </summary>
internal sealed partial class MigrationRunner(
    IOptions<StorageOptions> options,
    IDbConnectionFactory connections,
    TimeProvider time,
    ILogger<MigrationRunner> logger)
{
    private const string ResourcePrefix = "Messaging.Server.Persistence.Migrations.";

    /// <summary>The advisory lock key held while migrating (any constant that nothing else uses).</summary>
    private const long PostgresMigrationLock = 0x6d73_6769_6d69_6772;

    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        var provider = options.Value.Provider;
        if (provider == StorageProvider.Sqlite)
        {
            DataFilePermissions.Prepare(options.Value.DatabasePath);
        }

        await using var connection = await connections.OpenAsync(cancellationToken);
        var setup = new DbSession(connection, null);
        if (provider == StorageProvider.Sqlite)
        {
            await setup.ExecuteAsync("PRAGMA journal_mode=WAL;");
            DataFilePermissions.Tighten(options.Value.DatabasePath);
            await setup.ExecuteAsync(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL);");
        }
        else
        {
            await setup.ExecuteAsync("SELECT pg_advisory_lock(@key);", ("@key", PostgresMigrationLock));
        }

        // The session lock is released whatever happens: pooled connections are not reset on their return.
        try
        {
            if (provider == StorageProvider.Postgres)
            {
                await setup.ExecuteAsync(
                    "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL);");
            }

            await ApplyPendingAsync(connection, setup, provider, cancellationToken);
        }
        finally
        {
            if (provider == StorageProvider.Postgres)
            {
                await setup.ExecuteAsync("SELECT pg_advisory_unlock(@key);", ("@key", PostgresMigrationLock));
            }
        }
    }

    private async Task ApplyPendingAsync(System.Data.Common.DbConnection connection, DbSession setup, StorageProvider provider, CancellationToken cancellationToken)
    {
        var applied = (await setup.QueryAsync("SELECT version FROM schema_migrations;", r => r.GetInt64(0))).ToHashSet();
        foreach (var (version, name, sql) in LoadScripts(provider))
        {
            if (applied.Contains(version))
            {
                continue;
            }

            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            var session = new DbSession(connection, transaction);
            await session.ExecuteAsync(sql);
            await session.ExecuteAsync(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (@version, @name, @at);",
                ("@version", version), ("@name", name), ("@at", time.GetUtcNow()));
            await transaction.CommitAsync(cancellationToken);
            LogApplied(logger, version, name);
        }
    }

    internal static IReadOnlyList<(long Version, string Name, string Sql)> LoadScripts(StorageProvider provider = StorageProvider.Sqlite)
    {
        var assembly = typeof(MigrationRunner).Assembly;
        var prefix = ResourcePrefix + provider + ".";
        var scripts = new List<(long, string, string)>();
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)))
        {
            var name = resource[prefix.Length..^".sql".Length];
            var version = long.Parse(name.AsSpan(0, name.IndexOf('_', StringComparison.Ordinal)), System.Globalization.CultureInfo.InvariantCulture);
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            scripts.Add((version, name, reader.ReadToEnd()));
        }

        return [.. scripts.OrderBy(s => s.Item1)];
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Applied database migration {Version} ({Name})")]
    private static partial void LogApplied(ILogger logger, long version, string name);
}

/// <summary>Migrates the database before anything else starts (registered first among hosted services).</summary>
internal sealed class DatabaseInitializer(MigrationRunner runner) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => runner.MigrateAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>Registration of the persistence layer.</summary>
internal static class PersistenceExtensions
{
    public static IServiceCollection AddPersistence(this IServiceCollection services)
    {
        services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<SqliteDatabase>();
        services.AddSingleton<PostgresDatabase>();
        services.AddSingleton(sp => (IDbConnectionFactory)Chosen(sp));
        services.AddSingleton(sp => (IDatabase)Chosen(sp));
        services.AddSingleton<MigrationRunner>();
        services.AddHostedService<DatabaseInitializer>();
        return services;
    }

    /// <summary>The database of the configured provider (only that one is ever created).</summary>
    private static object Chosen(IServiceProvider services)
        => services.GetRequiredService<IOptions<StorageOptions>>().Value.Provider == StorageProvider.Postgres
            ? services.GetRequiredService<PostgresDatabase>()
            : services.GetRequiredService<SqliteDatabase>();
}
