using System.ComponentModel.DataAnnotations;
using Messaging.Server.Persistence;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Features.Health;

/// <summary>Readiness probe limits (section <c>Messaging:Health</c>).</summary>
public sealed class HealthOptions
{
    public const string Section = "Messaging:Health";

    /// <summary>How long the write probe waits for the database's write lock before reporting the database unready
    /// (whole seconds).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:00:30")]
    public TimeSpan WriteProbeTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How often the integrity check (<c>PRAGMA quick_check</c>, a full read of the file) runs at most; a
    /// passed check is remembered that long, a failed one is run again at the next probe.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan IntegrityCheckInterval { get; set; } = TimeSpan.FromMinutes(10);
}

/// <summary>
/// Ready when the database can serve a send: its schema is in place and readable, its pages pass SQLite's integrity
/// check (at most once per <see cref="HealthOptions.IntegrityCheckInterval"/>, so the probe's cost stays bounded), and
/// the write lock can be taken within <see cref="HealthOptions.WriteProbeTimeout"/> (<c>BEGIN IMMEDIATE</c> then
/// <c>ROLLBACK</c>: nothing is written). A corrupted or write-locked database answered healthy before (issue 11, item 7).
/// On PostgreSQL the server checks its own pages; the probe asks, within the same timeout, whether this connection could
/// write (not a read-only standby, not a read-only transaction).
/// </summary>
internal sealed class DatabaseHealthCheck(
    IDbConnectionFactory connections, TimeProvider time, IOptions<HealthOptions> options, IOptions<StorageOptions> storage) : IHealthCheck
{
    private readonly Lock _gate = new();
    private DateTimeOffset? _integrityPassedAt;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var connection = await connections.OpenAsync(cancellationToken);
            var session = new DbSession(connection, null);
            if (await session.ScalarInt64Async("SELECT COUNT(*) FROM schema_migrations;") == 0)
            {
                return HealthCheckResult.Unhealthy("Schema not migrated.");
            }

            if (storage.Value.Provider == StorageProvider.Postgres)
            {
                return await PostgresWritableAsync(session) ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("Database is read-only.");
            }

            if (IntegrityCheckDue())
            {
                var verdict = await session.QueryAsync("PRAGMA quick_check;", r => r.GetString(0));
                if (verdict is not ["ok"])
                {
                    return HealthCheckResult.Unhealthy("Database integrity check failed.");
                }

                lock (_gate)
                {
                    _integrityPassedAt = time.GetUtcNow();
                }
            }

            // The provider retries a busy database until the command timeout (whole seconds): that bounds the wait.
            await using (var probe = connection.CreateCommand())
            {
                probe.CommandText = "BEGIN IMMEDIATE;";
                probe.CommandTimeout = Math.Max(1, (int)Math.Ceiling(options.Value.WriteProbeTimeout.TotalSeconds));
                await probe.ExecuteNonQueryAsync(cancellationToken);
            }

            await session.ExecuteAsync("ROLLBACK;");
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex) when (ex is System.Data.Common.DbException or InvalidOperationException)
        {
            return HealthCheckResult.Unhealthy("Database unavailable.");
        }
    }

    private async Task<bool> PostgresWritableAsync(DbSession session)
    {
        var timeout = (long)options.Value.WriteProbeTimeout.TotalMilliseconds;
        await session.ExecuteAsync("BEGIN;");
        try
        {
            // set_config(…, true) is SET LOCAL: the timeout ends with this transaction.
            await session.ExecuteAsync("SELECT set_config('statement_timeout', @ms, true);", ("@ms", timeout.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            return await session.ScalarInt64Async(
                "SELECT CASE WHEN pg_is_in_recovery() OR current_setting('transaction_read_only') = 'on' THEN 0 ELSE 1 END;") == 1;
        }
        finally
        {
            await session.ExecuteAsync("ROLLBACK;");
        }
    }

    private bool IntegrityCheckDue()
    {
        lock (_gate)
        {
            return _integrityPassedAt is not { } passed || time.GetUtcNow() - passed >= options.Value.IntegrityCheckInterval;
        }
    }
}

internal static class HealthFeature
{
    public const string ReadyTag = "ready";

    public static IServiceCollection AddHealth(this IServiceCollection services)
    {
        services.AddOptions<HealthOptions>().BindConfiguration(HealthOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<DatabaseHealthCheck>();
        services.AddHealthChecks().AddCheck<DatabaseHealthCheck>("database", tags: [ReadyTag]);
        return services;
    }

    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapHealthChecks("/health/live", new Microsoft.AspNetCore.Diagnostics.HealthChecks.HealthCheckOptions { Predicate = _ => false })
            .AllowAnonymous();
        endpoints.MapHealthChecks("/health/ready", new Microsoft.AspNetCore.Diagnostics.HealthChecks.HealthCheckOptions { Predicate = c => c.Tags.Contains(ReadyTag) })
            .AllowAnonymous();
        return endpoints;
    }
}
