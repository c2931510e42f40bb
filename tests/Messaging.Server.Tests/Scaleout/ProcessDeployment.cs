using System.Net.Http.Json;
using Messaging.Contracts;
using Messaging.Server.Tests.Infrastructure;
using Npgsql;

namespace Messaging.Server.Tests.Scaleout;

/// <summary>
/// A scaled-out deployment of real server processes, as production runs it: one PostgreSQL database (created for the
/// deployment, dropped on dispose), one Redis channel prefix, and instances that are each an OS process of the built
/// server (<c>dotnet Messaging.Server.dll</c>) on a loopback port of its own. The instances share nothing else. Setting
/// up organisations and devices goes over HTTP, as an operator would.
/// </summary>
public sealed class ProcessDeployment : IAsyncDisposable
{
    private readonly string _adminConnectionString;
    private readonly string _database;
    private readonly Dictionary<string, string> _environment;
    private readonly List<LimitedServerProcess> _started = [];
    private int _counter;

    private ProcessDeployment(string adminConnectionString, string database, Dictionary<string, string> environment, string prefix)
    {
        _adminConnectionString = adminConnectionString;
        _database = database;
        _environment = environment;
        Prefix = prefix;
    }

    /// <summary>The Redis channel prefix of this deployment.</summary>
    public string Prefix { get; }

    /// <summary>The instances started so far, in order (killed or stopped ones included).</summary>
    public IReadOnlyList<LimitedServerProcess> Instances => _started;

    /// <summary>The instances still running.</summary>
    public IReadOnlyList<LimitedServerProcess> Running => [.. _started.Where(i => !i.HasExited)];

    public TestDevice Operator { get; private set; } = null!;

    /// <summary>How long the deployment took to start (database, bootstrap, instances ready).</summary>
    public TimeSpan StartupTime { get; private set; }

    /// <summary>The database's connection string (for the test's own checks).</summary>
    public string ConnectionString => new NpgsqlConnectionStringBuilder(_adminConnectionString) { Database = _database, Pooling = false }.ConnectionString;

    /// <param name="instances">How many instances to start (in parallel).</param>
    /// <param name="redis">The Redis address.</param>
    /// <param name="postgresAdmin">The superuser connection string of the PostgreSQL server; the test script's one by default.</param>
    /// <param name="settings">More configuration, keys as in <c>appsettings.json</c> (<c>Messaging:Jobs:PollingInterval</c>).</param>
    public static async Task<ProcessDeployment> StartAsync(int instances, string redis, string? postgresAdmin = null, IReadOnlyDictionary<string, string>? settings = null)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var admin = postgresAdmin ?? TestPostgres.AdminConnectionString;
        var database = "messaging_test_" + Guid.NewGuid().ToString("N");
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = $"CREATE DATABASE {database};";
            await command.ExecuteNonQueryAsync();
        }

        var prefix = TestRedis.NewPrefix();
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["Messaging__Storage__Provider"] = "Postgres",
            ["Messaging__Storage__ConnectionString"] = new NpgsqlConnectionStringBuilder(admin) { Database = database }.ConnectionString,
            ["Messaging__Scaleout__Redis"] = redis,
            ["Messaging__Scaleout__ChannelPrefix"] = prefix,
            ["Messaging__Scaleout__CatchUpDelay"] = "00:00:00",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        var deployment = new ProcessDeployment(admin, database, environment, prefix);
        try
        {
            // All at once: whoever comes first migrates (under an advisory lock), the others wait for it.
            var code = LimitedServerProcess.BootstrapAsync(environment);
            await Task.WhenAll(code, deployment.StartInstancesAsync(instances));
            deployment.Operator = await deployment._started[0].EnrolAsync(await code, new TestMember(Guid.Empty, Guid.Empty, Roles.PlatformOperator));
            deployment.StartupTime = clock.Elapsed;
        }
        catch
        {
            await deployment.DisposeAsync();
            throw;
        }

        return deployment;
    }

    /// <summary>Starts <paramref name="count"/> more instances of the deployment (a restart after a stop, or a new one).</summary>
    public async Task<IReadOnlyList<LimitedServerProcess>> StartInstancesAsync(int count)
    {
        var starting = Enumerable.Range(0, count).Select(_ => LimitedServerProcess.StartInstanceAsync(_environment)).ToList();
        try
        {
            await Task.WhenAll(starting);
        }
        finally
        {
            _started.AddRange(starting.Where(t => t.IsCompletedSuccessfully).Select(t => t.Result));
        }

        return [.. starting.Select(t => t.Result)];
    }

    /// <summary>An organisation created by the operator through <paramref name="via"/>, with an enrolled admin.</summary>
    public async Task<TestOrganisation> CreateOrganisationAsync(LimitedServerProcess via, string type = OrganisationTypes.PreventionService)
    {
        using var http = via.Client(Operator.Token);
        var organisation = (await (await http.PostAsJsonAsync(ApiRoutes.Organisations,
            new CreateOrganisationRequest($"Service {Interlocked.Increment(ref _counter)}", type)))
            .EnsureSuccessStatusCode().Content.ReadFromJsonAsync<OrganisationEntry>())!;
        var admin = await EnrolMemberAsync(via, Operator, organisation.OrganisationId, Roles.OrganisationAdmin, null);
        return new TestOrganisation(organisation.OrganisationId, type, admin);
    }

    /// <summary>A member of the organisation (a worker unless said otherwise), created and given a code by its admin,
    /// enrolled with real keys.</summary>
    public Task<TestDevice> EnrolWorkerAsync(LimitedServerProcess via, TestOrganisation organisation, string role = Roles.Worker, string? email = null)
        => EnrolMemberAsync(via, organisation.Admin, organisation.Id, role, email);

    public async ValueTask DisposeAsync()
    {
        foreach (var instance in _started)
        {
            await instance.DisposeAsync();
        }

        try
        {
            await using var connection = new NpgsqlConnection(_adminConnectionString);
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = $"DROP DATABASE IF EXISTS {_database} WITH (FORCE);";
            await command.ExecuteNonQueryAsync();
        }
        catch (NpgsqlException)
        {
            // The server is gone (a private cluster stopped first): its folder is deleted with it.
        }
    }

    private async Task<TestDevice> EnrolMemberAsync(LimitedServerProcess via, TestDevice actor, Guid organisationId, string role, string? email)
    {
        using var http = via.Client(actor.Token);
        var n = Interlocked.Increment(ref _counter);
        var member = (await (await http.PostAsJsonAsync(ApiRoutes.Members, new CreateMemberRequest(organisationId, $"Member {n}", role, email ?? $"member{n}@service.example")))
            .EnsureSuccessStatusCode().Content.ReadFromJsonAsync<MemberCreated>())!;
        var code = (await (await http.PostAsync(new Uri(ApiRoutes.EnrolmentCodesFor(member.MemberId), UriKind.Relative), null))
            .EnsureSuccessStatusCode().Content.ReadFromJsonAsync<EnrolmentCodeIssued>())!;
        return await via.EnrolAsync(code.Code, new TestMember(member.MemberId, member.OrganisationId, member.Role));
    }
}
