using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CsCheck;
using Messaging.Contracts;
using Messaging.Contracts.Referrals;
using Messaging.Server.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace Messaging.Server.Tests.Fuzzing;

/// <summary>
/// One generated call: which surface and method, how the request is filled from the world's real ids or at random,
/// and how it is then mangled. Abstract on purpose — indices and numbers, materialised against the live server state
/// when the call runs — so CsCheck can generate and shrink it.
/// </summary>
public sealed record FuzzCall(int Target, int Mutation, int[] Picks, long Number, string Text, byte[] Bytes)
{
    public override string ToString()
        => $"target {Target}, mutation {Mutation}, picks [{string.Join(',', Picks)}], number {Number}, text {JsonSerializer.Serialize(Text)}, {Bytes.Length} bytes";
}

/// <summary>
/// Random and mutated hub calls and HTTP bodies against the real server (in process, a real SignalR connection over
/// WebSockets, a real SQLite file). For every call: it succeeds, or it is refused with a stable code from
/// <see cref="ErrorCodes"/>; the connection stays open unless the frame broke the protocol (then it is closed with
/// <c>request.malformed</c>); a refused call inserts or deletes no row of any table; and the server logs nothing above Warning.
/// </summary>
public sealed class HubFuzzer : IAsyncDisposable
{
    private static readonly string[] Tables =
        ["organisations", "members", "devices", "one_time_prekeys", "conversations", "conversation_members", "envelopes", "envelope_recipients",
         "referrals", "consents", "partner_join_requests", "partner_objections", "enrolment_codes", "key_log", "audit_log"];

    private static readonly HashSet<string> KnownCodes = [.. typeof(ErrorCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f is { IsLiteral: true, FieldType: var t } && t == typeof(string)).Select(f => (string)f.GetRawConstantValue()!)];

    private static readonly string[] HubMethods =
    [
        nameof(IMessagingHub.WhoAmI), nameof(IMessagingHub.SendEnvelope), nameof(IMessagingHub.AcknowledgeEnvelopes), nameof(IMessagingHub.FetchPending),
        nameof(IMessagingHub.ListConversations), nameof(IMessagingHub.CreateConversation), nameof(IMessagingHub.AddConversationMember),
        nameof(IMessagingHub.RemoveConversationMember), nameof(IMessagingHub.GetConversationDevices), nameof(IMessagingHub.GetPreKeyBundles),
        nameof(IMessagingHub.UploadOneTimePreKeys), nameof(IMessagingHub.RotateSignedPreKey), nameof(IMessagingHub.GetKeyLog),
        nameof(IMessagingHub.ListOrganisations), nameof(IMessagingHub.ListMembers), nameof(IMessagingHub.Orient), nameof(IMessagingHub.ListJoinRequests),
        nameof(IMessagingHub.ObjectToJoinRequest), nameof(IMessagingHub.OpenReferral), nameof(IMessagingHub.RespondToReferral),
        nameof(IMessagingHub.WithdrawReferral), nameof(IMessagingHub.ListReferrals), nameof(IMessagingHub.RecordConsent),
        nameof(IMessagingHub.RevokeConsent), nameof(IMessagingHub.ListConsents),
    ];

    private static readonly string[] HttpRoutes =
        [ApiRoutes.Organisations, ApiRoutes.Members, ApiRoutes.JoinRequests, ApiRoutes.Enrolment, ApiRoutes.AuthChallenge, ApiRoutes.AuthToken, ApiRoutes.DirectoryCommunesAdmin,
         TrustRoutes.MemberKey, TrustRoutes.Approvals];

    /// <summary>Hub calls, HTTP bodies, broken frames: each call's target picks one (about a tenth HTTP).</summary>
    public static readonly Gen<FuzzCall> Calls = Gen.Select(
        Gen.Int[0, 99], Gen.Int[0, 15], Gen.Int[0, 1_000_000].Array[8], Gen.Long,
        Gen.OneOf(Gen.String, Gen.Const(string.Empty), Gen.Const("\u202Eevil\u200B"), Gen.Const(CaseReference.New()), Gen.Const("AAAAAAAAAAAAAAAAAAAAAAAAAA")),
        Gen.Byte.Array[0, 80],
        (target, mutation, picks, number, text, bytes) => new FuzzCall(target, mutation, picks, number, text, bytes));

