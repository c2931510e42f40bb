using System.Data.Common;

namespace Messaging.Server.Persistence;

/// <summary>
/// One unit of work on one connection (inside a transaction for writes). Repositories take a session so that a feature
/// can compose several of them atomically. Parameters are named <c>@name</c>, which SQLite and PostgreSQL both accept
/// (on PostgreSQL a constant text is sent with positions instead, <see cref="PositionalSql"/>); values are converted by
/// <see cref="DbValues"/>.
/// </summary>
internal sealed class DbSession(DbConnection connection, DbTransaction? transaction, StatementCache? statements = null, DbChainLocks? chains = null)
{
    private static readonly (string Sql, (string Name, object? Value)[] Parameters) Commit = ("COMMIT;", []);

    private DbProviderFactory? _factory;

    public DbConnection Connection { get; } = connection;

    public DbTransaction? Transaction { get; } = transaction;

    /// <summary>
    /// Whether units run in parallel and order themselves with row locks (<c>SELECT … FOR NO KEY UPDATE</c>): PostgreSQL.
    /// SQLite's single writer runs one unit at a time, and its SQL has no row locks.
    /// </summary>
    public bool LocksRows => Connection is not Microsoft.Data.Sqlite.SqliteConnection;

    /// <summary>
    /// Called by an append to a hash chain before it reads the chain's head: the head read and the insert of the next
    /// link must not interleave with another append. SQLite's single writer already runs units one at a time (nothing to
    /// do); on PostgreSQL the chain must have been locked when this transaction began (see <see cref="DbChainLocks"/>).
    /// </summary>
    public void EnsureSerialAppend(DbChain chain) => chains?.Ensure(chain);

    public async Task<int> ExecuteAsync(string sql, params (string Name, object? Value)[] parameters)
    {
        var command = Rent(sql, parameters);
        try
        {
            return await command.ExecuteNonQueryAsync();
        }
        finally
        {
            await ReturnAsync(command);
        }
    }

    public async Task<List<T>> QueryAsync<T>(string sql, Func<DbDataReader, T> map, params (string Name, object? Value)[] parameters)
    {
        var command = Rent(sql, parameters);
        try
        {
            await using var reader = await command.ExecuteReaderAsync();
            return await ReadAllAsync(reader, map);
        }
        finally
        {
            await ReturnAsync(command);
        }
    }

    public async Task<T?> QuerySingleOrDefaultAsync<T>(string sql, Func<DbDataReader, T> map, params (string Name, object? Value)[] parameters)
        where T : class
    {
        var command = Rent(sql, parameters);
        try
        {
            await using var reader = await command.ExecuteReaderAsync();
            return await reader.ReadAsync() ? map(reader) : null;
        }
        finally
        {
            await ReturnAsync(command);
        }
    }

