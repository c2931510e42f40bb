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

/// <summary>Delivery to a Maison de justice's own system, against a WireMock HTTPS intake that fails, times out, then
/// recovers: one attempt per job run, the next one scheduled for after its backoff on the fake clock (the tests move
/// it and run the due jobs), so an outage never holds a job worker; each notice is posted once at a time and accepted
/// exactly once, every POST carries a valid signature, a restart resumes from <c>next_attempt_at</c>, and a delivery
/// that exhausts its budget is dead-lettered for the operator, who can retry it.</summary>
public abstract class NoticeIntakeTests : IDisposable
{
    private const string Secret = "intake-shared-secret-0123456789-abcdefghij";
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromSeconds(4);
    private readonly X509Certificate2 _certificate = SelfSignedCertificate();
    private readonly WireMockServer _intake;
    private readonly ConcurrentQueue<Received> _received = new();
    private readonly HashSet<string> _accepted = [];
    private readonly TaskCompletionSource _outageOver = new(TaskCreationOptions.RunContinuationsAsynchronously);
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
            await Task.WhenAny(Task.Delay(delay), _outageOver.Task);
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
        _outageOver.TrySetResult(); // answers held back for an outage go now: the server stops at once
        _intake.Stop();
        _intake.Dispose();
        _certificate.Dispose();
        GC.SuppressFinalize(this);
    }

    [Fact]
    public async Task AnIntakeThatFailsThreeTimesThenRecovers_GetsOneAttemptPerScheduledRun_AndTheNoticeExactlyOnce()
    {
        _behaviour = n => n switch { 1 => (503, TimeSpan.Zero), 2 => (429, TimeSpan.Zero), 3 => (500, TimeSpan.Zero), _ => (200, TimeSpan.Zero) };
        await using var world = await IntakeWorldAsync(maxAttempts: 6);
        var notice = await IssueAndForwardAsync(world, NoticeKind.JustifiedAbsence);

        for (var attempt = 1; attempt <= 4; attempt++)
        {
            if (attempt > 1)
            {
                // The failed attempt left the row waiting out its backoff, with the next run scheduled: running the due
                // jobs before the fake clock gets there posts nothing.
                var waiting = await OutboxAsync(world, notice.NoticeId);
                var backoff = waiting.NextAttemptAt!.Value - world.App.Clock.GetUtcNow();
                var nominal = FirstBackoff * Math.Pow(2, attempt - 2);
                Assert.InRange(backoff, nominal * 0.75 - TimeSpan.FromMilliseconds(1), nominal * 1.25);
                await world.App.RunDueJobsAsync();
                Assert.Equal(attempt - 1, _received.Count);
                await NextAttemptAsync(world, notice.NoticeId);
            }

            var row = await AttemptEndedAsync(world, notice.NoticeId, attempt);
            Assert.Equal(attempt, _received.Count);
            Assert.Equal(attempt == 4 ? IntakeStates.Delivered : IntakeStates.Pending, row.State);
        }

        // A delivered notice is never posted again: not by another run of the job, not by a repeated hand-over.
        Assert.Equal(IntakeStates.Delivered, await world.App.Services.GetRequiredService<NoticeIntakeJob>().RunAsync(notice.NoticeId, CancellationToken.None));
        await Forward(world.Worker, notice.NoticeId, notice.Signed);
        await world.App.RunDueJobsAsync();
        var posts = _received.ToArray();
        Assert.Equal([503, 429, 500, 200], posts.Select(p => p.Status));
        Assert.All(posts, p => Assert.Equal(notice.NoticeId.ToString("D"), p.Key));
        Assert.All(posts, p => Assert.Equal(IntakePayload.Signature(Secret, long.Parse(p.Timestamp!, System.Globalization.CultureInfo.InvariantCulture), p.Body), p.Signature));
        using var body = System.Text.Json.JsonDocument.Parse(posts[^1].Body);
        Assert.Equal("justified-absence", body.RootElement.GetProperty("kind").GetString());
        Assert.Equal("illness", body.RootElement.GetProperty("justification").GetString());
        var signed = Convert.FromBase64String(body.RootElement.GetProperty("signedNotice").GetString()!);
        Assert.Equal(notice.NoticeId, AttendanceNotice.Verify(signed, world.Worker.Device.Keys.Identity.PublicKey, world.Assistant.Device.Member.Id).NoticeId);
        var delivered = await OutboxAsync(world, notice.NoticeId);
        Assert.Equal((4, (int?)200, (DateTimeOffset?)null), (delivered.Attempts, delivered.LastStatus, delivered.NextAttemptAt));
        Assert.Equal(0, await world.App.CountAsync("notice_intake_outbox", "body IS NOT NULL"));
        Assert.Equal(1, await world.App.CountAsync("audit_log", "event_type = 'notice.intake-delivered'"));
    }

    [Fact]
    public async Task WhileTheIntakeTimesOutWithTwoNoticesWaiting_OtherJobsStillRun_BecauseNoWorkerWaitsOutABackoff()
    {
        // Every answer comes after the attempt's timeout. Before, each delivery kept its worker for all its attempts and
        // backoffs (minutes), and the runner has two: every other job waited behind them.
        _behaviour = _ => (200, TimeSpan.FromMinutes(5));
        await using var world = await IntakeWorldAsync(maxAttempts: 8);
        var first = await IssueAndForwardAsync(world, NoticeKind.NoShow);
        var second = await IssueAndForwardAsync(world, NoticeKind.RiskToThirdParties);
        await WaitUntilAsync(() => Task.FromResult(Volatile.Read(ref _requests) >= 2), "both deliveries posted");

        // Another job: the content-free "a notice is waiting" email of a third notice, enqueued now.
        var third = await IssueAsync(world, NoticeKind.Present);
        await WaitUntilAsync(async () => await world.App.CountAsync("notices", $"id = '{third.NoticeId:D}' AND email_sent_at IS NOT NULL") == 1,
            "the notice email ran while the intake was down");

        foreach (var notice in new[] { first, second })
        {
            var row = await AttemptEndedAsync(world, notice.NoticeId, 1);
            Assert.Equal((IntakeStates.Pending, 1, (int?)null), (row.State, row.Attempts, row.LastStatus));
            Assert.True(row.NextAttemptAt > world.App.Clock.GetUtcNow(), "the retry waits in the database");
            await ScheduledRunAsync(world, notice.NoticeId);
        }

        Assert.Equal(2, Volatile.Read(ref _requests));
    }

    [Fact]
    public async Task ARestartDuringABackoff_ResumesAtNextAttemptAt_WithTheAttemptsLeft()
    {
        _behaviour = n => n == 1 ? (500, TimeSpan.Zero) : (200, TimeSpan.Zero);
        await using var world = await IntakeWorldAsync(maxAttempts: 3);
        var notice = await IssueAndForwardAsync(world, NoticeKind.NoShow);
        var due = (await AttemptEndedAsync(world, notice.NoticeId, 1)).NextAttemptAt!.Value;

        await world.RestartAsync();
        ConfigureIntake(world);

        // Hangfire's jobs went with the process: the new one re-derived the delivery from the row, for its due time.
        await ScheduledRunAsync(world, notice.NoticeId);
        await world.App.RunDueJobsAsync();
        Assert.Single(_received);
        var waiting = await OutboxAsync(world, notice.NoticeId);
        Assert.Equal((IntakeStates.Pending, 1, (DateTimeOffset?)due), (waiting.State, waiting.Attempts, waiting.NextAttemptAt));

        await NextAttemptAsync(world, notice.NoticeId);
        var row = await AttemptEndedAsync(world, notice.NoticeId, 2);
        Assert.Equal(IntakeStates.Delivered, row.State);
        Assert.Equal([500, 200], _received.Select(p => p.Status));
    }

    [Fact]
    public async Task AnIntakeThatKeepsFailing_DeadLettersTheDeliveryAfterItsBudget_WithItsSignals_AndTheOperatorCanListAndRetryIt()
    {
        _behaviour = _ => (500, TimeSpan.Zero);
        await using var world = await IntakeWorldAsync(maxAttempts: 3);

        var notice = await IssueAndForwardAsync(world, NoticeKind.RiskToThirdParties);
        await AttemptEndedAsync(world, notice.NoticeId, 1);
        await NextAttemptAsync(world, notice.NoticeId);
        await AttemptEndedAsync(world, notice.NoticeId, 2);
        await NextAttemptAsync(world, notice.NoticeId);
        var dead = await AttemptEndedAsync(world, notice.NoticeId, 3);
        Assert.Equal((IntakeStates.DeadLetter, (DateTimeOffset?)null), (dead.State, dead.NextAttemptAt));
        Assert.Equal(3, _received.Count);
        Assert.Equal(1, await world.App.CountAsync("audit_log", $"event_type = 'notice.intake-dead-lettered' AND detail = '500'"));
        Assert.Contains(world.App.Logs.Lines, l => l.StartsWith("Warning", StringComparison.Ordinal) && l.Contains($"notice {notice.NoticeId} dead-lettered after 3 attempts", StringComparison.Ordinal));
        world.App.Clock.Advance(TimeSpan.FromMinutes(2));
        await world.App.RunDueJobsAsync();
        Assert.Equal(IntakeStates.DeadLetter, await world.App.Services.GetRequiredService<NoticeIntakeJob>().RunAsync(notice.NoticeId, CancellationToken.None));
        Assert.Equal(3, _received.Count);

        var http = await world.App.ClientAsync(await world.App.OperatorAsync());
        var entry = Assert.Single((await http.GetFromJsonAsync<List<IntakeDeliveryEntry>>(ApiRoutes.NoticeIntakeDeadLetters))!);
        Assert.Equal((notice.NoticeId, 3, 500), (entry.NoticeId, entry.Attempts, entry.LastStatus));
        Assert.Equal(403, (int)(await (await world.App.ClientAsync(world.ServiceAdmin.Device)).GetAsync(ApiRoutes.NoticeIntakeDeadLetters)).StatusCode);

        _behaviour = _ => (200, TimeSpan.Zero);
        Assert.Equal(204, (int)(await http.PostAsync($"{ApiRoutes.NoticeIntakeDeadLetters}/{notice.NoticeId:D}/retry", null)).StatusCode);
        Assert.Equal(IntakeStates.Delivered, (await AttemptEndedAsync(world, notice.NoticeId, 1)).State);
        Assert.Empty((await http.GetFromJsonAsync<List<IntakeDeliveryEntry>>(ApiRoutes.NoticeIntakeDeadLetters))!);
        Assert.Equal(1, await world.App.CountAsync("audit_log", "event_type = 'notice.intake-retried'"));
    }

    [Fact]
    public async Task RunsOfTheJobAtTheSameTime_OnTwoInstancesOfIt_PostTheNoticeOnce()
    {
        // A slow intake, so that the runs overlap: Hangfire's own run, and two more as a repeated fetch and a second
        // server instance would start them.
        _behaviour = _ => (200, TimeSpan.FromSeconds(1));
        await using var world = await IntakeWorldAsync(maxAttempts: 3);
        var notice = await IssueAndForwardAsync(world, NoticeKind.NoShow);
        using var other = ActivatorUtilities.CreateInstance<NoticeIntakeJob>(world.App.Services);
        await Task.WhenAll(
            world.App.Services.GetRequiredService<NoticeIntakeJob>().RunAsync(notice.NoticeId, CancellationToken.None),
            other.RunAsync(notice.NoticeId, CancellationToken.None));

        var row = await AttemptEndedAsync(world, notice.NoticeId, 1);
        Assert.Equal(IntakeStates.Delivered, row.State);
        await world.App.RunDueJobsAsync();
        Assert.Equal(1, Volatile.Read(ref _requests));
        Assert.Equal(200, Assert.Single(_received).Status);
        Assert.Equal(1, await world.App.CountAsync("audit_log", "event_type = 'notice.intake-delivered'"));
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
        var thumbprint = Convert.ToHexString(SHA256.HashData(_certificate.RawData));
        var world = await NoticeWorld.CreateAsync(new Dictionary<string, string?>
        {
            ["Messaging:Notices:IntakeTestCertificateThumbprint"] = thumbprint,
            ["Messaging:Notices:IntakeTimeout"] = "00:00:05",
            ["Messaging:Notices:IntakeFirstBackoff"] = "00:00:04",
            ["Messaging:Notices:IntakeMaxBackoff"] = "00:00:20",
            ["Messaging:Notices:IntakeMaxAttempts"] = maxAttempts.ToString(System.Globalization.CultureInfo.InvariantCulture),
        }, storage: _storage);

        ConfigureIntake(world);
        return world;
    }

    /// <summary>The Maison de justice's id exists only once the world is made: configure its intake as the operator
    /// would (the options object is the one the services hold; again after a restart).</summary>
    private void ConfigureIntake(NoticeWorld world)
        => Options(world).Intakes[world.JusticeHouse.Id.ToString("D")] = new IntakeEndpointSettings { Url = _intake.Url + "/intake", Secret = Secret };

    private static NoticesOptions Options(NoticeWorld world) => world.App.Services.GetRequiredService<IOptions<NoticesOptions>>().Value;

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

    private sealed record Outbox(string State, int Attempts, DateTimeOffset? NextAttemptAt, int? LastStatus);

    private static async Task<Outbox> OutboxAsync(NoticeWorld world, Guid noticeId)
    {
        var row = (await world.App.QueryRowsAsync($"SELECT state, attempts, next_attempt_at, last_status FROM notice_intake_outbox WHERE notice_id = '{noticeId:D}'")).Single();
        static long? Number(string? value) => value is null ? null : long.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
        return new Outbox(row[0]!, (int)Number(row[1])!.Value, Number(row[2]) is { } at ? DateTimeOffset.FromUnixTimeMilliseconds(at) : null, (int?)Number(row[3]));
    }

    /// <summary>Waits until attempt <paramref name="attempt"/> ended: the delivery finished, or it waits out a backoff
    /// (due before the lease a claimed attempt holds: the fake clock stands still meanwhile, and the backoffs here are
    /// shorter than the timeout plus the lease margin).</summary>
    private static async Task<Outbox> AttemptEndedAsync(NoticeWorld world, Guid noticeId, int attempt)
    {
        Outbox row = null!;
        await WaitUntilAsync(async () =>
        {
            row = await OutboxAsync(world, noticeId);
            return row.Attempts == attempt && (row.State != IntakeStates.Pending
                || row.NextAttemptAt < world.App.Clock.GetUtcNow() + Options(world).IntakeTimeout + NoticeIntakeJob.LeaseMargin);
        }, $"attempt {attempt} ended");
        return row;
    }

    /// <summary>Moves the fake clock to the delivery's next attempt and runs the due jobs.</summary>
    private static async Task NextAttemptAsync(NoticeWorld world, Guid noticeId)
    {
        var due = (await OutboxAsync(world, noticeId)).NextAttemptAt!.Value;
        world.App.Clock.Advance(due - world.App.Clock.GetUtcNow());
        await world.App.RunDueJobsAsync();
    }

    /// <summary>Waits until a run of the delivery job is scheduled for later (not enqueued at once). A run that comes
    /// early schedules itself again, so for the moment it runs it is not among the scheduled jobs: look again.</summary>
    private static Task ScheduledRunAsync(NoticeWorld world, Guid noticeId) => WaitUntilAsync(
        () => Task.FromResult(world.App.ScheduledJobs().Contains(("NoticeIntakeJob.RunAsync", noticeId.ToString("D")))),
        "the next run is scheduled for later");

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(started.Elapsed < TimeSpan.FromSeconds(30), $"not within 30 s: {what}");
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