    private readonly MessagingApp _app;
    private readonly Dictionary<string, ConnectedDevice> _typed = new(StringComparer.Ordinal);
    private readonly List<Guid> _organisations = [];
    private readonly List<Guid> _members = [];
    private readonly List<Guid> _devices = [];
    private readonly List<Guid> _conversations = [];
    private readonly List<string> _cases = [];
    private readonly List<Guid> _consents = [];
    private SqliteConnection _counts = null!;
    private TestDevice[] _callers = [];
    private RawHubConnection?[] _raw = [];
    private HttpClient _operatorHttp = null!;

    /// <summary>How often a long run appends a progress line to the file named by <c>MESSAGING_FUZZ_PROGRESS</c>.</summary>
    private const long ProgressEvery = 10_000;

    private readonly string? _progressFile = Environment.GetEnvironmentVariable("MESSAGING_FUZZ_PROGRESS");

    private HubFuzzer(MessagingApp app) => _app = app;

    public long Calls_ { get; private set; }

    public long Refused { get; private set; }

    public long Succeeded { get; private set; }

    public long Closed { get; private set; }

    public long HttpCalls { get; private set; }

    /// <summary>A server with three services, workers in two of them, a conversation, referrals and a consent.</summary>
    public static async Task<HubFuzzer> StartAsync()
    {
        var app = new MessagingApp(new Dictionary<string, string?>
        {
            ["Messaging:RateLimits:ConversationChangesPerWindow"] = "1000000",
            ["Messaging:RateLimits:SendsPerWindow"] = "1000000",
            ["Messaging:RateLimits:PreKeyBundleFetchesPerWindow"] = "1000000",
            ["Messaging:RateLimits:PreKeyUploadsPerWindow"] = "1000000",
            ["Messaging:RateLimits:AuthenticationAttemptsPerWindow"] = "1000000",
            // Only what the fuzzer asserts on reaches the in-memory sink (a million refusals at Information would not fit).
            ["Logging:LogLevel:Default"] = "Warning",
        });
        var fuzzer = new HubFuzzer(app);
        await fuzzer.SetUpAsync();
        return fuzzer;
    }

