using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Persistence;

/// <summary>Opens connections with the per-connection settings applied.</summary>
internal interface IDbConnectionFactory
{
    Task<DbConnection> OpenAsync(CancellationToken cancellationToken);
}

/// <summary>Runs units of work. The seam a PostgreSQL implementation replaces.</summary>
internal interface IDatabase
{
    /// <summary>Runs read-only work without a transaction.</summary>
    Task<T> ReadAsync<T>(Func<DbSession, Task<T>> work, CancellationToken cancellationToken = default);

    /// <summary>Runs work in a write transaction and commits it before returning; any exception rolls it back.</summary>
    Task<T> WriteAsync<T>(Func<DbSession, Task<T>> work, CancellationToken cancellationToken = default);
}

/// <summary>
/// SQLite: WAL journal (set once by the migration runner) and <c>synchronous=FULL</c> on every connection, so a
/// transaction is on stable storage when its commit returns — a send is acknowledged only after that commit, which
/// therefore survives a process kill and a power loss. Write transactions start with <c>BEGIN IMMEDIATE</c> (the
/// Microsoft.Data.Sqlite default) so that writers queue on the lock instead of failing on upgrade.
/// </summary>
internal sealed class SqliteDatabase(IOptions<StorageOptions> options) : IDbConnectionFactory, IDatabase
{
    private readonly string _connectionString = new SqliteConnectionStringBuilder
    {
        DataSource = options.Value.DatabasePath,
        Mode = SqliteOpenMode.ReadWriteCreate,
        Cache = SqliteCacheMode.Private,
        Pooling = true,
        DefaultTimeout = options.Value.BusyTimeoutSeconds,
        ForeignKeys = true,
    }.ToString();

    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            await using var pragma = connection.CreateCommand();
            pragma.CommandText = "PRAGMA synchronous=FULL;";
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
        await using var connection = await OpenAsync(cancellationToken);
        return await work(new DbSession(connection, null));
    }

    public async Task<T> WriteAsync<T>(Func<DbSession, Task<T>> work, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var result = await work(new DbSession(connection, transaction));
        await transaction.CommitAsync(cancellationToken);
        return result;
    }
}
