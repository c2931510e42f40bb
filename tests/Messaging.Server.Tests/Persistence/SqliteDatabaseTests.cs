using Messaging.Server.Persistence;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Tests.Persistence;

/// <summary>The SQLite group commit: concurrent units of work share one transaction, each isolated in its own savepoint.</summary>
public sealed class SqliteDatabaseTests
{
    /// <summary>A database in its own temporary folder, with one table; deleted when disposed.</summary>
    private sealed class TestDatabase : IAsyncDisposable
    {
        private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("messaging-db-tests-");

        public TestDatabase() => Database = new SqliteDatabase(Options.Create(new StorageOptions { DataDirectory = _folder.FullName }), TimeProvider.System);

        public SqliteDatabase Database { get; }

        public static async Task<TestDatabase> CreateAsync()
        {
            var test = new TestDatabase();
            await test.Database.WriteAsync(s => s.ExecuteAsync("CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT NOT NULL UNIQUE);"));
            return test;
        }

        public Task<long?> CountAsync() => Database.ReadAsync(s => s.ScalarInt64Async("SELECT COUNT(*) FROM items;"));

        public async ValueTask DisposeAsync()
        {
            await Database.DisposeAsync();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            _folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task AUnitThatThrows_IsRolledBackAlone_AndItsCallerGetsItsException()
    {
        await using var test = await TestDatabase.CreateAsync();
        var database = test.Database;
        var units = Enumerable.Range(0, 200).Select(i => database.WriteAsync(async s =>
        {
            await s.ExecuteAsync("INSERT INTO items (label) VALUES (@label);", ("@label", $"item {i}"));
            if (i % 10 == 3)
            {
                throw new InvalidDataException($"unit {i} refuses");
            }

            return i;
        })).ToList();

        for (var i = 0; i < units.Count; i++)
        {
            if (i % 10 == 3)
            {
                Assert.Equal($"unit {i} refuses", (await Assert.ThrowsAsync<InvalidDataException>(() => units[i])).Message);
            }
            else
            {
                Assert.Equal(i, await units[i]);
            }
        }

        Assert.Equal(180, await test.CountAsync());
        Assert.Equal(0, await database.ReadAsync(s => s.ScalarInt64Async("SELECT COUNT(*) FROM items WHERE label LIKE '% 3' OR label LIKE '%13';")));
    }

    [Fact]
    public async Task AConstraintViolation_InOneUnit_LeavesTheOthersOfItsBatchCommitted()
    {
        await using var test = await TestDatabase.CreateAsync();
        var database = test.Database;
        await database.WriteAsync(s => s.ExecuteAsync("INSERT INTO items (label) VALUES ('taken');"));
        var duplicate = database.WriteAsync(s => s.ExecuteAsync("INSERT INTO items (label) VALUES ('taken');"));
        var fresh = database.WriteAsync(s => s.ExecuteAsync("INSERT INTO items (label) VALUES ('fresh');"));

        await Assert.ThrowsAsync<Microsoft.Data.Sqlite.SqliteException>(() => duplicate);
        Assert.Equal(1, await fresh);
        Assert.Equal(2, await test.CountAsync());
    }

    [Fact]
    public async Task AUnitStartingAnotherUnit_FailsLoudly_InsteadOfWaitingForItself()
    {
        await using var test = await TestDatabase.CreateAsync();
        var database = test.Database;
        var nested = database.WriteAsync(async _ => await database.WriteAsync(s => s.ExecuteAsync("INSERT INTO items (label) VALUES ('inner');")));

        await Assert.ThrowsAsync<InvalidOperationException>(() => nested.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(0, await test.CountAsync());
    }

    [Fact]
    public async Task AUnitRefusedAfterOnlyReading_CostsTheOthersOfItsBatchNoSecondRun()
    {
        await using var test = await TestDatabase.CreateAsync();
        var database = test.Database;
        var runs = new int[200];
        var units = Enumerable.Range(0, runs.Length).Select(i => database.WriteAsync(async s =>
        {
            Interlocked.Increment(ref runs[i]);
            var count = await s.ScalarInt64Async("SELECT COUNT(*) FROM items;");
            if (i % 10 == 3)
            {
                throw new InvalidDataException($"unit {i} refuses after reading {count} items");
            }

            return await s.ExecuteAsync("INSERT INTO items (label) VALUES (@label);", ("@label", $"item {i}"));
        })).ToList();

        for (var i = 0; i < units.Count; i++)
        {
            if (i % 10 == 3)
            {
                await Assert.ThrowsAsync<InvalidDataException>(() => units[i]);
            }
            else
            {
                Assert.Equal(1, await units[i]);
            }
        }

        Assert.Equal(180, await test.CountAsync());
        Assert.All(runs, r => Assert.Equal(1, r));
    }

    [Fact]
    public async Task ADatabaseErrorInOneUnit_LeavesTheOthersOfItsBatchCommittedOnce()
    {
        await using var test = await TestDatabase.CreateAsync();
        var database = test.Database;
        var units = Enumerable.Range(0, 50).Select(i => i == 20
            ? database.WriteAsync(s => s.ScalarInt64Async("SELECT COUNT(*) FROM no_such_table;"))
            : database.WriteAsync(async s => (long?)await s.ExecuteAsync("INSERT INTO items (label) VALUES (@label);", ("@label", $"item {i}")))).ToList();

        await Assert.ThrowsAsync<Microsoft.Data.Sqlite.SqliteException>(() => units[20]);
        foreach (var unit in units.Where((_, i) => i != 20))
        {
            Assert.Equal(1, await unit);
        }

        Assert.Equal(49, await test.CountAsync());
    }
}
