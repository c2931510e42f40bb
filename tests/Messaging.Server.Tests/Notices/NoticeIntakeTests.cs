using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Messaging.Contracts;
using Messaging.Crypto.Attestations;
using Messaging.Server.Features.Notices;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using WireMock;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Settings;

namespace Messaging.Server.Tests.Notices;

/// <summary>Delivery to a Maison de justice's own system, against a WireMock HTTPS intake that is slow, fails, then
/// recovers: each notice is accepted exactly once by its idempotency key, every POST carries a valid signature, and a
/// delivery that exhausts its budget is dead-lettered for the operator, who can retry it.</summary>
public abstract class NoticeIntakeTests : IDisposable
{
    private const string Secret = "intake-shared-secret-0123456789-abcdefghij";
    private readonly X509Certificate2 _certificate = SelfSignedCertificate();
    private readonly WireMockServer _intake;
    private readonly ConcurrentQueue<Received> _received = new();
    private readonly HashSet<string> _accepted = [];
    private Func<int, (int Status, TimeSpan Delay)> _behaviour = _ => (200, TimeSpan.Zero);
    private int _requests;

    private readonly StorageProvider _storage;

    protected NoticeIntakeTests(StorageProvider storage)
    {
        _storage = storage;
        _intake = WireMockServer.Start(new WireMockServerSettings
        {
            UseSSL = true,
            CertificateSettings = new WireMockCertificateSettings { X509Certificate = _certificate },
        });
        _intake.Given(Request.Create().WithPath("/intake").UsingPost()).RespondWith(Response.Create().WithCallback(async request =>
        {
            var (status, delay) = _behaviour(Interlocked.Increment(ref _requests));
            await Task.Delay(delay);
            var key = Header(request, NoticeIntakeJob.IdempotencyHeader) ?? string.Empty;
            lock (_accepted)
            {
                // An intake honouring the idempotency key answers 409 for a notice it already took.
                status = status == 200 && !_accepted.Add(key) ? 409 : status;
            }

            _received.Enqueue(new Received(key, Header(request, NoticeIntakeJob.TimestampHeader),
                Header(request, NoticeIntakeJob.SignatureHeader), request.BodyAsBytes ?? [], status));
            return new ResponseMessage { StatusCode = status };
        }));
    }

    private sealed record Received(string Key, string? Timestamp, string? Signature, byte[] Body, int Status);

    public void Dispose()
    {
        _intake.Stop();
        _intake.Dispose();
        _certificate.Dispose();
        GC.SuppressFinalize(this);
    }

    [Fact]
    public async Task ASlowThenFailingThenRecoveringIntake_AcceptsEachNoticeExactlyOnce_WithAValidSignatureOnEveryPost()
    {
        // First request: slower than the timeout; the next two: 500; then it works.
        _behaviour = n => n switch { 1 => (503, TimeSpan.FromSeconds(4)), 2 or 3 => (500, TimeSpan.Zero), _ => (200, TimeSpan.Zero) };
        await using var world = await IntakeWorldAsync(maxAttempts: 6);

        var first = await IssueAndForwardAsync(world, NoticeKind.NoShow);
        await WaitForStateAsync(world, first.NoticeId, IntakeStates.Delivered);
        var second = await IssueAndForwardAsync(world, NoticeKind.JustifiedAbsence);
        await WaitForStateAsync(world, second.NoticeId, IntakeStates.Delivered);

        // A repeated hand-over and a restart send nothing more.
        var delivered = _received.Count(p => p.Status != 503);
        await world.Worker.InvokeAsync<object?>(nameof(IMessagingHub.ForwardNoticeToIntake), new ForwardNoticeRequest(first.NoticeId, first.Signed));
        await using var restarted = await world.App.RestartAsync();
        _ = restarted.Server;
        await Task.Delay(TimeSpan.FromSeconds(5)); // the slow first answer arrives meanwhile, and nothing else must
        var posts = _received.ToArray();
        Assert.Equal(delivered, posts.Count(p => p.Status != 503));
        Assert.Contains(posts, p => p.Status == 503);
        Assert.True(posts.Count(p => p.Key == first.NoticeId.ToString("D")) >= 4, "the slow answer and the two failures were retried");
        foreach (var notice in new[] { first, second })
        {
            Assert.Single(posts, p => p.Key == notice.NoticeId.ToString("D") && p.Status / 100 == 2);
        }

        Assert.All(posts, p => Assert.Equal(IntakePayload.Signature(Secret, long.Parse(p.Timestamp!, System.Globalization.CultureInfo.InvariantCulture), p.Body), p.Signature));
        using var body = System.Text.Json.JsonDocument.Parse(posts.Single(p => p.Key == second.NoticeId.ToString("D") && p.Status == 200).Body);
        Assert.Equal("justified-absence", body.RootElement.GetProperty("kind").GetString());
        Assert.Equal("illness", body.RootElement.GetProperty("justification").GetString());
        var signed = Convert.FromBase64String(body.RootElement.GetProperty("signedNotice").GetString()!);
        Assert.Equal(second.NoticeId, AttendanceNotice.Verify(signed, world.Worker.Device.Keys.Identity.PublicKey, world.Assistant.Device.Member.Id).NoticeId);
        Assert.Equal(0, await restarted.CountAsync("notice_intake_outbox", "body IS NOT NULL"));
        Assert.Equal(2, await restarted.CountAsync("audit_log", "event_type = 'notice.intake-delivered'"));
    }

