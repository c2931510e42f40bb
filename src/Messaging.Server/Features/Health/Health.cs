using System.ComponentModel.DataAnnotations;
using System.Diagnostics;
using Messaging.Server.Persistence;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Features.Health;

/// <summary>Readiness probe limits (section <c>Messaging:Health</c>).</summary>
public sealed class HealthOptions
{
    public const string Section = "Messaging:Health";

    /// <summary>How long the write probe waits before reporting the database unready: on SQLite for the single writer to
    /// run an empty unit of work, on PostgreSQL for its answer that the database is writable.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:00:30")]
    public TimeSpan WriteProbeTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a probe's answer is given again to the next requests before the database is probed anew. The
    /// probe is anonymous: without this, a loop of requests would make the database work for every one of them.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan AnswerReuse { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often the integrity check (<c>PRAGMA quick_check</c>, a full read of the file) runs at most; a
    /// passed check is remembered that long, a failed one is run again at the next probe.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan IntegrityCheckInterval { get; set; } = TimeSpan.FromMinutes(10);
}

/// <summary>
/// Ready when the database can serve a send: its schema is in place and readable, its pages pass SQLite's integrity
/// check (at most once per <see cref="HealthOptions.IntegrityCheckInterval"/>, so the probe's cost stays bounded), and
/// a write unit of work can run within <see cref="HealthOptions.WriteProbeTimeout"/>. A corrupted or write-locked
/// database answered healthy before (issue 11, item 7).
/// <para>On SQLite the write probe is an empty unit queued to the single writer, like a send's: it proves that the writer
/// is alive and can take the write lock, and it never contends with the writer for that lock (a probe that took the lock
/// on its own connection made the writer's next commit wait in the provider's busy retry, outside review 2026-11-29,
/// persist F5). On PostgreSQL the server checks its own pages; the probe asks, within the same timeout, whether this
/// connection could write (not a read-only standby, not a read-only transaction).</para>
/// <para>The endpoint is anonymous, so one probe runs at a time and its answer is given again for
/// <see cref="HealthOptions.AnswerReuse"/>: a loop of requests costs the database one probe per second at most.</para>
/// </summary>
internal sealed class DatabaseHealthCheck(
    IDbConnectionFactory connections, IDatabase database, IOptions<HealthOptions> options, IOptions<StorageOptions> storage, TimeProvider time) : IHealthCheck
{
    private readonly Lock _gate = new();
    private DateTimeOffset? _integrityPassedAt;
    private Task<HealthCheckResult>? _running;
    private (HealthCheckResult Result, long At)? _last;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            // Real elapsed time, not the injected clock: this bounds the load real requests put on the database.
            if (_last is { } last && Stopwatch.GetElapsedTime(last.At) < options.Value.AnswerReuse)
            {
                return Task.FromResult(last.Result);
            }

            // One probe at a time: requests that arrive meanwhile wait for its answer. It runs to its end even if the
            // request that started it goes away (its own timeout bounds it).
            _running ??= Task.Run(ProbeAndRememberAsync, CancellationToken.None);
            return _running.WaitAsync(cancellationToken);
        }
    }

    private async Task<HealthCheckResult> ProbeAndRememberAsync()
    {
        HealthCheckResult? result = null;
        try
        {
            result = await ProbeAsync();
            return result.Value;
        }
        finally
        {
            lock (_gate)
            {
                // An unexpected exception (the health-check middleware reports it as unhealthy) is not remembered.
                _last = result is { } answer ? (answer, Stopwatch.GetTimestamp()) : _last;
                _running = null;
            }
        }
    }

    private async Task<HealthCheckResult> ProbeAsync()
    {
        try
        {
            await using var connection = await connections.OpenAsync(CancellationToken.None);
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

            // The writer begins its transaction with BEGIN IMMEDIATE (the write lock) and commits; an empty unit writes
            // nothing. A unit the writer has not run within the timeout still runs later, harmlessly. Real time here too:
            // a stuck writer is stuck in real time.
            await database.WriteAsync(_ => Task.FromResult(true)).WaitAsync(options.Value.WriteProbeTimeout);
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex) when (ex is System.Data.Common.DbException or InvalidOperationException or TimeoutException)
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
