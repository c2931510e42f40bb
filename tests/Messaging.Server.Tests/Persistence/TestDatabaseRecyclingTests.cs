using Messaging.Server.Tests.Infrastructure;
using Npgsql;

namespace Messaging.Server.Tests.Persistence;

/// <summary>
/// The test infrastructure's own promise (<see cref="TestPostgres.ReleaseMigratedDatabaseAsync"/>): a database given to
/// the next test is in the template's state — the rows a test added are gone, the sequences start again — and a
/// database a test changed in a way that cannot be undone row by row is never given again.
/// </summary>
public sealed class TestDatabaseRecyclingTests
{
    [Fact]
    public async Task AddedRows_AreDeleted_SeededRowsStay_AndSequencesStartAgain()
    {
        var database = TestPostgres.CreateMigratedDatabase();
        try
        {
            var seeded = await CountAsync(database, "SELECT count(*) FROM organisations;");
            var firstSeq = await CountAsync(database, "SELECT nextval(pg_get_serial_sequence('envelopes', 'seq'));");
            await ExecuteAsync(database,
                "INSERT INTO organisations (id, name, type, created_at) VALUES ('added', 'Added', 'prevention-service', 1);"
                + "SELECT nextval(pg_get_serial_sequence('envelopes', 'seq'));");

            Assert.True(await TestPostgres.TryResetAsync(database));

            Assert.Equal(seeded, await CountAsync(database, "SELECT count(*) FROM organisations;"));
            Assert.Equal(0, await CountAsync(database, "SELECT count(*) FROM organisations WHERE id = 'added';"));
            Assert.Equal(firstSeq, await CountAsync(database, "SELECT nextval(pg_get_serial_sequence('envelopes', 'seq'));"));
        }
        finally
        {
            await TestPostgres.DropDatabaseAsync(database);
        }
    }

    [Theory]
    [InlineData("UPDATE organisations SET name = 'Renamed' WHERE id = (SELECT min(id) FROM organisations);", "SELECT count(*) FROM organisations WHERE name = 'Renamed';")]
    [InlineData("CREATE TABLE left_behind (id INTEGER);", "SELECT count(*) FROM pg_tables WHERE tablename = 'left_behind';")]
    [InlineData("ALTER TABLE organisations ADD COLUMN extra INTEGER;", "SELECT count(*) FROM information_schema.columns WHERE table_name = 'organisations' AND column_name = 'extra';")]
    public async Task AChangedSeedRowOrSchema_IsRefused_AndLeftAsItWas(string change, string stillThere)
    {
        var database = TestPostgres.CreateMigratedDatabase();
        try
        {
            await ExecuteAsync(database, change);

            Assert.False(await TestPostgres.TryResetAsync(database));

            Assert.Equal(1, await CountAsync(database, stillThere));
        }
        finally
        {
            await TestPostgres.DropDatabaseAsync(database);
        }
    }

    private static async Task ExecuteAsync(string database, string sql)
    {
        await using var connection = new NpgsqlConnection(TestPostgres.InspectionConnectionString(database));
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<long> CountAsync(string database, string sql)
    {
        await using var connection = new NpgsqlConnection(TestPostgres.InspectionConnectionString(database));
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
