using Microsoft.Extensions.Options;

namespace Messaging.Server.Persistence;

/// <summary>
/// Applies the numbered SQL scripts embedded under <c>Persistence/Migrations/Sqlite</c> (<c>0001_name.sql</c>, …) in
/// order, each in its own transaction, recording them in <c>schema_migrations</c>. Creates the data folder (0700) and the
/// database file (0600) on first run (<see cref="DataFilePermissions"/>).
/// </summary>
internal sealed partial class MigrationRunner(
    IOptions<StorageOptions> options,
    IDbConnectionFactory connections,
    TimeProvider time,
    ILogger<MigrationRunner> logger)
{
    private const string ResourcePrefix = "Messaging.Server.Persistence.Migrations.Sqlite.";

    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        DataFilePermissions.Prepare(options.Value.DatabasePath);
        await using var connection = await connections.OpenAsync(cancellationToken);
        var setup = new DbSession(connection, null);
        await setup.ExecuteAsync("PRAGMA journal_mode=WAL;");
        DataFilePermissions.Tighten(options.Value.DatabasePath);
        await setup.ExecuteAsync(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL);");
        var applied = (await setup.QueryAsync("SELECT version FROM schema_migrations;", r => r.GetInt64(0))).ToHashSet();

        foreach (var (version, name, sql) in LoadScripts())
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

    internal static IReadOnlyList<(long Version, string Name, string Sql)> LoadScripts()
    {
        var assembly = typeof(MigrationRunner).Assembly;
        var scripts = new List<(long, string, string)>();
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            var name = resource[ResourcePrefix.Length..^".sql".Length];
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
        services.AddSingleton<IDbConnectionFactory>(sp => sp.GetRequiredService<SqliteDatabase>());
        services.AddSingleton<IDatabase>(sp => sp.GetRequiredService<SqliteDatabase>());
        services.AddSingleton<MigrationRunner>();
        services.AddHostedService<DatabaseInitializer>();
        return services;
    }
}
