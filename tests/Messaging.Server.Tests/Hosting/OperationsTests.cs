using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using Messaging.Contracts;
using Messaging.Contracts.Referrals;
using Messaging.Server.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace Messaging.Server.Tests;

/// <summary>Issue 11, item 7: what an operator and an outside probe see — logs, error codes for unreadable input, file
/// modes, readiness, host commands, configuration, names.</summary>
public sealed class OperationsTests
{
    private static bool IsAboveInformation(string line)
        => line.StartsWith("Warning", StringComparison.Ordinal) || line.StartsWith("Error", StringComparison.Ordinal) || line.StartsWith("Critical", StringComparison.Ordinal);

    [Fact]
    public async Task ARefusal_IsLoggedOnce_AtInformation_WithoutAStackTrace()
    {
        await using var app = new MessagingApp();
        var a = await app.CreateOrganisationAsync();
        await using var worker = await app.ConnectWorkerAsync(a);
        var before = app.Logs.Lines.Count;

        await Refusal.AssertHubAsync(ErrorCodes.Malformed, () => MessagingApp.OpenReferralAsync(worker, a.Id, "JEAN-DUPONT-2004"));
        await Refusal.AssertHubAsync(ErrorCodes.ReferralNotFound, () => MessagingApp.WithdrawReferralAsync(worker, CaseReference.New()));

        var lines = app.Logs.Lines.Skip(before).ToList();
        Assert.DoesNotContain(lines, IsAboveInformation);
        Assert.DoesNotContain(lines, l => l.Contains("   at ", StringComparison.Ordinal));
        Assert.Single(lines, l => l.StartsWith("Information", StringComparison.Ordinal) && l.Contains(ErrorCodes.Malformed, StringComparison.Ordinal));
        Assert.Single(lines, l => l.StartsWith("Information", StringComparison.Ordinal) && l.Contains(ErrorCodes.ReferralNotFound, StringComparison.Ordinal));
    }

    public static TheoryData<string, string> UnreadableArguments() => new()
    {
        { nameof(IMessagingHub.GetConversationDevices), """[{"conversationId":"not-a-guid"}]""" },
        { nameof(IMessagingHub.SendEnvelope), $$"""[{"envelopeId":"{{Guid.NewGuid()}}","conversationId":"{{Guid.NewGuid()}}","kind":1,"recipients":[{"deviceId":"{{Guid.NewGuid()}}","ciphertext":"@@not base64@@"}]}]""" },
        { nameof(IMessagingHub.FetchPending), """[{"afterSequence":"zero","limit":10}]""" },
        { nameof(IMessagingHub.FetchPending), """[42]""" },
        { nameof(IMessagingHub.FetchPending), """[{"afterSequence":0,"limit":10},{"afterSequence":0,"limit":10}]""" },
        { nameof(IMessagingHub.FetchPending), """[]""" },
        { nameof(IMessagingHub.FetchPending), """[null]""" },
        { "NoSuchMethod", """[{}]""" },
        { nameof(IMessagingHub.OpenReferral), $$"""[{"caseReference":"{{CaseReference.New()}}","receivingOrganisationId":"{{Guid.NewGuid()}}","personName":"Jean"}]""" },
        { nameof(IMessagingHub.RecordConsent), $$"""[{"caseReference":"{{CaseReference.New()}}","receivingOrganisationId":"{{Guid.NewGuid()}}","validUntil":"2040-01-01T00:00:00Z","scope":"all"}]""" },
        { nameof(IMessagingHub.SendEnvelope), $$"""[{"envelopeId":"{{Guid.NewGuid()}}","conversationId":"{{Guid.NewGuid()}}","kind":1,"recipients":[],"subject":"hello"}]""" },
    };

