using Messaging.Contracts;
using Messaging.Crypto.KeyStore;

namespace Messaging.Client.Tests.Infrastructure;

/// <summary>
/// A running server with a bootstrapped platform operator, and intent methods to build a population:
/// organisations with an admin, workers, devices. A test gets its own platform (own process, own data), or shares its
/// class's (the client tests' <c>SharedPlatform</c>) when it builds its own organisations and reads nothing server-wide.
/// </summary>
internal sealed class Platform : IAsyncDisposable
{
    public const string Passphrase = "test passphrase";
    private readonly DirectoryInfo _root;
    private readonly List<MessagingClient> _clients = [];
    private readonly Dictionary<Guid, string> _storePaths = [];

    private Platform(DirectoryInfo root, ServerProcess server, string? postgresDatabase)
    {
        _root = root;
        Server = server;
        PostgresDatabase = postgresDatabase;
    }

    public ServerProcess Server { get; }

    public MessagingClient Operator { get; private set; } = null!;

    /// <summary>
    /// The options of the devices this process enrols and opens. Their key stores use libsodium's lowest Argon2id cost
    /// (1 pass, 8 KiB), below what a store is accepted with outside the tests: deriving store keys at the lowest production
    /// cost took a fifth of the client tests' CPU (docs/performance.md, "The test suite"), and no test here is about
    /// that cost (the crypto tests are, and the CLI and app processes keep production's limits). A store handed to
    /// another process is sealed again at production's lowest cost first (<see cref="ReleaseAsync"/>).
    /// </summary>
    public static MessagingClientOptions ClientOptions { get; } = new()
    {
        KeyStore = KeyStoreOptions.ForTesting(1, 8),
        KeyStoreLimits = KeyStoreLimits.Testing,
        MaxReconnectDelay = TimeSpan.FromMilliseconds(300),
    };

    /// <summary>The server's PostgreSQL database (its tables and Hangfire's job storage), when it runs on PostgreSQL.</summary>
    public string? PostgresDatabase { get; }

    /// <param name="postgres">Run the server on a fresh database of the test PostgreSQL server (production mode's
    /// storage and job storage) instead of the embedded SQLite file.</param>
    /// <param name="serverSettings">More configuration for the server process (not the bootstrap), as command-line pairs.</param>
    public static async Task<Platform> StartAsync(bool postgres = false, IReadOnlyList<string>? serverSettings = null)
    {
        var root = Directory.CreateTempSubdirectory("messaging-client-tests-");
        var data = Path.Combine(root.FullName, "data");
        var database = postgres ? await TestPostgres.CreateDatabaseAsync() : null;
        string[] settings = database is null ? [] : ["--Messaging:Storage:Provider", "Postgres", "--Messaging:Storage:ConnectionString", TestPostgres.ConnectionString(database)];
        var bootstrap = await ServerProcess.RunCommandAsync(data, settings, "bootstrap", "--organisation", "Plateforme", "--type", OrganisationTypes.Operator,
            "--operator", "Opératrice", "--email", "operator@platform.example");
        var code = bootstrap.Split('\n').Single(l => l.StartsWith("enrolment code ", StringComparison.Ordinal)).Split(' ')[2].Trim();
        var platform = new Platform(root, await ServerProcess.StartAsync(data, [.. settings, .. serverSettings ?? []]), database);
        platform.Operator = await platform.EnrolWithCodeAsync(code);
        return platform;
    }

    /// <summary>The key store of a device enrolled here (for the CLI to open the same device).</summary>
    public string StorePathOf(MessagingClient client) => _storePaths[client.DeviceId];

    /// <summary>
    /// Disposes an in-process device and returns its key store, for the CLI to open: a key store has one owner process
    /// at a time, so the CLI may use it only once this process let go of it.
    /// </summary>
    public async Task<string> ReleaseAsync(MessagingClient client)
    {
        var path = _storePaths[client.DeviceId];
        _clients.Remove(client);
        await client.DisposeAsync();

        // Sealed again at the lowest cost the CLI and the app accept (see ClientOptions).
        using var passphrase = new Passphrase(Passphrase);
        byte[] payload;
        using (var loaded = await new EncryptedKeyStore(path, ClientOptions.KeyStore, KeyStoreLimits.Testing, beforeReplace: null).LoadAsync(passphrase))
        {
            payload = loaded.ToArray();
        }

        try
        {
            await new EncryptedKeyStore(path, KeyStoreOptions.Interactive).SaveAsync(payload, passphrase);
        }
        finally
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(payload);
        }