    [Fact]
    public async Task AnIntakeThatKeepsFailing_DeadLettersTheDeliveryAfterItsBudget_AndTheOperatorCanListAndRetryIt()
    {
        _behaviour = _ => (500, TimeSpan.Zero);
        await using var world = await IntakeWorldAsync(maxAttempts: 3);

        var notice = await IssueAndForwardAsync(world, NoticeKind.RiskToThirdParties);
        await WaitForStateAsync(world, notice.NoticeId, IntakeStates.DeadLetter);
        Assert.Equal(3, _received.Count);
        var http = await world.App.ClientAsync(await world.App.OperatorAsync());
        var dead = await http.GetFromJsonAsync<List<IntakeDeliveryEntry>>(ApiRoutes.NoticeIntakeDeadLetters);
        var entry = Assert.Single(dead!);
        Assert.Equal((notice.NoticeId, 3, 500), (entry.NoticeId, entry.Attempts, entry.LastStatus));
        Assert.Equal(403, (int)(await (await world.App.ClientAsync(world.ServiceAdmin.Device)).GetAsync(ApiRoutes.NoticeIntakeDeadLetters)).StatusCode);

        _behaviour = _ => (200, TimeSpan.Zero);
        Assert.Equal(204, (int)(await http.PostAsync($"{ApiRoutes.NoticeIntakeDeadLetters}/{notice.NoticeId:D}/retry", null)).StatusCode);
        await WaitForStateAsync(world, notice.NoticeId, IntakeStates.Delivered);
        Assert.Empty((await http.GetFromJsonAsync<List<IntakeDeliveryEntry>>(ApiRoutes.NoticeIntakeDeadLetters))!);
        Assert.Equal(1, await world.App.CountAsync("audit_log", "event_type = 'notice.intake-retried'"));
    }

    [Fact]
    public async Task AHandOverThatDoesNotMatchTheRelayedNotice_OrForAMaisonWithoutIntake_IsRefused_AndNothingIsQueued()
    {
        await using var world = await IntakeWorldAsync(maxAttempts: 3);
        var notice = await IssueAsync(world, NoticeKind.Present);
        var other = AttendanceNotice.Create(notice.NoticeId, AttendanceNoticeKind.NoShow, null, null, new DateOnly(2031, 3, 4), world.CaseReference,
            world.Service.Id, world.Worker.Device.Member.Id, world.Worker.Device.Id, world.App.Clock.GetUtcNow(), world.Assistant.Device.Member.Id);
        var altered = (byte[])notice.Signed.Clone();
        altered[^1] ^= 1;

        await Refusal.AssertHubAsync(ErrorCodes.NoticeInvalid, () => Forward(world.Worker, notice.NoticeId, other.Sign(world.Worker.Device.Keys.Identity).ToBytes()));
        await Refusal.AssertHubAsync(ErrorCodes.NoticeInvalid, () => Forward(world.Worker, notice.NoticeId, altered));
        await Refusal.AssertHubAsync(ErrorCodes.NoticeInvalid, () => Forward(world.WorkerSecondDevice, notice.NoticeId, notice.Signed));
        Assert.Equal(0, await world.App.CountAsync("notice_intake_outbox"));

        await using var plain = await NoticeWorld.CreateAsync(storage: _storage);
        var relayed = await IssueAsync(plain, NoticeKind.Present);
        await Refusal.AssertHubAsync(ErrorCodes.NoticeIntakeNotConfigured, () => Forward(plain.Worker, relayed.NoticeId, relayed.Signed));
        Assert.Equal(0, await plain.App.CountAsync("notice_intake_outbox"));
    }

