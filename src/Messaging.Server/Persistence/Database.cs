using System.Data.Common;
using System.Globalization;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Persistence;

/// <summary>Opens connections with the per-connection settings applied.</summary>
internal interface IDbConnectionFactory
{
    Task<DbConnection> OpenAsync(CancellationToken cancellationToken);
}

/// <summary>Runs units of work. The seam a PostgreSQL implementation replaces. A write unit may be run more than once
/// (PostgreSQL after a serialization failure, SQLite's writer when another unit of its batch fails after writing): only
/// the run that commits counts, so a unit keeps its effects inside the transaction and returns what happens after.</summary>
internal interface IDatabase
{
    /// <summary>Runs read-only work without a transaction.</summary>
    Task<T> ReadAsync<T>(Func<DbSession, Task<T>> work, CancellationToken cancellationToken = default);

    /// <summary>Runs work in a write transaction and commits it before returning; any exception rolls it back. The
    /// outcome is that of some serial order of all units (<see cref="WriteIsolation.Serializable"/>).</summary>
    Task<T> WriteAsync<T>(Func<DbSession, Task<T>> work, CancellationToken cancellationToken = default)
        => WriteAsync(work, WriteIsolation.Serializable, cancellationToken);

    /// <summary>Runs work in a write transaction at <paramref name="isolation"/> and commits it before returning; any
    /// exception rolls it back.</summary>
    Task<T> WriteAsync<T>(Func<DbSession, Task<T>> work, WriteIsolation isolation, CancellationToken cancellationToken = default);
}

/// <summary>
/// How much a unit of work is isolated from the units running beside it. SQLite runs every unit alone (one writer), so
/// both levels are serial there; the difference is PostgreSQL's, which runs units in parallel.
/// </summary>
internal enum WriteIsolation
{
    /// <summary>The outcome is that of some serial order of the units: any read-then-write check holds at commit. The
    /// default; a unit whose decision depends on rows another unit may change concurrently needs it.</summary>
    Serializable,

    /// <summary>Every statement sees what was committed when it began, and row locks taken by the unit order it against
    /// the units that take the same locks. For the hot, append-and-delete units (a plain send, an acknowledgement) whose
    /// races are settled by constraints and explicit locks (<see cref="DbSession.LocksRows"/>) rather than by aborting
    /// and retrying: under <see cref="Serializable"/> their inserts into the same index pages abort each other.</summary>
    ReadCommitted,
}

/// <summary>
/// SQLite: WAL journal (set once by the migration runner) and <c>synchronous=FULL</c> on every connection, so a
/// transaction is on stable storage when its commit returns — a send is acknowledged only after that commit, which
/// therefore survives a process kill and a power loss.
/// <para><b>Group commit.</b> SQLite has one writer. Rather than many connections queuing on the file lock (the
/// provider's busy retry sleeps, which gave second-long tails) and paying one fsync each, every unit of work goes to a
/// single writer that runs whatever is queued one after another inside one transaction, commits once, and only then
/// completes the callers. A unit that throws is undone alone and its caller gets the exception: a unit that had only
/// read needs nothing undone; one that may have written sends the batch round again with each unit in its own
/// SAVEPOINT (see <see cref="RunBatchAsync"/>). Durability per caller is unchanged; the fsync is shared. Reads run
/// concurrently (WAL).</para>
/// </summary>
internal sealed partial class SqliteDatabase : IDbConnectionFactory, IDatabase, IAsyncDisposable
{
    private const int MaxUnitsPerCommit = 256;
    private static readonly AsyncLocal<bool> InsideWriter = new();
    private readonly string _connectionString;
    private readonly Channel<PendingWrite> _writes = Channel.CreateUnbounded<PendingWrite>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Lazy<Task> _writer;

    /// <summary>WAL pages after which a commit checkpoints by itself: only a backstop, should the background
    /// checkpointer fall behind. SQLite's default (1000 pages) would put a checkpoint — copying pages into the database
    /// file and syncing it — inside the single writer's commit every few hundred envelopes.</summary>
    private const int AutoCheckpointPages = 10_000;

    private static readonly TimeSpan CheckpointInterval = TimeSpan.FromMilliseconds(250);
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stopping = new();
    private Task? _checkpointer;
    private int _disposed;

    // Owned by the writer loop alone: one long-lived connection whose statements are prepared once.
    private readonly StatementCache _writerStatements = new();
    private DbConnection? _writerConnection;

    /// <summary>The writer thread's name (what <c>/proc/PID/task/TID/comm</c> shows).</summary>
    public const string WriterThreadName = "db-writer";

    private readonly int _writerNice;
    private readonly ILogger<SqliteDatabase>? _logger;