    private async Task SetUpAsync()
    {
        var a = await _app.CreateOrganisationAsync();
        var b = await _app.CreateOrganisationAsync();
        var c = await _app.CreateOrganisationAsync(OrganisationTypes.JusticeHouse);
        _organisations.AddRange([a.Id, b.Id, c.Id, Guid.Empty]);
        var workerA = await _app.EnrolDeviceAsync(await _app.CreateMemberAsync(a));
        var workerB = await _app.EnrolDeviceAsync(await _app.CreateMemberAsync(b));
        var assistant = await _app.EnrolDeviceAsync(await _app.CreateMemberAsync(c, Roles.JusticeAssistant));
        _callers = [workerA, workerB, assistant, a.Admin];
        _raw = new RawHubConnection?[_callers.Length];
        foreach (var device in _callers)
        {
            _members.Add(device.Member.Id);
            _devices.Add(device.Id);
        }

        var connectedA = await _app.ConnectAsync(workerA);
        var connectedB = await _app.ConnectAsync(workerB);
        _typed["a"] = connectedA;
        _typed["b"] = connectedB;
        _conversations.Add((await MessagingApp.CreateConversationAsync(connectedA, false, workerB.Member)).ConversationId);
        _conversations.Add((await MessagingApp.CreateConversationAsync(connectedA, true, workerB.Member)).ConversationId);
        for (var i = 0; i < 3; i++)
        {
            _cases.Add((await MessagingApp.OpenReferralAsync(connectedA, b.Id)).CaseReference);
        }

        await MessagingApp.RespondAsync(connectedB, _cases[0], ReferralResponse.Accept);
        _consents.Add((await MessagingApp.RecordConsentAsync(connectedA, _cases[0], b.Id, _app.Clock.GetUtcNow().AddDays(30))).ConsentId);
        _operatorHttp = await _app.ClientAsync(await _app.OperatorAsync());
        await InstallRowChangeCountersAsync();
        _counts = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = _app.DatabasePath, Mode = SqliteOpenMode.ReadOnly }.ToString());
        await _counts.OpenAsync();
    }

    /// <summary>
    /// Every insert and delete on the watched tables bumps that table's counter (triggers in the database under test,
    /// so the server's own writes count, inside their transactions). Reading 15 counters costs the same at the millionth
    /// call as at the first; COUNT(*) over the growing tables made a long run ten times slower after 400,000 calls.
    /// </summary>
    private async Task InstallRowChangeCountersAsync()
    {
        await using var setup = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = _app.DatabasePath }.ToString());
        await setup.OpenAsync();
        await using var command = setup.CreateCommand();
        command.CommandText = "CREATE TABLE fuzz_row_changes (tbl TEXT PRIMARY KEY, n INTEGER NOT NULL);" + string.Concat(Tables.Select(t => $"""
            INSERT INTO fuzz_row_changes VALUES ('{t}', 0);
            CREATE TRIGGER fuzz_{t}_insert AFTER INSERT ON {t} BEGIN UPDATE fuzz_row_changes SET n = n + 1 WHERE tbl = '{t}'; END;
            CREATE TRIGGER fuzz_{t}_delete AFTER DELETE ON {t} BEGIN UPDATE fuzz_row_changes SET n = n + 1 WHERE tbl = '{t}'; END;
            """));
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Runs <paramref name="calls"/> generated calls, one at a time; throws on the first broken invariant
    /// (CsCheck then reports the seed that reproduces it).</summary>
    public async Task RunAsync(long calls, string? seed)
    {
        await Calls.SampleAsync(RunOneAsync, seed: seed, iter: calls, threads: 1, print: c => c.ToString());

        // The counters must have moved with the calls that succeeded, or the check of the refused ones proved nothing.
        if (Succeeded > 0 && (await CountRowsAsync()).Sum() == 0)
        {
            throw new InvalidOperationException("The row-change counters did not move although calls succeeded: the triggers are not counting.");
        }
    }

    private async Task RunOneAsync(FuzzCall call)
    {
        Calls_++;
        if (Calls_ % ProgressEvery == 0 && _progressFile is not null)
        {
            await File.AppendAllTextAsync(_progressFile, string.Create(CultureInfo.InvariantCulture,
                $"{TimeProvider.System.GetUtcNow():O} {Calls_} calls: {Succeeded} succeeded, {Refused} refused, {Closed} closed{Environment.NewLine}"));
        }

        var before = await CountRowsAsync();
        var aboveWarning = _app.Logs.AboveWarningCount;
        var refused = call.Target < 10 ? await HttpCallAsync(call) : await HubCallAsync(call);
        if (refused)
        {
            Refused++;
            var after = await CountRowsAsync();
            if (!before.SequenceEqual(after))
            {
                throw new FuzzFailureException($"A refused call inserted or deleted rows: {Describe(before, after)}", call);
            }
        }
        else
        {
            Succeeded++;
        }

        if (_app.Logs.AboveWarningCount != aboveWarning)
        {
            throw new FuzzFailureException("The server logged above Warning: " + _app.Logs.AboveWarning.Skip(aboveWarning).First(), call);
        }
    }

    // ---- Hub ------------------------------------------------------------------------------------------------------

    private async Task<bool> HubCallAsync(FuzzCall call)
    {
        var callerIndex = call.Picks[7] % _callers.Length;
        var raw = _raw[callerIndex] ??= await ConnectRawAsync(_callers[callerIndex]);
        var method = call.Mutation == 12 ? "No" + call.Text.Replace("\"", string.Empty, StringComparison.Ordinal) : HubMethods[call.Target % HubMethods.Length];
        var arguments = Arguments(method, call);
        Mutate(arguments, call);
        var argumentsJson = call.Mutation switch
        {
            7 when call.Number % 2 == 0 => "[]",
            7 => $"[{arguments.ToJsonString()},{arguments.ToJsonString()}]",
            _ => arguments.ToJsonString(),
        };

        HubOutcome outcome;
        var expectClose = false;
        if (call.Mutation == 8)
        {
            // A truncated body after the invocation id: answered as malformed, the connection goes on.
            var id = raw.NextInvocationId();
            var frame = $$"""{"type":1,"invocationId":"{{id}}","target":{{JsonSerializer.Serialize(method)}},"arguments":{{argumentsJson}}}""";
            var keep = frame.IndexOf("\"target\"", StringComparison.Ordinal) + Index(call.Number, Math.Max(1, frame.Length - 40));
            await raw.SendFrameAsync(frame[..Math.Min(keep, frame.Length - 1)]);
            outcome = await raw.CompletionAsync(id);
        }
        else if (call.Mutation == 9)
        {
            // Not JSON, no invocation to answer: the protocol closes the connection, with the code.
            expectClose = true;
            await raw.SendFrameAsync("x" + new string([.. call.Text.Where(ch => ch is not ('\u001e' or '{'))]));
            outcome = await raw.CompletionAsync("none");
        }
        else
        {
            outcome = await raw.InvokeAsync(method, argumentsJson);
        }

        if (outcome.ConnectionClosed)
        {
            Closed++;
            _raw[callerIndex] = null;
            await raw.DisposeAsync();
            if (!expectClose)
            {
                throw new FuzzFailureException($"The connection closed on {method}: {outcome.Error}", call);
            }

            if (outcome.Code != ErrorCodes.Malformed)
            {
                throw new FuzzFailureException($"The connection closed without the malformed code: {outcome.Error}", call);
            }

            return true;
        }

        if (expectClose)
        {
            throw new FuzzFailureException("A frame that names no invocation did not close the connection.", call);
        }

        if (outcome.Success)
        {
            Remember(method, outcome.ResultJson);
            return false;
        }

        if (outcome.Code is not { } code || !KnownCodes.Contains(code))
        {
            throw new FuzzFailureException($"{method} failed without a known code: {outcome.Error}", call);
        }

        return true;
    }

    private async Task<RawHubConnection> ConnectRawAsync(TestDevice device)
    {
        device.Token = null;
        return await RawHubConnection.ConnectAsync(_app, device);
    }

    /// <summary>A well-shaped request for <paramref name="method"/>, filled from real ids or random values.</summary>
    private JsonArray Arguments(string method, FuzzCall call)
    {
        var p = call.Picks;
        Guid Pick(List<Guid> pool, int i) => p[i] % 5 == 0 ? Guid.NewGuid() : pool[p[i] % pool.Count];
        string Case(int i) => p[i] % 5 == 0 ? call.Text : _cases[p[i] % _cases.Count];
        string Cipher() => Convert.ToBase64String([CiphertextFormat.Version1, .. call.Bytes]);
        JsonObject request = method switch
        {
            nameof(IMessagingHub.SendEnvelope) => new JsonObject
            {
                ["envelopeId"] = Guid.NewGuid(),
                ["conversationId"] = Pick(_conversations, 0),
                ["kind"] = 1 + (p[1] % 9),
                ["recipients"] = new JsonArray([.. _devices.Where((_, i) => (p[2] >> i) % 2 == 0).Select(d => (JsonNode)new JsonObject { ["deviceId"] = d, ["ciphertext"] = Cipher() })]),
                ["caseReference"] = p[3] % 2 == 0 ? Case(4) : null,
                ["consentId"] = p[5] % 2 == 0 ? Pick(_consents, 6) : null,
                ["acknowledge"] = p[6] % 3 == 0 ? new JsonArray(call.Number, p[1]) : null,
            },
            nameof(IMessagingHub.AcknowledgeEnvelopes) => new JsonObject { ["sequences"] = new JsonArray([.. p.Take(1 + (p[0] % 8)).Select(n => (JsonNode)n)]) },
            nameof(IMessagingHub.FetchPending) => new JsonObject { ["afterSequence"] = call.Number % 1000, ["limit"] = (p[0] % 700) - 100 },
            nameof(IMessagingHub.CreateConversation) => new JsonObject
            {
                ["memberIds"] = new JsonArray([.. _members.Where((_, i) => (p[1] >> i) % 2 == 0).Select(m => (JsonNode)m.ToString())]),
                ["collective"] = p[2] % 2 == 0,
            },
            nameof(IMessagingHub.AddConversationMember) or nameof(IMessagingHub.RemoveConversationMember)
                => new JsonObject { ["conversationId"] = Pick(_conversations, 0), ["memberId"] = Pick(_members, 1) },
            nameof(IMessagingHub.GetConversationDevices) => new JsonObject { ["conversationId"] = Pick(_conversations, 0) },
            nameof(IMessagingHub.GetPreKeyBundles) => new JsonObject { ["memberId"] = Pick(_members, 0) },
            nameof(IMessagingHub.UploadOneTimePreKeys) => new JsonObject
            {
                ["preKeys"] = new JsonArray([.. Enumerable.Range(0, p[0] % 4).Select(i => (JsonNode)new JsonObject
                {
                    ["id"] = (uint)(p[i + 1] + 1000),
                    ["publicKey"] = Convert.ToBase64String([.. call.Bytes.Take(32)]),
                })]),
            },
            nameof(IMessagingHub.RotateSignedPreKey) => new JsonObject
            {
                ["signedPreKey"] = new JsonObject { ["id"] = (uint)p[0], ["publicKey"] = Convert.ToBase64String([.. call.Bytes.Take(32)]), ["signature"] = Convert.ToBase64String([.. call.Bytes.Skip(16)]) },
            },
            nameof(IMessagingHub.GetKeyLog) => new JsonObject { ["fromIndex"] = call.Number % 100, ["limit"] = (p[0] % 1200) - 100 },
            nameof(IMessagingHub.ListMembers) => new JsonObject { ["organisationId"] = p[0] % 3 == 0 ? null : Pick(_organisations, 1) },
            nameof(IMessagingHub.Orient) => new JsonObject { ["nisCode"] = p[0] % 2 == 0 ? call.Text : (21000 + (p[1] % 2000)).ToString(CultureInfo.InvariantCulture) },
            nameof(IMessagingHub.ObjectToJoinRequest) => new JsonObject { ["joinRequestId"] = Guid.NewGuid(), ["reasonCode"] = p[0] % 2 == 0 ? call.Text : ObjectionReasons.Other },
            nameof(IMessagingHub.OpenReferral) => new JsonObject
            {
                ["caseReference"] = p[0] % 3 == 0 ? CaseReference.New() : Case(1),
                ["receivingOrganisationId"] = Pick(_organisations, 2),
            },
            nameof(IMessagingHub.RespondToReferral) => new JsonObject
            {
                ["caseReference"] = Case(0),
                ["response"] = p[1] % 5,
                ["declineReason"] = p[2] % 3 == 0 ? null : p[3] % 8,
            },
            nameof(IMessagingHub.WithdrawReferral) or nameof(IMessagingHub.ListConsents) => new JsonObject { ["caseReference"] = Case(0) },
            nameof(IMessagingHub.RecordConsent) => new JsonObject
            {
                ["caseReference"] = Case(0),
                ["receivingOrganisationId"] = Pick(_organisations, 1),
                ["validUntil"] = _app.Clock.GetUtcNow().AddHours((p[2] % 10_000) - 100),
            },
            nameof(IMessagingHub.RevokeConsent) => new JsonObject { ["consentId"] = Pick(_consents, 0) },
            _ => new JsonObject(),
        };

        return method is nameof(IMessagingHub.WhoAmI) or nameof(IMessagingHub.ListConversations) or nameof(IMessagingHub.ListOrganisations)
            or nameof(IMessagingHub.ListJoinRequests) or nameof(IMessagingHub.ListReferrals) && call.Mutation != 7
            ? []
            : [request];
    }

    /// <summary>Mangles one field of the request (or the whole argument) according to the call's mutation.</summary>
    private static void Mutate(JsonArray arguments, FuzzCall call)
    {
        if (arguments.Count == 0 || arguments[0] is not JsonObject request || request.Count == 0)
        {
            if (call.Mutation is >= 1 and <= 6 && arguments.Count == 0 && call.Number % 3 == 0)
            {
                arguments.Add(new JsonObject { ["unexpected"] = call.Text });
            }

            return;
        }

        var keys = request.Select(kv => kv.Key).ToList();
        var key = keys[Index(call.Number, keys.Count)];
        switch (call.Mutation)
        {
            case 1:
                request.Remove(key);
                break;
            case 2:
                request["extra" + (call.Picks[0] % 3)] = call.Text;
                break;
            case 3 or 10:
                request[key] = call.Text;
                break;
            case 4:
                request[key] = call.Number;
                break;
            case 5:
                request[key] = null;
                break;
            case 6:
                request[key] = call.Picks[0] % 2 == 0 ? new JsonArray(call.Text, call.Number) : new JsonObject { ["x"] = call.Number };
                break;
            case 11:
                arguments[0] = call.Picks[0] % 2 == 0 ? null : JsonValue.Create(call.Number);
                break;
            case 13:
                request[key] = Convert.ToBase64String(call.Bytes) + (call.Picks[1] % 2 == 0 ? "=" : "!");
                break;
            default:
                break;
        }
    }

    /// <summary>Keeps ids the server handed out, so later calls can refer to them.</summary>
    private void Remember(string method, string? resultJson)
    {
        if (resultJson is null)
        {
            return;
        }

        using var document = JsonDocument.Parse(resultJson);
        var root = document.RootElement;
        switch (method)
        {
            case nameof(IMessagingHub.CreateConversation) when _conversations.Count < 50:
                _conversations.Add(root.GetProperty("conversationId").GetGuid());
                break;
            case nameof(IMessagingHub.OpenReferral) when _cases.Count < 50:
                var caseReference = root.GetProperty("caseReference").GetString()!;
                if (!_cases.Contains(caseReference))
                {
                    _cases.Add(caseReference);
                }

                break;
            case nameof(IMessagingHub.RecordConsent) when _consents.Count < 50:
                _consents.Add(root.GetProperty("consentId").GetGuid());
                break;
            default:
                break;
        }
    }

    // ---- HTTP -----------------------------------------------------------------------------------------------------

    private async Task<bool> HttpCallAsync(FuzzCall call)
    {
        HttpCalls++;
        var route = HttpRoutes[call.Picks[0] % HttpRoutes.Length];
        var p = call.Picks;
        JsonObject body = route switch
        {
            ApiRoutes.Organisations => new JsonObject { ["name"] = call.Text.Length > 0 ? call.Text : "Service " + p[1], ["type"] = p[2] % 4 == 0 ? call.Text : OrganisationTypes.PreventionService },
            ApiRoutes.Members => new JsonObject
            {
                ["organisationId"] = _organisations[p[1] % _organisations.Count],
                ["displayName"] = call.Text,
                ["role"] = p[2] % 3 == 0 ? call.Text : Roles.Worker,
                ["workEmail"] = $"fuzz{p[3]}@service.example",
            },
            ApiRoutes.JoinRequests => new JsonObject { ["name"] = call.Text, ["type"] = OrganisationTypes.PreventionService, ["level"] = p[1] % 2 == 0 ? ServiceLevels.Community : call.Text },
            ApiRoutes.Enrolment => new JsonObject
            {
                ["code"] = call.Text,
                ["identityKey"] = Convert.ToBase64String(call.Bytes),
                ["signedPreKey"] = new JsonObject { ["id"] = 1, ["publicKey"] = Convert.ToBase64String(call.Bytes), ["signature"] = string.Empty },
                ["oneTimePreKeys"] = new JsonArray(),
            },
            ApiRoutes.AuthChallenge => new JsonObject { ["deviceId"] = p[1] % 2 == 0 ? _devices[p[2] % _devices.Count] : Guid.NewGuid() },
            ApiRoutes.AuthToken => new JsonObject { ["deviceId"] = _devices[p[2] % _devices.Count], ["challenge"] = Convert.ToBase64String(call.Bytes), ["signature"] = Convert.ToBase64String(call.Bytes) },
            TrustRoutes.MemberKey => new JsonObject
            {
                ["announcement"] = Convert.ToBase64String(call.Bytes),
                ["certificates"] = new JsonArray(new JsonObject
                {
                    ["certificate"] = Convert.ToBase64String(call.Bytes),
                    ["sealedMemberKey"] = p[1] % 2 == 0 ? null : Convert.ToBase64String(call.Bytes),
                }),
            },
            TrustRoutes.Approvals => new JsonObject { ["certificate"] = Convert.ToBase64String(call.Bytes), ["sealedMemberKey"] = Convert.ToBase64String(call.Bytes) },
            _ => new JsonObject { ["communes"] = new JsonArray(new JsonObject { ["nisCode"] = call.Text, ["name"] = call.Text, ["region"] = "brussels" }) },
        };

        var arguments = new JsonArray(body);
        Mutate(arguments, call with { Mutation = call.Mutation is 8 or 9 or 12 ? 0 : call.Mutation });
        var text = arguments[0]?.ToJsonString() ?? "null";
        if (call.Mutation == 8)
        {
            text = text[..Index(call.Number, text.Length)];
        }

        using var content = new StringContent(text, Encoding.UTF8, call.Mutation == 9 ? "text/plain" : "application/json");
        using var response = await _operatorHttp.PostAsync(new Uri(route, UriKind.Relative), content);
        if (response.IsSuccessStatusCode)
        {
            return false;
        }

        var problem = await response.Content.ReadAsStringAsync();
        string? code = null;
        try
        {
            using var document = JsonDocument.Parse(problem);
            code = document.RootElement.TryGetProperty("code", out var c) ? c.GetString() : null;
        }
        catch (JsonException)
        {
        }

        if ((int)response.StatusCode >= 500 || code is null || !KnownCodes.Contains(code))
        {
            throw new FuzzFailureException($"POST {route} answered {(int)response.StatusCode} without a known code: {problem}", call);
        }

        return true;
    }

    private static int Index(long number, int count) => (int)((ulong)number % (ulong)count);

    // ---- Rows -----------------------------------------------------------------------------------------------------

    private async Task<long[]> CountRowsAsync()
    {
        await using var command = _counts.CreateCommand();
        command.CommandText = "SELECT tbl, n FROM fuzz_row_changes;";
        var changes = new long[Tables.Length];
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            changes[Array.IndexOf(Tables, reader.GetString(0))] = reader.GetInt64(1);
        }

        return changes;
    }

    private static string Describe(long[] before, long[] after)
        => string.Join(", ", Tables.Select((t, i) => (t, i)).Where(x => before[x.i] != after[x.i]).Select(x => $"{x.t} {before[x.i]}→{after[x.i]}"));

    public async ValueTask DisposeAsync()
    {
        foreach (var raw in _raw)
        {
            if (raw is not null)
            {
                await raw.DisposeAsync();
            }
        }

        foreach (var typed in _typed.Values)
        {
            await typed.DisposeAsync();
        }

        await _counts.DisposeAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>A broken invariant, with the call that broke it.</summary>
public sealed class FuzzFailureException(string message, FuzzCall call) : Exception($"{message} (call: {call})");