    private static string? Header(IRequestMessage request, string name)
        => request.Headers?.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value?.FirstOrDefault();

    private static Task<object?> Forward(ConnectedDevice device, Guid noticeId, byte[] signed)
        => device.InvokeAsync<object?>(nameof(IMessagingHub.ForwardNoticeToIntake), new ForwardNoticeRequest(noticeId, signed));

    private async Task<NoticeWorld> IntakeWorldAsync(int maxAttempts)
    {
        NoticesOptions? live = null;
        var thumbprint = Convert.ToHexString(SHA256.HashData(_certificate.RawData));
        var world = await NoticeWorld.CreateAsync(new Dictionary<string, string?>
        {
            ["Messaging:Notices:IntakeTestCertificateThumbprint"] = thumbprint,
            ["Messaging:Notices:IntakeTimeout"] = "00:00:02",
            ["Messaging:Notices:IntakeFirstBackoff"] = "00:00:00.050",
            ["Messaging:Notices:IntakeMaxBackoff"] = "00:00:00.200",
            ["Messaging:Notices:IntakeMaxAttempts"] = maxAttempts.ToString(System.Globalization.CultureInfo.InvariantCulture),
        }, storage: _storage);

        // The Maison de justice's id exists only now: configure its intake as the operator would (the options object is
        // the one the services hold).
        live = world.App.Services.GetRequiredService<IOptions<NoticesOptions>>().Value;
        live.Intakes[world.JusticeHouse.Id.ToString("D")] = new IntakeEndpointSettings { Url = _intake.Url + "/intake", Secret = Secret };
        return world;
    }

    private static async Task<(Guid NoticeId, byte[] Signed)> IssueAsync(NoticeWorld world, NoticeKind kind)
    {
        var request = await world.BuildNoticeAsync(kind);
        var notice = AttendanceNotice.Create(request.Notice!.NoticeId, (AttendanceNoticeKind)(int)kind,
            kind == NoticeKind.JustifiedAbsence ? AbsenceJustification.Illness : null, null, new DateOnly(2031, 3, 4), world.CaseReference,
            world.Service.Id, world.Worker.Device.Member.Id, world.Worker.Device.Id, world.App.Clock.GetUtcNow(), world.Assistant.Device.Member.Id);
        Assert.Equal(SendOutcome.Accepted, (await world.Worker.SendAsync(request)).Outcome);
        return (notice.NoticeId, notice.Sign(world.Worker.Device.Keys.Identity).ToBytes());
    }

    private static async Task<(Guid NoticeId, byte[] Signed)> IssueAndForwardAsync(NoticeWorld world, NoticeKind kind)
    {
        var issued = await IssueAsync(world, kind);
        await Forward(world.Worker, issued.NoticeId, issued.Signed);
        return issued;
    }

    private static async Task WaitForStateAsync(NoticeWorld world, Guid noticeId, string state)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        while ((await world.App.QueryRowsAsync($"SELECT state FROM notice_intake_outbox WHERE notice_id = '{noticeId:D}'")).FirstOrDefault()?[0] != state)
        {
            Assert.True(started.Elapsed < TimeSpan.FromSeconds(30), $"the delivery did not become {state}");
            await Task.Delay(50);
        }
    }

    private static X509Certificate2 SelfSignedCertificate()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        var now = TimeProvider.System.GetUtcNow(); // a real validity: the TLS stack reads the real clock
        using var created = request.CreateSelfSigned(now.AddYears(-1), now.AddYears(20));
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), null);
    }

    public sealed class OnSqlite() : NoticeIntakeTests(StorageProvider.Sqlite);

    public sealed class OnPostgres() : NoticeIntakeTests(StorageProvider.Postgres);
}
