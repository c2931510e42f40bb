using System.Collections.Concurrent;
using System.Data;
using System.Data.Common;
using System.Reflection;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Messaging.Server.Persistence;

/// <summary>
/// PostgreSQL: a pooled <see cref="NpgsqlDataSource"/>, many writers at once (no writer queue), each unit of work in its
/// own transaction — <c>SERIALIZABLE</c> unless the unit asks for <c>READ COMMITTED</c> (<see cref="WriteIsolation"/>) —
/// committed before <c>WriteAsync</c> returns.
/// <para><b>Why serializable.</b> The units of work were written against SQLite's single writer, where a read-then-write
/// check — a conversation's members and active devices before a send, an enrolment code's single use, a referral's state
/// before its transition, a quota sum before an upload — never races another unit. <c>SERIALIZABLE</c> keeps that
/// guarantee (every outcome is that of some serial order) and reports an interleaving that would break it as a
/// serialization failure (<c>40001</c>) or a deadlock (<c>40P01</c>): the unit is rolled back and run again, at most
/// <see cref="MaxAttempts"/> times, after a short random back-off. A unit must therefore act on the database only (pushes
/// and logs come after <c>WriteAsync</c> returns), which is already the rule.</para>
/// <para><b>Why not for everything.</b> Serializable isolation tracks reads with predicate locks on index pages. Plain sends
/// all insert at the right edge of the same indexes (the envelope sequence) and acknowledgements delete from them, so under
/// load nearly every send aborted another and sends failed after ten attempts. Those units ask for <c>READ COMMITTED</c>
/// and settle their races themselves: the idempotency of a send by the unique constraint (<c>ON CONFLICT DO NOTHING</c>),
/// the last acknowledgement of an envelope by a row lock on it (<see cref="DbSession.LocksRows"/>). A <c>READ COMMITTED</c>
/// unit can still append to a chain: the table lock serialises appends at any isolation.</para>
/// <para><b>Hash chains.</b> The key log and the audit log append a link computed from the chain's head; two appends at
/// once would read the same head, and under load one of them would fail again and again. Their tables are locked instead
/// (<c>SHARE ROW EXCLUSIVE</c>: one append at a time, readers never blocked), as the transaction's first statement, before
/// its snapshot — PostgreSQL takes a serializable snapshot at the first query, and <c>LOCK TABLE</c> is not one — so the
/// head read after the lock is the latest. Which chains a unit appends to is learned per call site (the delegate's method):
/// the first time a unit appends to a chain it had not locked (<see cref="DbSession.EnsureSerialAppend"/>), it is rolled
/// back and run again with the lock, and its call site is remembered.</para>
/// </summary>
internal sealed partial class PostgresDatabase : IDbConnectionFactory, IDatabase, IAsyncDisposable
{
    /// <summary>Attempts of one unit of work before a serialization failure reaches the caller.</summary>
    public const int MaxAttempts = 10;

    private static readonly AsyncLocal<bool> InsideWrite = new();
    private readonly NpgsqlDataSource _dataSource;
    private readonly ConcurrentDictionary<MethodInfo, DbChain> _chainsBySite = new();
    private readonly ILogger<PostgresDatabase>? _logger;
    private int _disposed;

    public PostgresDatabase(IOptions<StorageOptions> options, ILogger<PostgresDatabase>? logger = null)
    {
        _logger = logger;
        var connection = new NpgsqlConnectionStringBuilder(options.Value.ConnectionString
            ?? throw new InvalidOperationException("The Postgres provider needs Messaging:Storage:ConnectionString."));
        if (connection.MaxAutoPrepare == 0)
        {
            // The repositories' statements are constant text: prepare each once per physical connection.
            connection.MaxAutoPrepare = 256;
            connection.AutoPrepareMinUsages = 2;
        }

        if (!SetsPoolSize(options.Value.ConnectionString))
        {
            connection.MaxPoolSize = DefaultMaxPoolSize;
        }

        // No unit leaves session state behind (settings are transaction-local, the migration lock is released
        // explicitly), so a pooled connection need not be reset on its return: the reset is five statements that
        // PostgreSQL would run before the next unit's first one, as many times as connections are opened.
        connection.NoResetOnClose = true;

        if (string.IsNullOrEmpty(connection.ApplicationName))
        {
            connection.ApplicationName = "messaging";
        }

        _dataSource = NpgsqlDataSource.Create(connection);
    }

