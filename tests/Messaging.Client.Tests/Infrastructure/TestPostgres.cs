using System.Diagnostics;

namespace Messaging.Client.Tests.Infrastructure;

/// <summary>
/// The PostgreSQL server the test script starts (<c>ops/scripts/deps.sh</c>; its superuser connection string in
/// <see cref="Variable"/>), reached with the PostgreSQL command-line tools (this project does not reference Npgsql): a
/// database per platform, and a plain-text dump of everything in it — the messaging tables and Hangfire's job storage.
/// Without the variable the PostgreSQL variants fail with the remedy; they never pass or skip silently.
/// </summary>
internal static class TestPostgres
{
    public const string Variable = "MESSAGING_TEST_POSTGRES";

    /// <summary>The superuser connection string of the test server (Npgsql's key=value form).</summary>
    public static string AdminConnectionString => Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } value
        ? value
        : throw new InvalidOperationException(
            $"{Variable} is not set: the PostgreSQL variants of the tests need the PostgreSQL server that the test script starts. "
            + "Run the tests with `bash ops/scripts/test.sh`.");

    /// <summary>The Npgsql connection string of <paramref name="database"/> (what the server is configured with).</summary>
    public static string ConnectionString(string database) => string.Join(';',
        Parts(AdminConnectionString).Where(p => !p.Key.Equals("Database", StringComparison.OrdinalIgnoreCase)).Select(p => $"{p.Key}={p.Value}")
            .Append($"Database={database}"));

    public static async Task<string> CreateDatabaseAsync()
    {
        var name = "messaging_client_test_" + Guid.NewGuid().ToString("N");
        await RunAsync("psql", "postgres", "-v", "ON_ERROR_STOP=1", "-c", $"CREATE DATABASE {name};");
        return name;
    }

    public static Task DropDatabaseAsync(string database)
        => RunAsync("psql", "postgres", "-v", "ON_ERROR_STOP=1", "-c", $"DROP DATABASE IF EXISTS {database} WITH (FORCE);");

    /// <summary>Every schema and row of <paramref name="database"/> as SQL text (<c>pg_dump</c>).</summary>
    public static Task<string> DumpAsync(string database) => RunAsync("pg_dump", database, "--no-owner");

    private static async Task<string> RunAsync(string tool, string database, params string[] args)
    {
        var parts = Parts(AdminConnectionString).ToDictionary(p => p.Key, p => p.Value, StringComparer.OrdinalIgnoreCase);
        var info = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add($"host={parts["Host"]} port={parts["Port"]} user={parts["Username"]} dbname={database}");
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["PGPASSWORD"] = parts.GetValueOrDefault("Password") ?? "";
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"{tool} failed: {await error}");
        return await output;
    }

    private static IEnumerable<KeyValuePair<string, string>> Parts(string connectionString)
        => connectionString.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(p => p.Split('=', 2))
            .Select(p => KeyValuePair.Create(p[0], p.Length > 1 ? p[1] : ""));
}
