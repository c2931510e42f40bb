using System.Globalization;
using Npgsql;

namespace Messaging.LoadTest;

/// <summary>The storage engine a run uses.</summary>
internal enum LoadStorage
{
    Sqlite,
    Postgres,
}

/// <summary>
/// How the real server is deployed for a run: its storage, how many instances (two or more share one PostgreSQL database
/// and a Redis backplane), the descriptor limit each runs under (<c>prlimit</c>; null keeps the tool's), how many loopback
/// addresses each listens on (one address offers about 28,000 client ports), settings added to every instance, and
/// environment variables (<c>NAME=VALUE</c>, e.g. the runtime's <c>DOTNET_gcServer=0</c>) given to the instances only,
/// and whether each address also gets an HTTP/2-only (cleartext, prior knowledge) port beside it, for WebSockets over
/// HTTP/2 (RFC 8441: many hub connections multiplexed on one TCP connection, as a proxy speaking HTTP/2 to the server
/// would bring them).
/// </summary>
internal sealed record ServerSetup(LoadStorage Storage = LoadStorage.Sqlite, int Instances = 1, int? DescriptorLimit = null, int ListenAddresses = 1,
    IReadOnlyList<string>? Settings = null, IReadOnlyList<string>? ServerEnvironment = null, bool Http2 = false)
{
    /// <summary>The superuser connection string of the PostgreSQL cluster (<c>ops/scripts/deps.sh</c>).</summary>
    public const string PostgresVariable = "MESSAGING_TEST_POSTGRES";

    /// <summary>The Redis backplane's address (<c>ops/scripts/deps.sh</c>).</summary>
    public const string RedisVariable = "MESSAGING_TEST_REDIS";

    /// <summary>PIDs of the PostgreSQL postmaster and of the Redis server, when known (the tool then reports their CPU).</summary>
    public const string PostgresPidVariable = "MESSAGING_LOAD_POSTGRES_PID";

    public const string RedisPidVariable = "MESSAGING_LOAD_REDIS_PID";

    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"{(Storage == LoadStorage.Sqlite ? "SQLite" : "PostgreSQL")}, {Instances} instance{(Instances > 1 ? "s" : "")}{(Instances > 1 ? " + Redis" : "")}");

    public static LoadStorage ParseStorage(string value) => value switch
    {
        "sqlite" => LoadStorage.Sqlite,
        "postgres" => LoadStorage.Postgres,
        _ => throw new ArgumentException($"--storage is sqlite or postgres, not '{value}'"),
    };

    public static int? ProcessIdFrom(string variable)
        => int.TryParse(Environment.GetEnvironmentVariable(variable), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null;

    internal static string Required(string variable) => Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value
        ? value
        : throw new InvalidOperationException($"{variable} is not set: start PostgreSQL and Redis first (`source tests/Messaging.LoadTest/storage/services.sh`).");
}

/// <summary>The real server process(es) on free loopback ports, bootstrapped with a platform operator, per-device rate
/// limits lifted (the load is the point) and logging at warning. On PostgreSQL each run gets a database of its own,
/// dropped at the end; with several instances they share it and a Redis backplane (a channel prefix of their own).</summary>
internal sealed class RealServer : IAsyncDisposable
{
    private readonly DirectoryInfo _data;
    private readonly string? _database;

    private RealServer(DirectoryInfo data, string? database, IReadOnlyList<ChildProcess> processes, IReadOnlyList<IReadOnlyList<Uri>> urls,
        IReadOnlyList<IReadOnlyList<Uri>> http2Urls, string operatorCode)
    {
        _data = data;
        _database = database;
        Processes = processes;
        InstanceUrls = urls;
        InstanceHttp2Urls = http2Urls;
        OperatorCode = operatorCode;
    }

    /// <summary>The first instance.</summary>
    public ChildProcess Process => Processes[0];

    /// <summary>The first instance's first address.</summary>
    public Uri Url => InstanceUrls[0][0];

    public IReadOnlyList<ChildProcess> Processes { get; }

    /// <summary>Each instance's addresses (one per loopback address it listens on).</summary>
    public IReadOnlyList<IReadOnlyList<Uri>> InstanceUrls { get; }

    /// <summary>Each instance's HTTP/2-only addresses (<see cref="ServerSetup.Http2"/>; empty lists without it).</summary>
    public IReadOnlyList<IReadOnlyList<Uri>> InstanceHttp2Urls { get; }

    /// <summary>The platform operator's one-time enrolment code.</summary>
    public string OperatorCode { get; }

    public static Task<RealServer> StartAsync(string serverDirectory) => StartAsync(serverDirectory, new ServerSetup());