    public async Task<long?> ScalarInt64Async(string sql, params (string Name, object? Value)[] parameters)
    {
        var command = Rent(sql, parameters);
        try
        {
            var value = await command.ExecuteScalarAsync();
            return value is null or DBNull ? null : Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture);
        }
        finally
        {
            await ReturnAsync(command);
        }
    }

    /// <summary>Whether a statement other than a <c>SELECT</c> ran since <see cref="ForgetWrites"/>: the single writer
    /// runs a unit without a savepoint, and a unit that throws after it may have written cannot be undone alone (see
    /// <see cref="SqliteDatabase"/>). Any text that does not begin with <c>SELECT</c> counts as a write, so the answer
    /// errs only towards "written".</summary>
    public bool MayHaveWritten { get; private set; }

    /// <summary>Starts a new unit of work on this session.</summary>
    public void ForgetWrites() => MayHaveWritten = false;

    public Task<List<T>> QueryAsync<T>(DbQuery<T> query) => QueryAsync(query.Sql, query.Map, query.Parameters);

    /// <summary>
    /// Four queries read together: on PostgreSQL one batch, so one round trip (each statement still takes its own
    /// snapshot at <c>READ COMMITTED</c>, as if sent one after the other); on SQLite, whose writer is in the process, one
    /// after the other.
    /// </summary>
    public async Task<(List<T1> First, List<T2> Second, List<T3> Third, List<T4> Fourth)> QueryAsync<T1, T2, T3, T4>(
        DbQuery<T1> first, DbQuery<T2> second, DbQuery<T3> third, DbQuery<T4> fourth)
    {
        if (!Batches)
        {
            return (await QueryAsync(first), await QueryAsync(second), await QueryAsync(third), await QueryAsync(fourth));
        }

        await using var batch = CreateBatch([(first.Sql, first.Parameters), (second.Sql, second.Parameters), (third.Sql, third.Parameters),
            (fourth.Sql, fourth.Parameters)]);
        await using var reader = await batch.ExecuteReaderAsync();
        var a = await ReadAllAsync(reader, first.Map);
        await reader.NextResultAsync();
        var b = await ReadAllAsync(reader, second.Map);
        await reader.NextResultAsync();
        var c = await ReadAllAsync(reader, third.Map);
        await reader.NextResultAsync();
        return (a, b, c, await ReadAllAsync(reader, fourth.Map));
    }

    /// <summary>
    /// A query, then statements that change rows, for a unit that decides on the query's answer whether it may proceed:
    /// <paramref name="check"/> sees the rows and throws to refuse. On PostgreSQL all of it is one batch (one round trip),
    /// so the statements have run when the check throws, and the unit's rollback undoes them; on SQLite the check runs
    /// before the first statement, so a refusal writes nothing. Returns the query's rows and the rows each statement changed.
    /// <para>With <paramref name="commit"/>, these are the unit's last statements: on PostgreSQL the batch ends with the
    /// transaction's <c>COMMIT</c> (no round trip of its own), and once it has run the session is <see cref="Committed"/>.
    /// The check then runs after the commit, so a caller that refuses on it must guard its statements in SQL as well (they
    /// must change nothing when the check would refuse). A statement that fails, or a commit that fails (a serialization
    /// failure), rolls the whole batch back. SQLite's writer commits its units itself: there the flag changes nothing.</para>
    /// </summary>
    public async Task<(List<T> Rows, int[] Changed)> QueryThenExecuteEachAsync<T>(DbQuery<T> query, Action<List<T>> check,
        IReadOnlyList<(string Sql, (string Name, object? Value)[] Parameters)> statements, bool commit = false)
    {
        if (!Batches)
        {
            var read = await QueryAsync(query);
            check(read);
            return (read, await ExecuteEachAsync(statements));
        }

        var commitHere = commit && Transaction is not null;
        await using var batch = CreateBatch([(query.Sql, query.Parameters), .. statements, .. commitHere ? [Commit] : Array.Empty<(string, (string, object?)[])>()]);
        List<T> rows;
        await using (var reader = await batch.ExecuteReaderAsync())
        {
            rows = await ReadAllAsync(reader, query.Map);
            check(rows);
            while (await reader.NextResultAsync())
            {
                // Each statement's row count is set once the reader has passed its result.
            }
        }

        // Every result was read without an error: the COMMIT at the end ran too.
        Committed = commitHere;
        var changed = RowsChanged(batch, 1);
        return (rows, commitHere ? changed[..^1] : changed);
    }

    /// <summary>Whether this unit's transaction was committed by its last batch (<see cref="QueryThenExecuteEachAsync"/>
    /// with <c>commit</c>): nothing more can run in it, and the database does not commit it again.</summary>
    public bool Committed { get; private set; }

    /// <summary>
    /// Statements run in order, as one batch on PostgreSQL (one round trip); returns the rows each changed. A statement
    /// that fails stops the rest, as it would one after the other, and its error reaches the caller.
    /// </summary>
    public async Task<int[]> ExecuteEachAsync(IReadOnlyList<(string Sql, (string Name, object? Value)[] Parameters)> statements)
    {
        if (!Batches || statements.Count == 1)
        {
            var changed = new int[statements.Count];
            for (var i = 0; i < statements.Count; i++)
            {
                changed[i] = await ExecuteAsync(statements[i].Sql, statements[i].Parameters);
            }

            return changed;
        }

        await using var batch = CreateBatch(statements);
        await batch.ExecuteNonQueryAsync();
        return RowsChanged(batch, 0);
    }

    /// <summary>The rows each of a batch's commands changed, from the <paramref name="first"/>-th on.</summary>
    private static int[] RowsChanged(DbBatch batch, int first)
    {
        var changed = new int[batch.BatchCommands.Count - first];
        for (var i = 0; i < changed.Length; i++)
        {
            changed[i] = batch.BatchCommands[first + i].RecordsAffected;
        }

        return changed;
    }

    /// <summary>Whether statements go together as one batch: PostgreSQL's. SQLite's statements run one by one through
    /// <see cref="Rent"/>, where the writer's statement cache and <see cref="MayHaveWritten"/> see each of them.</summary>
    private bool Batches => LocksRows && Connection.CanCreateBatch;

    private DbBatch CreateBatch(IReadOnlyList<(string Sql, (string Name, object? Value)[] Parameters)> statements)
    {
        EnsureNotCommitted();
        var batch = Connection.CreateBatch();
        batch.Transaction = Transaction;
        foreach (var (sql, parameters) in statements)
        {
            var command = batch.CreateBatchCommand();
            command.CommandText = Bind(sql, command.Parameters, parameters);
            batch.BatchCommands.Add(command);
        }

        return batch;
    }

    private static async Task<List<T>> ReadAllAsync<T>(DbDataReader reader, Func<DbDataReader, T> map)
    {
        var rows = new List<T>();
        while (await reader.ReadAsync())
        {
            rows.Add(map(reader));
        }

        return rows;
    }

    /// <summary>The connection's provider, which makes the parameters: read once per session.</summary>
    private DbProviderFactory Factory => _factory ??= DbProviderFactories.GetFactory(Connection)
        ?? throw new InvalidOperationException("The connection names no provider.");

    private void EnsureNotCommitted()
    {
        if (Committed)
        {
            throw new InvalidOperationException("This unit of work has committed its transaction; nothing more can run in it.");
        }
    }

    private DbCommand Rent(string sql, (string Name, object? Value)[] parameters)
    {
        EnsureNotCommitted();
        if (!MayHaveWritten && !sql.AsSpan().TrimStart().StartsWith("SELECT", StringComparison.OrdinalIgnoreCase))
        {
            MayHaveWritten = true;
        }

        if (statements?.TryRent(sql, parameters.Length, out var cached) == true)
        {
            cached.Transaction = Transaction;
            for (var i = 0; i < parameters.Length; i++)
            {
                var parameter = cached.Parameters[i];
                if (!string.Equals(parameter.ParameterName, parameters[i].Name, StringComparison.Ordinal))
                {
                    throw new InvalidOperationException("A cached statement was called with other parameter names.");
                }

                parameter.Value = DbValues.ToDb(parameters[i].Value);
            }

            return cached;
        }

        var command = Connection.CreateCommand();
        command.Transaction = Transaction;
        command.CommandText = Bind(sql, command.Parameters, parameters);
        return command;
    }

    /// <summary>Binds the parameters to a new command; returns the text it runs. On PostgreSQL a constant text runs with
    /// positional parameters (<see cref="PositionalSql"/>); otherwise the text as it is, with named parameters.</summary>
    private string Bind(string sql, DbParameterCollection to, (string Name, object? Value)[] parameters)
    {
        if (LocksRows && PositionalSql.For(sql) is { } positional)
        {
            positional.Bind(to, Factory, parameters);
            return positional.Sql;
        }

        foreach (var (name, value) in parameters)
        {
            var parameter = Factory.CreateParameter() ?? throw new InvalidOperationException("The provider makes no parameters.");
            parameter.ParameterName = name;
            parameter.Value = DbValues.ToDb(value);
            to.Add(parameter);
        }

        return sql;
    }

    private ValueTask ReturnAsync(DbCommand command)
        => statements is not null && statements.Keep(command) ? ValueTask.CompletedTask : command.DisposeAsync();
}