    /// <summary>
    /// The pool's bound when the connection string sets none: four per core, at least 8 (Npgsql's own default is 100).
    /// Npgsql hands idle connections out in turn (a queue), so a pool that a burst grew — 2,000 devices connecting at once
    /// opened 77 — keeps cycling every unit through all of them, each meeting a backend whose caches had gone cold:
    /// PostgreSQL's CPU per message rose by a third and the realistic tail with it. Units hold a connection only for
    /// their transaction; a burst waits its turn for one (up to the connection string's <c>Timeout</c>). Fewer than 8
    /// on two cores lowered the peak: concurrent commits share PostgreSQL's flushes (docs/performance.md).
    /// </summary>
    internal static int DefaultMaxPoolSize => Math.Max(8, 4 * Environment.ProcessorCount);

    /// <summary>Whether the connection string sets the pool's bound itself (under any of Npgsql's names for it).</summary>
    internal static bool SetsPoolSize(string? connectionString)
    {
        var given = new DbConnectionStringBuilder { ConnectionString = connectionString ?? "" };
        return given.Keys.Cast<string>().Select(k => k.Replace(" ", "", StringComparison.Ordinal).ToUpperInvariant())
            .Any(k => k is "MAXIMUMPOOLSIZE" or "MAXPOOLSIZE");
    }

    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
        => await _dataSource.OpenConnectionAsync(cancellationToken);

    public async Task<T> ReadAsync<T>(Func<DbSession, Task<T>> work, CancellationToken cancellationToken = default)
    {
        if (InsideWrite.Value)
        {
            // A second connection while the unit holds one: with a bounded pool, units doing this at once would each wait
            // for a connection that another holds. Reads inside a unit go through its own DbSession.
            throw new InvalidOperationException("A write unit of work cannot start a read; use its DbSession instead.");
        }

        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        return await work(new DbSession(connection, null));
    }

    public Task<T> WriteAsync<T>(Func<DbSession, Task<T>> work, CancellationToken cancellationToken = default)
        => WriteAsync(work, WriteIsolation.Serializable, cancellationToken);

    public async Task<T> WriteAsync<T>(Func<DbSession, Task<T>> work, WriteIsolation isolation, CancellationToken cancellationToken = default)
    {
        if (InsideWrite.Value)
        {
            // As on SQLite: a unit that starts another would not be atomic with it (and could wait on its own locks).
            throw new InvalidOperationException("A write unit of work cannot start another one; pass the DbSession down instead.");
        }

        InsideWrite.Value = true;
        var chains = _chainsBySite.GetValueOrDefault(work.Method);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await RunOnceAsync(work, chains, isolation, cancellationToken);
            }
            catch (DbRunAgainException) when (attempt < MaxAttempts)
            {
                // The unit's first attempt committed; the next one reads what made it ask to run again.
            }
            catch (DbChainLockRequiredException needed)
            {
                // Not counted as a failed attempt: it happens once per call site and chain.
                chains = needed.Needed;
                _chainsBySite[work.Method] = chains;
                attempt--;
            }
            catch (PostgresException ex) when (IsTransient(ex) && attempt < MaxAttempts)
            {
                if (_logger is not null)
                {
                    LogRetry(_logger, ex.SqlState, attempt);
                }

                // Real time, not the injected clock: this spaces out contending transactions, it is not a deadline. Full
                // jitter over an exponentially growing window (2, 4, 8 … 256 ms): transactions that aborted each other
                // once spread apart instead of meeting again, as they did with a window of a few milliseconds.
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(1, 1 + (1 << Math.Min(attempt, 8)))), cancellationToken);
            }
        }
    }

    private async Task<T> RunOnceAsync<T>(Func<DbSession, Task<T>> work, DbChain chains, WriteIsolation isolation, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(
            isolation == WriteIsolation.ReadCommitted ? IsolationLevel.ReadCommitted : IsolationLevel.Serializable, cancellationToken);
        var session = new DbSession(connection, transaction, chains: new DbChainLocks(chains));
        if (chains != DbChain.None)
        {
            // Fixed order (key log, then audit log) in one statement: two units never wait on each other crosswise.
            await session.ExecuteAsync(chains switch
            {
                DbChain.KeyLog => "LOCK TABLE key_log IN SHARE ROW EXCLUSIVE MODE;",
                DbChain.AuditLog => "LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE;",
                _ => "LOCK TABLE key_log, audit_log IN SHARE ROW EXCLUSIVE MODE;",
            });
        }

        var result = await work(session);
        if (!session.Committed)
        {
            await transaction.CommitAsync(cancellationToken);
        }

        return result;
    }

    /// <summary>Serialization failure and deadlock: the transaction was rolled back and may simply be run again.</summary>
    internal static bool IsTransient(PostgresException ex)
        => ex.SqlState is PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected;

    public async ValueTask DisposeAsync()
    {
        // The container disposes this once per service type it is registered under.
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await _dataSource.DisposeAsync();
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Write transaction rolled back ({SqlState}) at attempt {Attempt}; running it again")]
    private static partial void LogRetry(ILogger logger, string sqlState, int attempt);
}