    public static async Task<RealServer> StartAsync(string serverDirectory, ServerSetup setup)
    {
        var data = Directory.CreateTempSubdirectory("messaging-load-");
        string? database = null;
        var started = new List<ChildProcess>();
        try
        {
            var storage = new List<string> { "--Messaging:Storage:DataDirectory", data.FullName };
            if (setup.Storage == LoadStorage.Postgres)
            {
                database = await CreateDatabaseAsync();
                storage.AddRange(["--Messaging:Storage:Provider", "Postgres", "--Messaging:Storage:ConnectionString", ConnectionString(database)]);
            }

            var bootstrap = await ChildProcess.RunAsync(serverDirectory, ["Messaging.Server.dll", "bootstrap", "--organisation", "Plateforme", "--type", Messaging.Contracts.OrganisationTypes.Operator,
                "--operator", "Load operator", "--email", "operator@load.example", .. storage]);
            var operatorCode = bootstrap.Split('\n').Single(l => l.StartsWith("enrolment code ", StringComparison.Ordinal)).Split(' ')[2].Trim();
            var scaleout = setup.Instances > 1
                ? new[] { "--Messaging:Scaleout:Redis", ServerSetup.Required(ServerSetup.RedisVariable), "--Messaging:Scaleout:ChannelPrefix", $"load-{Guid.NewGuid():N}" }
                : [];
            var urls = new List<IReadOnlyList<Uri>>();
            var http2Urls = new List<IReadOnlyList<Uri>>();
            for (var instance = 0; instance < setup.Instances; instance++)
            {
                var port = ChildProcess.FreePort();
                var addresses = Enumerable.Range(1, setup.ListenAddresses).Select(a => new Uri($"http://127.0.0.{a}:{port}/")).ToList();
                var http2Port = setup.Http2 ? ChildProcess.FreePort() : 0;
                while (setup.Http2 && http2Port == port)
                {
                    http2Port = ChildProcess.FreePort();
                }

                var http2 = setup.Http2 ? addresses.Select(a => new Uri($"http://{a.Host}:{http2Port}/")).ToList() : [];
                // Endpoints from configuration replace --urls, so with HTTP/2 every address is named there.
                string[] listen = setup.Http2
                    ?
                    [
                        .. addresses.SelectMany((a, i) => new[] { $"--Kestrel:Endpoints:Http1-{i}:Url", a.ToString().TrimEnd('/') }),
                        .. http2.SelectMany((a, i) => new[] { $"--Kestrel:Endpoints:Http2-{i}:Url", a.ToString().TrimEnd('/'), $"--Kestrel:Endpoints:Http2-{i}:Protocols", "Http2" }),
                    ]
                    : ["--urls", string.Join(';', addresses.Select(a => a.ToString().TrimEnd('/')))];
                started.Add(await ChildProcess.StartAsync(serverDirectory,
                [
                    "Messaging.Server.dll", .. listen, .. storage, .. scaleout,
                    "--Messaging:RateLimits:SendsPerWindow", "1000000",
                    "--Messaging:RateLimits:PreKeyBundleFetchesPerWindow", "1000000",
                    "--Messaging:RateLimits:AuthenticationAttemptsPerWindow", "1000000",
                    "--Messaging:RateLimits:ConversationChangesPerWindow", "1000000",
                    "--Logging:LogLevel:Default", "Warning",
                    .. setup.Settings ?? [],
                ], new Uri(addresses[0], "health/ready"), setup.DescriptorLimit, setup.ServerEnvironment));
                urls.Add(addresses);
                http2Urls.Add(http2);
            }

            return new RealServer(data, database, started, urls, http2Urls, operatorCode);
        }
        catch
        {
            foreach (var process in started)
            {
                await process.DisposeAsync();
            }

            await DropAsync(data, database);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in Processes)
        {
            await process.DisposeAsync();
        }

        await DropAsync(_data, _database);
    }

    /// <summary>
    /// On PostgreSQL, settles the tables after the run's bulk set-up as autovacuum has long done in a deployment that grew
    /// to this size over weeks: <c>VACUUM (ANALYZE)</c>. Without the statistics the first minute after enrolling thousands
    /// of devices runs on figures taken while the tables were nearly empty: <c>auto_explain</c> showed half the sends'
    /// membership look-ups planned as a hash join over a sequential scan of every member (0.7 ms instead of 0.09). Without
    /// the vacuum, autovacuum's first pass over every table the set-up filled (devices, pre-keys, key log, audit log…)
    /// fell inside the measured window: the PostgreSQL log put it on the three slowest seconds of a run (2026-11-28). Both
    /// are costs of the set-up, not of the relay; the envelope tables' own autovacuum, which steady traffic calls for every
    /// minute or so, still runs during the window.
    /// </summary>
    public async Task SettleStatisticsAsync()
    {
        if (_database is null)
        {
            return;
        }

        await using var connection = new NpgsqlConnection(ConnectionString(_database));
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "VACUUM (ANALYZE);";
        await command.ExecuteNonQueryAsync();
    }

    private static string ConnectionString(string database)
        => new NpgsqlConnectionStringBuilder(ServerSetup.Required(ServerSetup.PostgresVariable)) { Database = database }.ConnectionString;

    private static async Task<string> CreateDatabaseAsync()
    {
        var name = "messaging_load_" + Guid.NewGuid().ToString("N");
        await using var connection = new NpgsqlConnection(ServerSetup.Required(ServerSetup.PostgresVariable));
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"CREATE DATABASE {name};";
        await command.ExecuteNonQueryAsync();
        return name;
    }

    private static async Task DropAsync(DirectoryInfo data, string? database)
    {
        data.Delete(recursive: true);
        if (database is null)
        {
            return;
        }

        await using var connection = new NpgsqlConnection(ServerSetup.Required(ServerSetup.PostgresVariable));
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"DROP DATABASE IF EXISTS {database} WITH (FORCE);";
        await command.ExecuteNonQueryAsync();
    }
}
