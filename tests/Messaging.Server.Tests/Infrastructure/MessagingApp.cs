using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Hangfire;
using Hangfire.States;
using Hangfire.Storage;
using Messaging.Contracts;
using Messaging.Contracts.Referrals;
using Messaging.Crypto.Keys;
using Messaging.Server.Features.Members;
using Messaging.Server.Features.Organisations;
using Messaging.Server.Persistence;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace Messaging.Server.Tests.Infrastructure;

/// <summary>
/// The server in process, on its own storage — a temporary SQLite file, or a PostgreSQL database of its own in the
/// migrated template's state on the test server (<see cref="TestPostgres.CreateMigratedDatabase"/>), given back
/// afterwards — and a fake clock that starts at a random instant,
/// with intent methods for the tests. Every test creates its own instance: no test sees another's data.
/// </summary>
public sealed class MessagingApp : WebApplicationFactory<Program>
{
    private readonly string _dataDirectory;
    private readonly StorageProvider _storage;
    private readonly string? _postgresDatabase;
    private readonly Dictionary<string, string?> _settings;
    private readonly Action<IServiceCollection>? _configureServices;
    private TestDevice? _operator;
    private IHost? _host;
    private int _counter;
    private bool _keepData;

    /// <param name="settings">Configuration keys over the defaults.</param>
    /// <param name="configureServices">Registrations a test adds as a feature of its own would (after the server's).</param>
    public MessagingApp(IDictionary<string, string?>? settings = null, Action<IServiceCollection>? configureServices = null)
        : this(StorageProvider.Sqlite, settings, configureServices)
    {
    }

    /// <param name="storage">The storage engine: SQLite, or PostgreSQL (a fresh copy of the migrated template on the test server).</param>
    /// <param name="settings">Configuration keys over the defaults.</param>
    /// <param name="configureServices">Registrations a test adds as a feature of its own would (after the server's).</param>
    public MessagingApp(StorageProvider storage, IDictionary<string, string?>? settings = null, Action<IServiceCollection>? configureServices = null)
        : this(Path.Combine(Path.GetTempPath(), "messaging-server-tests", Guid.NewGuid().ToString("N")),
            new FakeTimeProvider(new DateTimeOffset(2031, 3, 1, 8, 0, 0, TimeSpan.Zero).AddSeconds(Random.Shared.Next(0, 10_000_000))),
            storage, storage == StorageProvider.Postgres ? TestPostgres.CreateMigratedDatabase() : null, settings, configureServices)
    {
    }

    private MessagingApp(string dataDirectory, FakeTimeProvider clock, StorageProvider storage, string? postgresDatabase,
        IDictionary<string, string?>? settings, Action<IServiceCollection>? configureServices)
    {
        _dataDirectory = dataDirectory;
        _storage = storage;
        _postgresDatabase = postgresDatabase;
        _configureServices = configureServices;
        _settings = new Dictionary<string, string?>(settings ?? new Dictionary<string, string?>(), StringComparer.Ordinal);
        Clock = clock;
    }

    public FakeTimeProvider Clock { get; }

    public LogSink Logs { get; } = new();

    public string DatabasePath => Path.Combine(_dataDirectory, "messaging.db");