    public SqliteDatabase(IOptions<StorageOptions> options, TimeProvider time, ILogger<SqliteDatabase>? logger = null)
    {
        _time = time;
        _logger = logger;
        _writerNice = options.Value.WriterNice;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = options.Value.DatabasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = options.Value.BusyTimeoutSeconds,
            ForeignKeys = true,
        }.ToString();
        _writer = new Lazy<Task>(() =>
        {
            _checkpointer = Task.Run(CheckpointLoopAsync);
            // Its own thread rather than a pool thread: under load the pool's queue is long (socket completions, hub
            // calls), and the one writer everything waits on must not queue behind them each time it resumes. Named so
            // that its CPU can be watched (the load tool reads it from /proc).
            var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            new Thread(() =>
            {
                try
                {
                    WriteLoop();
                    stopped.SetResult();
                }
                catch (Exception ex)
                {
                    stopped.SetException(ex);
                }
            })
            { Name = WriterThreadName, IsBackground = true }.Start();
            return stopped.Task;
        }, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            await using var pragma = connection.CreateCommand();
            // secure_delete: a deleted row's bytes are overwritten, not left in a free cell or on the freelist, so an
            // acknowledged envelope (sender, conversation, times, ciphertext) cannot be carved out of the database file.
            pragma.CommandText = "PRAGMA synchronous=FULL; PRAGMA secure_delete=ON;";
            await pragma.ExecuteNonQueryAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    public async Task<T> ReadAsync<T>(Func<DbSession, Task<T>> work, CancellationToken cancellationToken = default)
    {
        // A plain pooled connection: the synchronous pragma matters to commits only, and reads never commit.
        await using var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        return await work(new DbSession(connection, null));
    }

    public Task<T> WriteAsync<T>(Func<DbSession, Task<T>> work, CancellationToken cancellationToken = default)
        => WriteAsync(work, WriteIsolation.Serializable, cancellationToken);

    /// <summary>The single writer runs units one after another: every isolation level is serial here.</summary>
    public async Task<T> WriteAsync<T>(Func<DbSession, Task<T>> work, WriteIsolation isolation, CancellationToken cancellationToken = default)
    {
        if (InsideWriter.Value)
        {
            // A unit of work that starts another would wait for the writer that runs it: fail loudly instead of hanging.
            throw new InvalidOperationException("A write unit of work cannot start another one; pass the DbSession down instead.");
        }

        var pending = new PendingWrite(async session => await work(session), cancellationToken);
        _ = _writer.Value;
        await _writes.Writer.WriteAsync(pending, cancellationToken);
        return (T)(await pending.Done.Task)!;
    }

    /// <summary>The writer thread. It blocks while idle; the units it runs complete synchronously (SQLite's provider does
    /// its I/O synchronously), so the thread runs them itself.</summary>
    private void WriteLoop()
    {
        InsideWriter.Value = true;
        var raised = WriterThreadPriority.TrySetForCurrentThread(_writerNice);
        if (_writerNice != 0 && _logger is not null)
        {
            LogWriterPriority(_logger, raised ? _writerNice : 0);
        }

        var batch = new List<PendingWrite>(MaxUnitsPerCommit);
        while (_writes.Reader.TryPeek(out _) || _writes.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            batch.Clear();
            while (batch.Count < MaxUnitsPerCommit && _writes.Reader.TryRead(out var next))
            {
                if (next.CancellationToken.IsCancellationRequested)
                {
                    next.Done.TrySetCanceled(next.CancellationToken);
                }
                else
                {
                    batch.Add(next);
                }
            }

            if (batch.Count > 0)
            {
                CommitBatchAsync(batch).GetAwaiter().GetResult();
            }
        }
    }

    private async Task<DbConnection> OpenWriterAsync()
    {
        var connection = await OpenAsync(CancellationToken.None);
        await using var pragma = connection.CreateCommand();
        pragma.CommandText = string.Create(CultureInfo.InvariantCulture, $"PRAGMA wal_autocheckpoint={AutoCheckpointPages};");
        await pragma.ExecuteNonQueryAsync();
        return connection;
    }

    /// <summary>
    /// Moves committed WAL pages into the database file off the writer's path. PASSIVE never blocks the writer or the
    /// readers; what it cannot copy yet (a reader still uses it) it copies on a later round. Durability does not depend
    /// on it: a commit is durable once its WAL frames are synced.
    /// </summary>
    private async Task CheckpointLoopAsync()
    {
        try
        {
            await using var connection = new SqliteConnection(_connectionString);
            await connection.OpenAsync(_stopping.Token);
            await using var checkpoint = connection.CreateCommand();
            checkpoint.CommandText = "PRAGMA wal_checkpoint(PASSIVE);";
            while (!_stopping.IsCancellationRequested)
            {
                await Task.Delay(CheckpointInterval, _time, _stopping.Token);
                try
                {
                    await checkpoint.ExecuteNonQueryAsync(_stopping.Token);
                }
                catch (SqliteException)
                {
                    // Busy (another checkpoint, a schema change): the next round catches up, the backstop bounds the WAL.
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    private async Task CommitBatchAsync(List<PendingWrite> batch)
    {
        var outcomes = new (object? Result, Exception? Error)[batch.Count];
        try
        {
            _writerConnection ??= await OpenWriterAsync();
            if (!await RunBatchAsync(_writerConnection, batch, outcomes, savepoints: false))
            {
                // A unit threw after it may have written: without a savepoint its writes cannot be undone alone. The
                // transaction was rolled back whole; run the batch again with every unit in its own savepoint.
                await RunBatchAsync(_writerConnection, batch, outcomes, savepoints: true);
            }
        }
        catch (Exception ex)
        {
            // The commit itself failed (disk full, I/O error): nothing of this batch is durable. Start over on a fresh
            // connection, with freshly prepared statements.
            await ResetWriterConnectionAsync();
            foreach (var pending in batch)
            {
                pending.Done.TrySetException(ex);
            }

            return;
        }

        for (var i = 0; i < batch.Count; i++)
        {
            if (outcomes[i].Error is { } error)
            {
                batch[i].Done.TrySetException(error);
            }
            else
            {
                batch[i].Done.TrySetResult(outcomes[i].Result);
            }
        }
    }

    /// <summary>
    /// Runs the batch's units one after another in one transaction and commits it; returns false, having rolled the
    /// transaction back, when a unit threw after it may have written (<see cref="DbSession.MayHaveWritten"/>) or with a
    /// database error, and <paramref name="savepoints"/> is off.
    /// <para>Without savepoints a unit that succeeds costs two statements fewer (SAVEPOINT, RELEASE), and a unit refused
    /// before it wrote anything — every refusal of a send happens before its first write — needs nothing undone. Only a
    /// unit that fails after writing (a constraint violation, a hook that throws) sends the batch round again with a
    /// savepoint per unit, so the earlier units of the batch run twice: units of work may run more than once and
    /// only the run that commits counts, as on PostgreSQL, which runs a unit again after a serialization
    /// failure.</para>
    /// </summary>
    private async Task<bool> RunBatchAsync(DbConnection connection, List<PendingWrite> batch, (object? Result, Exception? Error)[] outcomes, bool savepoints)
    {
        await using var transaction = await connection.BeginTransactionAsync();
        var session = new DbSession(connection, transaction, _writerStatements);
        for (var i = 0; i < batch.Count; i++)
        {
            session.ForgetWrites();
            if (savepoints)
            {
                // One savepoint name for every unit (each is released before the next starts): fixed statement text,
                // prepared once by the writer's statement cache.
                await session.ExecuteAsync("SAVEPOINT unit;");
            }

            try
            {
                outcomes[i] = (await batch[i].Work(session), null);
                if (savepoints)
                {
                    await session.ExecuteAsync("RELEASE unit;");
                }
            }
            catch (Exception ex)
            {
                if (savepoints)
                {
                    await session.ExecuteAsync("ROLLBACK TO unit;");
                    await session.ExecuteAsync("RELEASE unit;");
                }
                else if (session.MayHaveWritten || ex is DbException)
                {
                    // A database error may have ended the transaction itself (SQLite rolls back on some I/O errors):
                    // the savepoint round then fails loudly instead of running the next units outside any transaction.
                    await transaction.RollbackAsync();
                    return false;
                }

                outcomes[i] = (null, ex);
            }
        }

        await transaction.CommitAsync();
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        // The container disposes this once per service type it is registered under.
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _writes.Writer.TryComplete();
        if (_writer.IsValueCreated)
        {
            await _writer.Value;
        }

        await _stopping.CancelAsync();
        if (_checkpointer is not null)
        {
            await _checkpointer;
        }

        await ResetWriterConnectionAsync();
        _stopping.Dispose();
    }

    private async Task ResetWriterConnectionAsync()
    {
        await _writerStatements.DisposeAsync();
        if (_writerConnection is not null)
        {
            await _writerConnection.DisposeAsync();
            _writerConnection = null;
        }
    }

    private sealed record PendingWrite(Func<DbSession, Task<object?>> Work, CancellationToken CancellationToken)
    {
        public TaskCompletionSource<object?> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Database writer thread started at nice {Nice}")]
    private static partial void LogWriterPriority(ILogger logger, int nice);
}
