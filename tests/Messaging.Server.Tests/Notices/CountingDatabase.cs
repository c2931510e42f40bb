using Messaging.Server.Persistence;

namespace Messaging.Server.Tests.Notices;

/// <summary>The real database, counting the units of work a component opens on it (reads, and write transactions: on
/// SQLite each one goes through the single writer); <see cref="BeforeWrite"/> runs before each write is handed over, to
/// make another writer win a race.</summary>
internal sealed class CountingDatabase(IDatabase inner) : IDatabase
{
    private int _reads;
    private int _writes;

    public int Reads => Volatile.Read(ref _reads);

    public int Writes => Volatile.Read(ref _writes);

    public Func<int, Task>? BeforeWrite { get; set; }

    public Task<T> ReadAsync<T>(Func<DbSession, Task<T>> work, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _reads);
        return inner.ReadAsync(work, cancellationToken);
    }

    public async Task<T> WriteAsync<T>(Func<DbSession, Task<T>> work, WriteIsolation isolation, CancellationToken cancellationToken = default)
    {
        var number = Interlocked.Increment(ref _writes);
        if (BeforeWrite is { } before)
        {
            await before(number);
        }

        return await inner.WriteAsync(work, isolation, cancellationToken);
    }
}