    public StorageProvider Storage => _storage;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("Messaging:Storage:DataDirectory", _dataDirectory);
        if (_postgresDatabase is not null)
        {
            builder.UseSetting("Messaging:Storage:Provider", nameof(StorageProvider.Postgres));
            builder.UseSetting("Messaging:Storage:ConnectionString", TestPostgres.ConnectionString(_postgresDatabase));
        }
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureLogging(logging =>
        {
            logging.ClearProviders();
            logging.SetMinimumLevel(LogLevel.Trace);
            logging.AddProvider(Logs);
        });
        builder.ConfigureTestServices(services =>
        {
            services.AddSingleton<TimeProvider>(Clock);
            _configureServices?.Invoke(services);
        });
    }

    protected override IHost CreateHost(IHostBuilder builder)
    {
        _host = base.CreateHost(builder);
        return _host;
    }

    /// <summary>Stops the host as SIGTERM does (readiness, the drain, the web server) without disposing it: the database
    /// stays to inspect until the app is disposed.</summary>
    public Task StopHostAsync() => (_host ?? throw new InvalidOperationException("The server has not started.")).StopAsync();

    /// <summary>Stops this server and starts a new one on the same database file and clock, as a process restart would:
    /// everything in memory (Hangfire's jobs among it) is gone, the database stays. Use the returned app from then on.</summary>
    public async Task<MessagingApp> RestartAsync()
    {
        _keepData = true;
        await DisposeAsync();
        var restarted = new MessagingApp(_dataDirectory, Clock, _storage, _postgresDatabase, _settings, _configureServices) { _operator = _operator, _counter = _counter };
        _ = restarted.Server;
        return restarted;
    }

    /// <summary>Another server instance on the same database and clock, with these settings over this one's (scale-out
    /// tests): its own host and in-memory state. The database stays this instance's to drop.</summary>
    public MessagingApp SiblingInstance(IDictionary<string, string?>? settings = null)
    {
        var merged = new Dictionary<string, string?>(_settings, StringComparer.Ordinal);
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            merged[key] = value;
        }

        return new MessagingApp(_dataDirectory + "-sibling-" + Guid.NewGuid().ToString("N"), Clock, _storage, _postgresDatabase, merged, _configureServices)
        {
            _operator = _operator,
            _counter = _counter + 10_000,
            _keepData = _postgresDatabase is not null,
        };
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        SqliteConnection.ClearAllPools();
        if (_keepData)
        {
            return;
        }

        if (_postgresDatabase is not null)
        {
            await TestPostgres.ReleaseMigratedDatabaseAsync(_postgresDatabase);
        }

        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    // ---- Intent methods -------------------------------------------------------------------------------------------

    /// <summary>The platform operator's enrolled device, created on first use the way the bootstrap command does.</summary>
    public async Task<TestDevice> OperatorAsync()
    {
        if (_operator is not null)
        {
            return _operator;
        }

        var organisation = await Services.GetRequiredService<OrganisationService>()
            .CreateAsync(null, new CreateOrganisationRequest("Platform", OrganisationTypes.Operator));
        var member = await Services.GetRequiredService<MemberService>().CreateAsync(null,
            new CreateMemberRequest(organisation.OrganisationId, "Operator", Roles.PlatformOperator, "operator@platform.example"));
        _operator = await EnrolDeviceAsync(new TestMember(member.MemberId, organisation.OrganisationId, Roles.PlatformOperator));
        return _operator;
    }

    /// <summary>Creates an organisation (as the operator) with an enrolled organisation admin.</summary>
    public async Task<TestOrganisation> CreateOrganisationAsync(string type = OrganisationTypes.PreventionService, string? name = null)
    {
        var op = await OperatorAsync();
        var client = await ClientAsync(op);
        var response = await client.PostAsJsonAsync(ApiRoutes.Organisations,
            new CreateOrganisationRequest(name ?? $"Service {Interlocked.Increment(ref _counter)}", type));
        response.EnsureSuccessStatusCode();
        var organisation = (await response.Content.ReadFromJsonAsync<OrganisationEntry>())!;
        var adminMember = await CreateMemberAsync(op, organisation.OrganisationId, Roles.OrganisationAdmin);
        var admin = await EnrolDeviceAsync(adminMember);
        return new TestOrganisation(organisation.OrganisationId, type, admin);
    }

    /// <summary>Creates a member of <paramref name="organisation"/> through its admin (or the operator for operators).</summary>
    public async Task<TestMember> CreateMemberAsync(TestOrganisation organisation, string role = Roles.Worker, string? displayName = null, string? email = null)
    {
        var actor = role == Roles.PlatformOperator ? await OperatorAsync() : organisation.Admin;
        return await CreateMemberAsync(actor, organisation.Id, role, displayName, email);
    }

    public async Task<TestMember> CreateMemberAsync(TestDevice actor, Guid organisationId, string role, string? displayName = null, string? email = null)
    {
        var n = Interlocked.Increment(ref _counter);
        var client = await ClientAsync(actor);
        var response = await client.PostAsJsonAsync(ApiRoutes.Members, new CreateMemberRequest(
            organisationId, displayName ?? $"Member {n}", role, email ?? $"member{n}@service.example"));
        response.EnsureSuccessStatusCode();
        var created = (await response.Content.ReadFromJsonAsync<MemberCreated>())!;
        return new TestMember(created.MemberId, created.OrganisationId, created.Role);
    }

    /// <summary>Issues a code on the host (no HTTP rights involved), for tests that are not about who issues codes.</summary>
    public async Task<string> IssueCodeAsync(TestMember member)
        => (await Services.GetRequiredService<MemberService>().IssueEnrolmentCodeAsync(null, member.Id)).Code;

    /// <summary>Generates real keys and enrols a device for the member.</summary>
    public async Task<TestDevice> EnrolDeviceAsync(TestMember member, int oneTimePreKeys = 20)
    {
        var keys = DeviceKeys.Generate(oneTimePreKeys);
        var response = await PostEnrolmentAsync(keys.Request(await IssueCodeAsync(member)));
        response.EnsureSuccessStatusCode();
        var enrolled = (await response.Content.ReadFromJsonAsync<EnrolDeviceResponse>())!;
        return new TestDevice(enrolled.DeviceId, member, keys);
    }

    public Task<HttpResponseMessage> PostEnrolmentAsync(EnrolDeviceRequest request) => CreateClient().PostAsJsonAsync(ApiRoutes.Enrolment, request);

    /// <summary>Challenge, sign, token.</summary>
    public async Task<TokenResponse> AuthenticateAsync(TestDevice device)
    {
        var http = CreateClient();
        var challengeResponse = await http.PostAsJsonAsync(ApiRoutes.AuthChallenge, new ChallengeRequest(device.Id));
        challengeResponse.EnsureSuccessStatusCode();
        var challenge = (await challengeResponse.Content.ReadFromJsonAsync<ChallengeResponse>())!;
        var tokenResponse = await http.PostAsJsonAsync(ApiRoutes.AuthToken,
            new TokenRequest(device.Id, challenge.Challenge, device.Keys.Identity.SignChallenge(challenge.Challenge)));
        tokenResponse.EnsureSuccessStatusCode();
        var token = (await tokenResponse.Content.ReadFromJsonAsync<TokenResponse>())!;
        device.Token = token.AccessToken;
        return token;
    }

    /// <summary>An HTTP client carrying the device's bearer token.</summary>
    public async Task<HttpClient> ClientAsync(TestDevice device)
    {
        if (device.Token is null)
        {
            await AuthenticateAsync(device);
        }

        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", device.Token);
        return client;
    }

    /// <summary>An HTTP client with a freshly issued token (after the fake clock jumped past the old one).</summary>
    public async Task<HttpClient> FreshClientAsync(TestDevice device)
    {
        device.Token = null;
        return await ClientAsync(device);
    }

    /// <summary>Connects to the hub over WebSockets with the token in the <c>access_token</c> query, as browsers do.</summary>
    public async Task<ConnectedDevice> ConnectAsync(TestDevice device, bool authenticate = true)
    {
        if (authenticate && device.Token is null)
        {
            await AuthenticateAsync(device);
        }

        var token = device.Token ?? string.Empty;
        var server = Server;
        var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(server.BaseAddress, HubRoutes.Messaging), options =>
            {
                options.Transports = HttpTransportType.WebSockets;
                options.SkipNegotiation = true;
                options.HttpMessageHandlerFactory = _ => server.CreateHandler();
                options.WebSocketFactory = async (context, cancellationToken) =>
                {
                    var uri = new UriBuilder(context.Uri) { Query = "access_token=" + Uri.EscapeDataString(token) }.Uri;
                    return await server.CreateWebSocketClient().ConnectAsync(uri, cancellationToken);
                };
            })
            .Build();
        var connected = new ConnectedDevice(device, connection);
        await connection.StartAsync();
        // The server runs a connection's calls only once its OnConnectedAsync — which pushes what is pending — is done:
        // one round trip lets that catch-up finish before the test goes on. Otherwise an envelope sent meanwhile may come
        // twice, live and by the catch-up (the protocol allows it, clients drop duplicates by id), and the test's count of
        // deliveries would depend on timing.
        await connection.InvokeAsync<WhoAmIResult>(nameof(IMessagingHub.WhoAmI));
        return connected;
    }

    // ---- Conversations and envelopes ------------------------------------------------------------------------------

    public static async Task<ConversationSummary> CreateConversationAsync(ConnectedDevice creator, bool collective, params TestMember[] others)
        => await creator.Hub.InvokeAsync<ConversationSummary>(nameof(IMessagingHub.CreateConversation),
            new CreateConversationRequest([.. others.Select(o => o.Id)], collective));

    /// <summary>Builds a well-formed send to exactly the conversation's devices (minus the sender), with random
    /// ciphertexts behind the version tag.</summary>
    public static async Task<SendEnvelopeRequest> BuildSendAsync(ConnectedDevice from, Guid conversationId, EnvelopeKind kind = EnvelopeKind.Chat, Guid? envelopeId = null)
    {
        var devices = await from.Hub.InvokeAsync<ConversationDevices>(nameof(IMessagingHub.GetConversationDevices),
            new GetConversationDevicesRequest(conversationId));
        var recipients = devices.Devices.Where(d => d.DeviceId != from.Device.Id)
            .Select(d => new RecipientCiphertext(d.DeviceId, Ciphertexts.Random(64)))
            .ToList();
        return new SendEnvelopeRequest(envelopeId ?? Guid.NewGuid(), conversationId, kind, recipients);
    }

    /// <summary>Like <see cref="BuildSendAsync"/>, under a case reference and optionally a consent.</summary>
    public static async Task<SendEnvelopeRequest> BuildCaseSendAsync(ConnectedDevice from, Guid conversationId, EnvelopeKind kind, string caseReference, Guid? consentId = null)
        => await BuildSendAsync(from, conversationId, kind) with { CaseReference = caseReference, ConsentId = consentId };

    public static async Task<SendEnvelopeResult> SendAsync(ConnectedDevice from, Guid conversationId, EnvelopeKind kind = EnvelopeKind.Chat, Guid? envelopeId = null)
        => await from.SendAsync(await BuildSendAsync(from, conversationId, kind, envelopeId));

    // ---- Directory, partners, referrals ----------------------------------------------------------------------------

    /// <summary>Creates an organisation with directory data (as the operator) and its enrolled admin.</summary>
    public async Task<TestOrganisation> CreateServiceAsync(string type, string level, string? region = null, bool? acceptsReferrals = null, string? name = null)
    {
        var op = await OperatorAsync();
        var client = await ClientAsync(op);
        var response = await client.PostAsJsonAsync(ApiRoutes.Organisations,
            new CreateOrganisationRequest(name ?? $"Service {Interlocked.Increment(ref _counter)}", type, level, region, acceptsReferrals));
        response.EnsureSuccessStatusCode();
        var organisation = (await response.Content.ReadFromJsonAsync<OrganisationEntry>())!;
        var admin = await EnrolDeviceAsync(await CreateMemberAsync(op, organisation.OrganisationId, Roles.OrganisationAdmin));
        return new TestOrganisation(organisation.OrganisationId, type, admin);
    }

    /// <summary>Creates a worker with one enrolled device and connects it.</summary>
    public async Task<ConnectedDevice> ConnectWorkerAsync(TestOrganisation organisation, string role = Roles.Worker)
        => await ConnectAsync(await EnrolDeviceAsync(await CreateMemberAsync(organisation, role)));

    /// <summary>Opens a referral from the caller's organisation under a fresh case reference.</summary>
    public static Task<ReferralEntry> OpenReferralAsync(ConnectedDevice from, Guid receivingOrganisationId, string? caseReference = null)
        => from.InvokeAsync<ReferralEntry>(nameof(IMessagingHub.OpenReferral), new OpenReferralRequest(caseReference ?? CaseReference.New(), receivingOrganisationId));

    public static Task<ReferralEntry> RespondAsync(ConnectedDevice by, string caseReference, ReferralResponse response, ReferralDeclineReason? reason = null)
        => by.InvokeAsync<ReferralEntry>(nameof(IMessagingHub.RespondToReferral), new RespondToReferralRequest(caseReference, response, reason));

    public static Task<ReferralEntry> WithdrawReferralAsync(ConnectedDevice by, string caseReference)
        => by.InvokeAsync<ReferralEntry>(nameof(IMessagingHub.WithdrawReferral), new WithdrawReferralRequest(caseReference));

    public static Task<ConsentEntry> RecordConsentAsync(ConnectedDevice by, string caseReference, Guid receivingOrganisationId, DateTimeOffset validUntil)
        => by.InvokeAsync<ConsentEntry>(nameof(IMessagingHub.RecordConsent), new RecordConsentRequest(caseReference, receivingOrganisationId, validUntil));

    /// <summary>The referral as the database holds it (through the caller's organisation's list).</summary>
    public static async Task<ReferralEntry> ReferralAsync(ConnectedDevice viewer, string caseReference)
        => (await viewer.Hub.InvokeAsync<IReadOnlyList<ReferralEntry>>(nameof(IMessagingHub.ListReferrals))).Single(r => r.CaseReference == caseReference);

    /// <summary>A referral's status as stored (no token needed, for tests that jump the clock).</summary>
    public async Task<ReferralStatus> ReferralStatusAsync(string caseReference)
        => (ReferralStatus)long.Parse((await QueryRowsAsync($"SELECT status FROM referrals WHERE case_reference = '{caseReference}';")).Single()[0]!,
            System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Authenticates again and opens a new connection (after the fake clock jumped past the token's life). The
    /// old connection is closed.</summary>
    public async Task<ConnectedDevice> ReconnectAsync(ConnectedDevice device)
    {
        await device.DisposeAsync();
        device.Device.Token = null;
        return await ConnectAsync(device.Device);
    }

    // ---- Jobs -----------------------------------------------------------------------------------------------------

    /// <summary>
    /// What Hangfire would do once the fake clock's jump had passed in real time: every delayed job runs now, and this
    /// returns when each has finished. A job whose deadline the fake clock has not reached schedules itself again, so
    /// running one early is harmless — exactly what makes the deadlines testable on the fake clock.
    /// </summary>
    internal async Task RunDueJobsAsync()
    {
        var storage = Services.GetRequiredService<JobStorage>();
        var client = Services.GetRequiredService<IBackgroundJobClient>();
        var scheduled = storage.GetMonitoringApi().ScheduledJobs(0, int.MaxValue).Select(j => j.Key).ToList();
        foreach (var id in scheduled)
        {
            client.Requeue(id);
        }

        await WaitForJobsAsync(storage, scheduled);
    }

    /// <summary>
    /// Runs the due jobs until <paramref name="done"/> holds, for at most 30 seconds. A copy of a job that Hangfire's
    /// own poller started before the fake clock moved can still be running, with the old time, when
    /// <see cref="RunDueJobsAsync"/> looks for scheduled jobs; it reschedules itself only after that — on a busy
    /// machine, seconds later — so the rounds go on, a moment apart, until a round finds it. Tests assert on the
    /// outcome afterwards, so a job that never does its work still fails them.
    /// </summary>
    internal async Task RunDueJobsUntilAsync(Func<Task<bool>> done)
    {
        var waited = Stopwatch.StartNew();
        while (!await done() && waited.Elapsed < TimeSpan.FromSeconds(30))
        {
            await RunDueJobsAsync();
            if (!await done())
            {
                await Task.Delay(100);
            }
        }
    }

    /// <summary>Triggers every recurring sweep now and waits for them to finish.</summary>
    internal async Task RunSweepsAsync()
    {
        var storage = Services.GetRequiredService<JobStorage>();
        var manager = Services.GetRequiredService<IRecurringJobManagerV2>();
        using var connection = storage.GetConnection();
        var triggered = connection.GetRecurringJobs().Select(r => manager.TriggerJob(r.Id)).OfType<string>().ToList();
        Assert.NotEmpty(triggered);
        await WaitForJobsAsync(storage, triggered);
    }

    /// <summary>The ids of the recurring jobs registered with the runner.</summary>
    internal IReadOnlyList<string> RecurringJobIds()
    {
        using var connection = Services.GetRequiredService<JobStorage>().GetConnection();
        return [.. connection.GetRecurringJobs().Select(r => r.Id).Order(StringComparer.Ordinal)];
    }

    /// <summary>The delayed jobs waiting in the runner (method name and first argument).</summary>
    internal IReadOnlyList<(string Method, string? Argument)> ScheduledJobs()
        => [.. Services.GetRequiredService<JobStorage>().GetMonitoringApi().ScheduledJobs(0, int.MaxValue)
            .Select(j => ($"{j.Value.Job.Type.Name}.{j.Value.Job.Method.Name}", j.Value.Job.Args.Count > 0 ? j.Value.Job.Args[0]?.ToString() : null))];

    private static async Task WaitForJobsAsync(JobStorage storage, IReadOnlyList<string> ids)
    {
        using var connection = storage.GetConnection();
        var waited = Stopwatch.StartNew();
        foreach (var id in ids)
        {
            while (connection.GetStateData(id)?.Name is { } state && (state == EnqueuedState.StateName || state == ProcessingState.StateName))
            {
                Assert.True(waited.Elapsed < TimeSpan.FromSeconds(30), $"job {id} did not finish");
                await Task.Delay(10);
            }

            Assert.Equal(SucceededState.StateName, connection.GetStateData(id)?.Name);
        }
    }

    // ---- Database inspection --------------------------------------------------------------------------------------

    /// <summary>A connection of its own to this server's database, outside the server: SQLite's unpooled; on PostgreSQL
    /// from the test's own pool for this database (<see cref="TestPostgres.InspectionConnectionString"/>), so that the
    /// many inspections of a test share one session instead of starting a server process each.</summary>
    public async Task<System.Data.Common.DbConnection> OpenDatabaseAsync()
    {
        System.Data.Common.DbConnection connection = _postgresDatabase is null
            ? new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DatabasePath, Pooling = false }.ToString())
            : new NpgsqlConnection(TestPostgres.InspectionConnectionString(_postgresDatabase));
        await connection.OpenAsync();
        return connection;
    }

    /// <summary>A blob literal in this provider's SQL (SQLite <c>X'…'</c>, PostgreSQL <c>'\x…'::bytea</c>).</summary>
    public string BlobLiteral(byte[] bytes)
        => _postgresDatabase is null ? $"X'{Convert.ToHexString(bytes)}'" : $"'\\x{Convert.ToHexString(bytes)}'::bytea";

    /// <summary>A table's column names in their declared order.</summary>
    public async Task<List<string?>> ColumnsAsync(string table) => [.. (await QueryRowsAsync(_postgresDatabase is null
        ? $"SELECT name FROM pragma_table_info('{table}') ORDER BY cid;"
        : $"SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = '{table}' ORDER BY ordinal_position;"))
        .Select(r => r[0])];

    /// <summary>
    /// The files that hold this database's bytes on disk, everything written so far in them: SQLite's file and its WAL;
    /// on PostgreSQL, after a checkpoint, the database's own folder and the server's WAL segments (shared with other
    /// databases). For tests that check what never reaches the disk.
    /// </summary>
    public async Task<List<string>> StoredFilesAsync()
    {
        if (_postgresDatabase is null)
        {
            return [.. new[] { DatabasePath, DatabasePath + "-wal" }.Where(File.Exists)];
        }

        var rows = await QueryRowsAsync(
            $"CHECKPOINT; SELECT current_setting('data_directory'), oid FROM pg_database WHERE datname = '{_postgresDatabase}';");
        var dataDirectory = rows.Single()[0]!;
        return [.. Directory.GetFiles(Path.Combine(dataDirectory, "base", rows.Single()[1]!)),
            .. Directory.GetFiles(Path.Combine(dataDirectory, "pg_wal")).Where(f => Path.GetFileName(f).Length == 24)];
    }

    /// <summary>Whether any file of <see cref="StoredFilesAsync"/> contains <paramref name="needle"/>.</summary>
    public async Task<bool> StoredBytesContainAsync(byte[] needle)
    {
        foreach (var file in await StoredFilesAsync())
        {
            byte[] bytes;
            try
            {
                bytes = await File.ReadAllBytesAsync(file);
            }
            catch (FileNotFoundException)
            {
                continue; // a WAL segment recycled meanwhile
            }

            if (bytes.AsSpan().IndexOf(needle) >= 0)
            {
                return true;
            }
        }

        return false;
    }

    public async Task<long> CountAsync(string table, string where = "1 = 1")
    {
        await using var connection = await OpenDatabaseAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT COUNT(*) FROM {table} WHERE {where};";
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Every row of a query as strings (NULL as null).</summary>
    public async Task<List<string?[]>> QueryRowsAsync(string sql)
    {
        await using var connection = await OpenDatabaseAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string?[]>();
        while (await reader.ReadAsync())
        {
            var row = new string?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++)
            {
                row[i] = reader.IsDBNull(i) ? null : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture);
            }

            rows.Add(row);
        }

        return rows;
    }

    public async Task ExecuteSqlAsync(string sql)
    {
        await using var connection = await OpenDatabaseAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Rows that a refused send must not have created (and audit entries for envelopes, which no send creates).</summary>
    public async Task<(long Envelopes, long Copies, long AuditSends)> EnvelopeRowsAsync()
        => (await CountAsync("envelopes"), await CountAsync("envelope_recipients"), await CountAsync("audit_log", "event_type = 'envelope.accepted'"));

    internal IDatabase Database => Services.GetRequiredService<IDatabase>();
}