    [Theory]
    [MemberData(nameof(UnreadableArguments))]
    public async Task AnArgumentTheServerCannotRead_IsRefusedAsMalformed_AndTheConnectionGoesOn(string method, string arguments)
    {
        await using var app = new MessagingApp();
        var a = await app.CreateOrganisationAsync();
        var worker = await app.EnrolDeviceAsync(await app.CreateMemberAsync(a));
        await using var raw = await RawHubConnection.ConnectAsync(app, worker);
        var rows = await RowCountsAsync(app);

        var outcome = await raw.InvokeAsync(method, arguments);

        Assert.False(outcome.Success);
        Assert.False(outcome.ConnectionClosed, outcome.Error);
        Assert.Equal(ErrorCodes.Malformed, outcome.Code);
        Assert.True((await raw.InvokeAsync(nameof(IMessagingHub.WhoAmI), "[]")).Success);
        Assert.Equal(rows, await RowCountsAsync(app));
        Assert.DoesNotContain(app.Logs.Lines, IsAboveInformation);
    }

    [Fact]
    public async Task ATruncatedFrame_IsAnsweredAsMalformed_AndAFrameNamingNoInvocationClosesWithTheCode()
    {
        await using var app = new MessagingApp();
        var a = await app.CreateOrganisationAsync();
        var worker = await app.EnrolDeviceAsync(await app.CreateMemberAsync(a));
        await using var raw = await RawHubConnection.ConnectAsync(app, worker);

        var id = raw.NextInvocationId();
        await raw.SendFrameAsync($$"""{"type":1,"invocationId":"{{id}}","target":"OpenReferral","arguments":[{"caseReference":"AB""");
        var truncated = await raw.CompletionAsync(id);
        Assert.Equal((false, ErrorCodes.Malformed), (truncated.ConnectionClosed, truncated.Code));
        Assert.True((await raw.InvokeAsync(nameof(IMessagingHub.WhoAmI), "[]")).Success);

        await raw.SendFrameAsync("not json at all");
        var closed = await raw.CompletionAsync("never");
        Assert.True(closed.ConnectionClosed);
        Assert.Equal(ErrorCodes.Malformed, closed.Code);
        Assert.Equal(0, await app.CountAsync("referrals"));
        Assert.DoesNotContain(app.Logs.Lines, IsAboveInformation);
    }

    [Fact]
    public async Task AnHttpBodyTheServerCannotRead_IsAnsweredWithTheMalformedCode()
    {
        await using var app = new MessagingApp();
        var http = await app.ClientAsync(await app.OperatorAsync());
        var before = await app.CountAsync("organisations");
        foreach (var body in new[] { """{"name":"Service""", """{"name":"Service","type":"prevention-service","motto":"x"}""", """{"name":5,"type":"prevention-service"}""", "[]" })
        {
            using var content = new StringContent(body, Encoding.UTF8, "application/json");
            await Refusal.AssertHttpAsync(ErrorCodes.Malformed, 400, await http.PostAsync(new Uri(ApiRoutes.Organisations, UriKind.Relative), content));
        }

        Assert.Equal(before, await app.CountAsync("organisations"));
        Assert.DoesNotContain(app.Logs.Lines, IsAboveInformation);
    }