        return path;
    }

    public string NewStorePath() => Path.Combine(_root.FullName, "devices", $"{Guid.NewGuid():N}.mks");

    /// <summary>An organisation with an enrolled, connected admin device.</summary>
    public async Task<(Guid OrganisationId, MessagingClient Admin)> CreateOrganisationAsync(string name)
    {
        var token = await Operator.GetAccessTokenAsync();
        var organisation = await Operator.Api.CreateOrganisationAsync(token, new CreateOrganisationRequest(name, OrganisationTypes.PreventionService));
        var admin = await Operator.Api.CreateMemberAsync(token, new CreateMemberRequest(organisation.OrganisationId, $"Admin {name}", Roles.OrganisationAdmin, $"admin@{Guid.NewGuid():N}.example"));
        return (organisation.OrganisationId, await EnrolDeviceAsync(Operator, admin.MemberId));
    }

    public async Task<Guid> CreateMemberAsync(MessagingClient admin, string name, string role = Roles.Worker)
    {
        var member = await admin.Api.CreateMemberAsync(await admin.GetAccessTokenAsync(), new CreateMemberRequest(admin.OrganisationId, name, role, $"{Guid.NewGuid():N}@service.example"));
        return member.MemberId;
    }

    public async Task<string> IssueCodeAsync(MessagingClient issuer, Guid memberId)
        => (await issuer.Api.IssueEnrolmentCodeAsync(await issuer.GetAccessTokenAsync(), memberId)).Code;

    /// <summary>
    /// Enrols one more device for <paramref name="memberId"/> (a code issued by <paramref name="issuer"/>) and connects it.
    /// When the member already has an approved device in this process, that device approves the new one (as its user
    /// would after comparing the code) unless <paramref name="approve"/> is false.
    /// </summary>
    public async Task<MessagingClient> EnrolDeviceAsync(MessagingClient issuer, Guid memberId, bool connect = true, MessagingClientOptions? options = null, bool approve = true)
    {
        var client = await EnrolWithCodeAsync(await IssueCodeAsync(issuer, memberId), connect, options);
        if (approve && !client.IsApproved && _clients.Find(c => c != client && c.MemberId == memberId && c.IsApproved) is { } existing)
        {
            await ApproveAsync(existing, client);
        }

        return client;
    }

    /// <summary><paramref name="existing"/> approves <paramref name="device"/> by the code it shows; the new device takes
    /// the member key if it is connected (otherwise when it connects).</summary>
    public static async Task ApproveAsync(MessagingClient existing, MessagingClient device)
    {
        Assert.Equal(device.DeviceId, await existing.ApproveDeviceAsync(device.ApprovalCode));
        if (device.IsConnected)
        {
            Assert.True(await device.RefreshApprovalAsync());
        }
    }

    public async Task<MessagingClient> EnrolWithCodeAsync(string code, bool connect = true, MessagingClientOptions? options = null)
    {
        using var passphrase = new Passphrase(Passphrase);
        var path = NewStorePath();
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var client = await MessagingClient.EnrolAsync(Server.Url, code, path, passphrase, options ?? ClientOptions);
        _clients.Add(client);
        _storePaths[client.DeviceId] = path;
        if (connect)
        {
            await client.ConnectAsync();
        }

        return client;
    }

    /// <summary>Opens a released device again; with <paramref name="connect"/> false the caller connects it (after
    /// subscribing to what its catch-up raises).</summary>
    public async Task<MessagingClient> OpenAsync(string storePath, bool connect = true)
    {
        using var passphrase = new Passphrase(Passphrase);
        var client = await MessagingClient.OpenAsync(storePath, passphrase, ClientOptions);
        _clients.Add(client);
        if (connect)
        {
            await client.ConnectAsync();
        }

        return client;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            await client.DisposeAsync();
        }

        await Server.DisposeAsync();
        if (PostgresDatabase is not null)
        {
            await TestPostgres.DropDatabaseAsync(PostgresDatabase);
        }

        try
        {
            _root.Delete(recursive: true);
        }
        catch (IOException)
        {
            // A process still holding a file: the temp folder is cleaned by the OS.
        }
    }
}