public sealed record TestOrganisation(Guid Id, string Type, TestDevice Admin);

public sealed record TestMember(Guid Id, Guid OrganisationId, string Role);

public sealed class TestDevice(Guid id, TestMember member, DeviceKeys keys)
{
    public Guid Id { get; } = id;

    public TestMember Member { get; } = member;

    public DeviceKeys Keys { get; } = keys;

    public string? Token { get; set; }
}

/// <summary>A device's real key material, generated with Messaging.Crypto.</summary>
public sealed class DeviceKeys
{
    private DeviceKeys(IdentityKeyPair identity, SignedPreKeyPair signedPreKey, IReadOnlyList<OneTimePreKeyPair> oneTimePreKeys)
    {
        Identity = identity;
        SignedPreKey = signedPreKey;
        OneTimePreKeys = oneTimePreKeys;
    }

    public IdentityKeyPair Identity { get; }

    public SignedPreKeyPair SignedPreKey { get; }

    public IReadOnlyList<OneTimePreKeyPair> OneTimePreKeys { get; }

    public static DeviceKeys Generate(int oneTimePreKeys = 20) => FromIdentity(IdentityKeyPair.Generate(), oneTimePreKeys);

    /// <summary>Fresh prekeys around a given identity (for tests that sign keys of their own with it).</summary>
    public static DeviceKeys FromIdentity(IdentityKeyPair identity, int oneTimePreKeys = 20)
        => new(identity, SignedPreKeyPair.Generate(identity, 1), OneTimePreKeyPair.GenerateBatch(1, oneTimePreKeys));

    public EnrolDeviceRequest Request(string code) => new(
        code,
        Identity.PublicKey.ToBytes(),
        new SignedPreKeyData(SignedPreKey.Id, SignedPreKey.PublicKey.PublicKey, SignedPreKey.PublicKey.Signature),
        [.. OneTimePreKeys.Select(k => new OneTimePreKeyData(k.Id, k.PublicKey.PublicKey))]);
}

public static class Ciphertexts
{
    /// <summary>Version tag 0x01 followed by random bytes: what a client's ciphertext looks like to the server.</summary>
    public static byte[] Random(int length)
    {
        var bytes = new byte[length];
        System.Security.Cryptography.RandomNumberGenerator.Fill(bytes);
        bytes[0] = CiphertextFormat.Version1;
        return bytes;
    }
}
