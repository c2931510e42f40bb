using Npgsql;

namespace Messaging.Server.Tests.Infrastructure;

/// <summary>
/// The PostgreSQL server the test script starts (<c>ops/scripts/deps.sh</c>: a private cluster on a loopback port, its
/// superuser connection string in <see cref="Variable"/>). Each server a test starts gets a database of its own, created
/// with a random name and dropped afterwards. Without the variable the PostgreSQL variants fail with the remedy — they
/// never pass or skip silently.
/// </summary>
public static class TestPostgres
{
    public const string Variable = "MESSAGING_TEST_POSTGRES";

    /// <summary>The superuser connection string of the test server.</summary>
    public static string AdminConnectionString => Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } value
        ? value
        : throw new InvalidOperationException(
            $"{Variable} is not set: the PostgreSQL variants of the tests need the PostgreSQL server that the test script starts. "
            + "Run the tests with `bash ops/scripts/test.sh` (it installs and starts PostgreSQL, Redis and the mail servers, "
            + "then runs `dotnet test` with their addresses).");

    /// <summary>Creates an empty database with a random name and returns the name.</summary>
    public static string CreateDatabase()
    {
        var name = "messaging_test_" + Guid.NewGuid().ToString("N");
        using var connection = new NpgsqlConnection(AdminConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"CREATE DATABASE {name};";
        command.ExecuteNonQuery();
        return name;
    }

    public static string ConnectionString(string database, bool pooling = true)
        => new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = database, Pooling = pooling }.ConnectionString;

    /// <summary>Drops the database, closing whatever connections are still open to it.</summary>
    public static async Task DropDatabaseAsync(string database)
    {
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"DROP DATABASE IF EXISTS {database} WITH (FORCE);";
        await command.ExecuteNonQueryAsync();
    }
}