    [Fact]
    public async Task TheDatabaseFiles_AreReadableByTheServerAlone()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        await using var app = new MessagingApp();
        var a = await app.CreateOrganisationAsync();
        await using var worker = await app.ConnectWorkerAsync(a);
        await MessagingApp.OpenReferralAsync(worker, (await app.CreateOrganisationAsync()).Id);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(app.DatabasePath)!));
        foreach (var file in new[] { app.DatabasePath, app.DatabasePath + "-wal", app.DatabasePath + "-shm" })
        {
            Assert.True(File.Exists(file), file);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        }
    }

    [Fact]
    public async Task Readiness_FailsWhileAnotherProcessHoldsTheWriteLock_AndRecoversAfter()
    {
        // Every request probes here: by default an answer is given again for a second.
        await using var app = new MessagingApp(new Dictionary<string, string?> { ["Messaging:Health:AnswerReuse"] = "00:00:00" });
        var http = app.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/health/ready", UriKind.Relative))).StatusCode);

        await using (var holder = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = app.DatabasePath, Pooling = false }.ToString()))
        {
            await holder.OpenAsync();
            await using var begin = holder.CreateCommand();
            begin.CommandText = "BEGIN EXCLUSIVE;";
            await begin.ExecuteNonQueryAsync();
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync(new Uri("/health/ready", UriKind.Relative))).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/health/live", UriKind.Relative))).StatusCode);
            await using var rollback = holder.CreateCommand();
            rollback.CommandText = "ROLLBACK;";
            await rollback.ExecuteNonQueryAsync();
        }

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/health/ready", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task Readiness_FailsOnACorruptedCopyOfTheDatabase()
    {
        var directory = NewWorkingDirectory();
        var copy = Path.Combine(directory, "messaging.db");
        await using (var original = new MessagingApp())
        {
            Assert.Equal(HttpStatusCode.OK, (await original.CreateClient().GetAsync(new Uri("/health/ready", UriKind.Relative))).StatusCode);
            await original.ExecuteSqlAsync("PRAGMA wal_checkpoint(TRUNCATE);");
            File.Copy(original.DatabasePath, copy);
        }

        long rootPage;
        long pageSize;
        await using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = copy, Pooling = false }.ToString()))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT rootpage FROM sqlite_schema WHERE name = 'consents';";
            rootPage = (long)(await command.ExecuteScalarAsync())!;
            command.CommandText = "PRAGMA page_size;";
            pageSize = (long)(await command.ExecuteScalarAsync())!;
        }

        SqliteConnection.ClearAllPools();
        await using (var file = new FileStream(copy, FileMode.Open, FileAccess.Write))
        {
            file.Position = (rootPage - 1) * pageSize;
            var garbage = new byte[pageSize];
            new Random(11).NextBytes(garbage);
            await file.WriteAsync(garbage);
        }

        await using var app = new MessagingApp(new Dictionary<string, string?> { ["Messaging:Storage:DataDirectory"] = directory });
        var http = app.CreateClient();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync(new Uri("/health/ready", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/health/live", UriKind.Relative))).StatusCode);
        await app.DisposeAsync();
        SqliteConnection.ClearAllPools();
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task VerifyAudit_OnAMalformedDatabase_ExitsOneWithAMessage()
    {
        var directory = NewWorkingDirectory();
        var garbage = new byte[16 * 1024];
        new Random(7).NextBytes(garbage);
        await File.WriteAllBytesAsync(Path.Combine(directory, "messaging.db"), garbage);

        var (exitCode, output) = await RunServerAsync(directory, "verify-audit", "--Messaging:Storage:DataDirectory", directory);

        Assert.Equal(1, exitCode);
        Assert.Contains("error: the database could not be read", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", output, StringComparison.Ordinal);
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task TheServer_StartedFromAnotherDirectory_ReadsItsOwnSettings()
    {
        var directory = NewWorkingDirectory();
        var start = StartServer(directory, "--urls", "http://127.0.0.1:0", "--Messaging:Storage:DataDirectory", Path.Combine(directory, "data"));
        using var process = start.Process;
        try
        {
            var address = await start.Address.WaitAsync(TimeSpan.FromSeconds(60));
            using var http = new HttpClient();
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(address, "/health/ready"))).StatusCode);
            await http.GetAsync(new Uri(address, "/health/live"));
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        // appsettings.json keeps Microsoft.AspNetCore at Warning: no request-level lines (the ones that would carry a
        // WebSocket client's access_token) reach the log.
        var output = start.Output.ToString();
        Assert.Contains("Now listening on", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Microsoft.AspNetCore.Routing", output, StringComparison.Ordinal);
        // Production without SMTP settings: interview and notice emails would go to a pickup folder, and the start says so.
        Assert.Contains("Messaging:Interviews:Smtp is not set", output, StringComparison.Ordinal);
        Assert.Contains("Messaging:Notices:Smtp is not set", output, StringComparison.Ordinal);
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task AHostCommand_PrintsItsOutputAlone_EvenWhenTheSettingsLogAtInformation()
    {
        var directory = NewWorkingDirectory();

        // A fresh data folder: the migrations run (and log "Applied database migration …" at Information, the level
        // appsettings.json sets) before the enrolment code is printed on the same stdout.
        var (exitCode, output) = await RunServerAsync(directory, "bootstrap", "--organisation", "Platform", "--operator", "Operator",
            "--email", "operator@example.org", "--Messaging:Storage:DataDirectory", Path.Combine(directory, "data"));

        Assert.True(exitCode == 0, output);
        Assert.Contains("enrolment code ", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Applied database migration", output, StringComparison.Ordinal);
        Assert.DoesNotContain("info:", output, StringComparison.Ordinal);
        Directory.Delete(directory, recursive: true);
    }

    public static TheoryData<string> InvisibleNames() =>
    [
        "Service\u202Eeciv", "Ser\u200Bvice", "\uFEFFService", "Ser\u200Dvice", "Service \u2066A\u2069", "Service\u200E", "Service\u061C",
        "Ser\u00ADvice", "Service\u2060", "Service\U000E0041", "Ser\u2028vice", "Service\uE000", "Service\uD800",
    ];

    [Theory]
    [MemberData(nameof(InvisibleNames))]
    public async Task NamesWithInvisibleOrDirectionChangingCharacters_AreRefused(string name)
    {
        await using var app = new MessagingApp();
        var organisation = await app.CreateOrganisationAsync();
        var http = await app.ClientAsync(await app.OperatorAsync());
        var before = await RowCountsAsync(app);

        await Refusal.AssertHttpAsync(ErrorCodes.Malformed, 400, await http.PostAsJsonAsync(ApiRoutes.Organisations, new CreateOrganisationRequest(name, OrganisationTypes.PreventionService)));
        await Refusal.AssertHttpAsync(ErrorCodes.Malformed, 400, await http.PostAsJsonAsync(ApiRoutes.Members,
            new CreateMemberRequest(organisation.Id, name, Roles.Worker, "someone@service.example")));
        await Refusal.AssertHttpAsync(ErrorCodes.Malformed, 400, await http.PostAsJsonAsync(ApiRoutes.Members,
            new CreateMemberRequest(organisation.Id, "Someone", Roles.Worker, name.Replace(' ', '-') + "@service.example")));
        await Refusal.AssertHttpAsync(ErrorCodes.Malformed, 400, await http.PostAsJsonAsync(ApiRoutes.JoinRequests,
            new FileJoinRequest(name, OrganisationTypes.PreventionService, ServiceLevels.Community)));
        Assert.Equal(before, await RowCountsAsync(app));
    }

    [Fact]
    public async Task OrdinaryNames_InAnyScript_AreAccepted()
    {
        await using var app = new MessagingApp();
        var http = await app.ClientAsync(await app.OperatorAsync());
        foreach (var name in new[] { "Maison de justice de Liège", "Service d'aide à la jeunesse", "مركز الوقاية", "Ōsaka-Ünal Çelik" })
        {
            (await http.PostAsJsonAsync(ApiRoutes.Organisations, new CreateOrganisationRequest(name, OrganisationTypes.PreventionService))).EnsureSuccessStatusCode();
        }
    }

    internal static async Task<long[]> RowCountsAsync(MessagingApp app)
    {
        var tables = new[] { "organisations", "members", "devices", "conversations", "envelopes", "referrals", "consents", "partner_join_requests", "audit_log" };
        var counts = new long[tables.Length];
        for (var i = 0; i < tables.Length; i++)
        {
            counts[i] = await app.CountAsync(tables[i]);
        }

        return counts;
    }

    /// <summary>A new empty folder for a server process to start in.</summary>
    private static string NewWorkingDirectory()
        => Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "messaging-server-tests", Guid.NewGuid().ToString("N"))).FullName;

    private static string ServerAssembly => Path.Combine(AppContext.BaseDirectory, "Messaging.Server.dll");

    private static async Task<(int ExitCode, string Output)> RunServerAsync(string workingDirectory, params string[] args)
    {
        var start = StartServer(workingDirectory, args);
        using var process = start.Process;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(cts.Token);
        return (process.ExitCode, start.Output.ToString());
    }

    private static (Process Process, StringBuilder Output, Task<Uri> Address) StartServer(string workingDirectory, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(ServerAssembly);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        info.Environment.Remove("ASPNETCORE_URLS");
        var output = new StringBuilder();
        var address = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = new Process { StartInfo = info };
        void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (output)
            {
                output.AppendLine(line);
            }

            var at = line.IndexOf("Now listening on: ", StringComparison.Ordinal);
            if (at >= 0)
            {
                address.TrySetResult(new Uri(line[(at + "Now listening on: ".Length)..].Trim()));
            }
        }

        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return (process, output, address.Task);
    }
}