/// <summary>A query, its parameters and how to read one row: what <see cref="DbSession.QueryAsync{T1, T2, T3, T4}"/> reads together.</summary>
internal sealed class DbQuery<T>(string sql, Func<DbDataReader, T> map, params (string Name, object? Value)[] parameters)
{
    public string Sql { get; } = sql;

    public Func<DbDataReader, T> Map { get; } = map;

    public (string Name, object? Value)[] Parameters { get; } = parameters;
}

/// <summary>The append-only hash chains, whose appends must run one at a time.</summary>
[Flags]
internal enum DbChain
{
    None = 0,
    KeyLog = 1,
    AuditLog = 2,
}

/// <summary>The chains a write transaction locked when it began. An append to a chain it did not lock cannot lock it
/// then (see <see cref="PostgresDatabase"/>): it throws <see cref="DbChainLockRequiredException"/>, and the database runs
/// the unit again with that chain locked first.</summary>
internal sealed class DbChainLocks(DbChain held)
{
    public DbChain Held { get; } = held;

    public void Ensure(DbChain chain)
    {
        if ((Held & chain) != chain)
        {
            throw new DbChainLockRequiredException(Held | chain);
        }
    }
}

/// <summary>A unit of work appended to a chain its transaction had not locked; caught by the database, never by callers.</summary>
internal sealed class DbChainLockRequiredException(DbChain needed)
    : InvalidOperationException("This unit of work appends to a hash chain it had not locked; it is run again with the lock.")
{
    public DbChain Needed { get; } = needed;
}

