using Messaging.Server.Persistence;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Features.Envelopes;

/// <summary>
/// PostgreSQL: vacuums and analyses the two envelope tables every <see cref="EnvelopesOptions.TableUpkeepInterval"/>.
/// They are queues: every envelope and copy is inserted, then deleted within seconds, and only a few rows live at a time.
/// Left to PostgreSQL's autovacuum, which looks at most once a minute by default, the dead rows grew
/// <c>envelope_recipients</c> to thousands of pages in a minute at 200 messages a second, and statements prepared while
/// the tables were empty kept plans that scan them whole until the first autovacuum (docs/performance.md). A vacuum
/// also refreshes the tables' statistics, which makes PostgreSQL plan those statements again.
/// <para><b>Once per interval across instances.</b> Every instance runs this service, but one vacuum per interval is
/// enough for the database they share: an instance skips its turn when PostgreSQL's statistics show the tables vacuumed
/// less than half an interval ago (by another instance, or by autovacuum), and <c>SKIP_LOCKED</c> lets one that finds a
/// table being vacuumed at that moment go on without waiting. Each further vacuum would also make every connection of
/// every instance plan its statements again. SQLite needs none of this (its deleted pages are reused at once, and it
/// plans every statement on its own).</para>
/// </summary>
internal sealed partial class EnvelopeTableUpkeep(IServiceProvider services, IOptions<StorageOptions> storage, IOptions<EnvelopesOptions> options,
    ILogger<EnvelopeTableUpkeep> logger) : BackgroundService
{
    internal const string Statement = "VACUUM (ANALYZE, SKIP_LOCKED) envelope_recipients, envelopes;";

    /// <summary>Seconds since the copies' table was last vacuumed, by anyone; null when it never was.</summary>
    internal const string SinceLastVacuum =
        "SELECT extract(epoch FROM now() - greatest(last_vacuum, last_autovacuum))::float8 FROM pg_stat_user_tables WHERE relid = 'envelope_recipients'::regclass;";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (storage.Value.Provider != StorageProvider.Postgres)
        {
            return;
        }

        var database = services.GetRequiredService<PostgresDatabase>();
        // Real time, not the injected clock: this is upkeep of the store, not a rule of the domain.
        using var timer = new PeriodicTimer(options.Value.TableUpkeepInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await RunOnceAsync(database, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    /// <summary>One vacuum of both tables, unless they were vacuumed less than half an interval ago; whether it ran. A
    /// failure (the database restarting, a missing privilege) is logged and the next tick tries again.</summary>
    internal async Task<bool> RunOnceAsync(PostgresDatabase database, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await database.OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = SinceLastVacuum;
            if (await command.ExecuteScalarAsync(cancellationToken) is double seconds
                && seconds < options.Value.TableUpkeepInterval.TotalSeconds / 2)
            {
                return false;
            }

            command.CommandText = Statement;
            await command.ExecuteNonQueryAsync(cancellationToken);
            return true;
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException or InvalidOperationException && !cancellationToken.IsCancellationRequested)
        {
            LogFailed(logger, ex.GetType().Name);
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The envelope tables' vacuum failed ({Error}); the next one is due at the next interval")]
    private static partial void LogFailed(ILogger logger, string error);
}