/// <summary>
/// Thrown by a unit of work that committed in its last batch (<see cref="DbSession.Committed"/>) and then found it must
/// answer from what another unit committed beside it: it is run again from the start, and its first reads see that.
/// Only a unit that may run twice in effect throws it (a send whose id a racing retry stored: the second run answers as
/// for a repeat). Caught by the database, never by callers.
/// </summary>
internal sealed class DbRunAgainException()
    : InvalidOperationException("This unit of work committed, then found a concurrent unit's result; it is run again to answer from it.");

/// <summary>
/// Prepared statements kept for the life of one connection (the writer's), so that a statement is compiled once and
/// then only re-bound. Only SQL that is a compile-time constant is kept (the interned instance of its text): text built
/// at run time, such as an IN list, would fill the cache with statements used once. Statements are found by the
/// reference of their text — a constant is the same instance at every call — so a hit costs no hashing of the text.
/// Not thread-safe: one connection, one user at a time.
/// </summary>
internal sealed class StatementCache : IAsyncDisposable
{
    private const int MaxStatements = 256;
    private readonly Dictionary<string, DbCommand> _idle = new(ReferenceEqualityComparer.Instance);

    /// <summary>The commands handed out by <see cref="TryRent"/> and not yet given back: known to be kept.</summary>
    private readonly HashSet<DbCommand> _rented = new(ReferenceEqualityComparer.Instance);

    public bool TryRent(string sql, int parameterCount, out DbCommand command)
    {
        if (_idle.Remove(sql, out var found) && found.Parameters.Count == parameterCount)
        {
            _rented.Add(found);
            command = found;
            return true;
        }

        found?.Dispose();
        command = null!;
        return false;
    }

    /// <summary>True when the command was kept for reuse (the caller must not dispose it).</summary>
    public bool Keep(DbCommand command)
    {
        var sql = command.CommandText;
        if (_rented.Remove(command))
        {
            // Its text is a kept constant already; another command of the same text (a nested use) may have taken its
            // place meanwhile, and then this one goes.
            return _idle.TryAdd(sql, command);
        }

        return IsConstantText(sql) && _idle.Count < MaxStatements && _idle.TryAdd(sql, command);
    }

    /// <summary>Whether the text is a compile-time constant (the interned instance of its value): the same instance at
    /// every call, worth keeping what was made from it.</summary>
    public static bool IsConstantText(string sql) => ReferenceEquals(string.IsInterned(sql), sql);

    public async ValueTask DisposeAsync()
    {
        foreach (var command in _idle.Values)
        {
            await command.DisposeAsync();
        }

        _idle.Clear();
        _rented.Clear();
    }
}

/// <summary>The one place where CLR values become column values and back: GUIDs as canonical text, instants as Unix
/// milliseconds, enums and booleans as integers.</summary>
internal static class DbValues
{
    public static object ToDb(object? value) => value switch
    {
        null => DBNull.Value,
        Guid g => g.ToString("D"),
        DateTimeOffset d => d.ToUnixTimeMilliseconds(),
        bool b => b ? 1L : 0L,
        uint u => (long)u,
        Enum e => Convert.ToInt64(e, System.Globalization.CultureInfo.InvariantCulture),
        _ => value,
    };

    public static Guid GetGuidValue(this DbDataReader reader, int ordinal) => Guid.ParseExact(reader.GetString(ordinal), "D");

    public static Guid? GetNullableGuid(this DbDataReader reader, int ordinal)
        => reader.IsDBNull(ordinal) ? null : reader.GetGuidValue(ordinal);

    public static DateTimeOffset GetInstant(this DbDataReader reader, int ordinal)
        => DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(ordinal));

    public static DateTimeOffset? GetNullableInstant(this DbDataReader reader, int ordinal)
        => reader.IsDBNull(ordinal) ? null : reader.GetInstant(ordinal);

    public static byte[] GetBlob(this DbDataReader reader, int ordinal) => reader.GetFieldValue<byte[]>(ordinal);

    public static string? GetNullableString(this DbDataReader reader, int ordinal)
        => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    /// <summary>Truncates to the storage precision, so values read back compare equal to values written.</summary>
    public static DateTimeOffset ToStoragePrecision(DateTimeOffset instant)
        => DateTimeOffset.FromUnixTimeMilliseconds(instant.ToUnixTimeMilliseconds());
}
