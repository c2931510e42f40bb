using System.Globalization;
using System.Net.Security;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Messaging.Contracts;
using Messaging.Crypto;
using Messaging.Crypto.Attestations;
using Messaging.Crypto.Keys;
using Messaging.Server.Errors;
using Messaging.Server.Features.Audit;
using Messaging.Server.Features.Authentication;
using Messaging.Server.Features.Jobs;
using Messaging.Server.Persistence;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Features.Notices;

/// <summary>
/// Delivery of signed notices to a Maison de justice's own system (optional per Maison de justice, configured by the
/// operator in <see cref="NoticesOptions.Intakes"/>). The issuing device hands over the signed notice of a notice the
/// server already relayed; the server verifies it against that device's identity key and the relayed metadata, writes
/// the exact JSON it will post to a durable outbox row, and a job delivers it. See <c>docs/notices.md</c> and
/// <c>docs/notices-intake.openapi.yaml</c>.
/// </summary>
internal sealed class NoticeIntakeService(IDatabase database, AuditLog audit, JobScheduler jobs, TimeProvider time, IOptions<NoticesOptions> options)
{
    public async Task ForwardAsync(CallerDevice caller, ForwardNoticeRequest request, CancellationToken cancellationToken = default)
    {
        if (request is null || request.NoticeId == Guid.Empty || request.SignedNotice is not { Length: > 0 and <= 64 * 1024 })
        {
            throw new MalformedRequestException("A notice id and the signed notice (at most 64 KiB) are required.");
        }

        var now = DbValues.ToStoragePrecision(time.GetUtcNow());
        var scheduled = await database.WriteAsync(async s =>
        {
            var notice = await NoticeRepository.GetNoticeAsync(s, request.NoticeId);
            if (notice is null || notice.IssuerDeviceId != caller.DeviceId)
            {
                throw new NotFoundException(ErrorCodes.NoticeInvalid, "No notice relayed from this device has this id.");
            }

            var mandate = (await NoticeRepository.GetMandateAsync(s, notice.MandateId))!;
            if (options.Value.IntakeOf(mandate.JusticeHouseId) is null)
            {
                throw new ConflictException(ErrorCodes.NoticeIntakeNotConfigured, "This Maison de justice receives notices in Messaging only.");
            }

            if (await NoticeRepository.GetOutboxAsync(s, notice.Id) is not null)
            {
                return false; // Handed over already: idempotent.
            }

            var identity = await NoticeRepository.DeviceIdentityAsync(s, caller.DeviceId)
                ?? throw new NotFoundException(ErrorCodes.NoticeInvalid, "No such device.");
            var body = IntakePayload.Build(Verify(request.SignedNotice, identity, notice, mandate, caller), request.SignedNotice);
            await NoticeRepository.InsertOutboxAsync(s, notice.Id, mandate.JusticeHouseId, body, now);
            return true;
        }, cancellationToken);
        if (scheduled)
        {
            var id = request.NoticeId;
            jobs.ScheduleAt<NoticeIntakeJob>(j => j.RunAsync(id, CancellationToken.None), now);
        }
    }

    /// <summary>The dead-lettered deliveries (operator only): ids, states and codes, never the body.</summary>
    public async Task<IReadOnlyList<IntakeDeliveryEntry>> ListDeadLettersAsync(CallerDevice caller, CancellationToken cancellationToken = default)
    {
        RequireOperator(caller);
        var rows = await database.ReadAsync(s => NoticeRepository.ListOutboxAsync(s, IntakeStates.DeadLetter), cancellationToken);
        return [.. rows.Select(r => new IntakeDeliveryEntry(r.NoticeId, r.JusticeHouseId, r.State, r.Attempts, r.LastStatus, r.CreatedAt, r.FinishedAt))];
    }

    /// <summary>Puts a dead-lettered delivery back with a fresh attempt budget (operator only); audited.</summary>
    public async Task<bool> RetryAsync(CallerDevice caller, Guid noticeId, CancellationToken cancellationToken = default)
    {
        RequireOperator(caller);
        var now = DbValues.ToStoragePrecision(time.GetUtcNow());
        var requeued = await database.WriteAsync(async s =>
        {
            if (await NoticeRepository.RequeueAsync(s, noticeId, now) == 0)
            {
                return false;
            }

            await audit.AppendAsync(s, new AuditEvent(NoticeAudit.NoticeIntakeRetried, caller.MemberId, caller.DeviceId, [NoticeAudit.Notice(noticeId)]));
            return true;
        }, cancellationToken);
        if (requeued)
        {
            jobs.ScheduleAt<NoticeIntakeJob>(j => j.RunAsync(noticeId, CancellationToken.None), now);
        }

        return requeued;
    }

    private static void RequireOperator(CallerDevice caller)
    {
        if (caller.Role != Roles.PlatformOperator)
        {
            throw new ForbiddenException("Only the platform operator handles intake deliveries.");
        }
    }

    /// <summary>The signed notice must verify under the sending device's key and say what the relayed envelope said.</summary>
    private static AttendanceNotice Verify(byte[] signedNotice, byte[] identityKey, NoticeRecord relayed, MandateRecord mandate, CallerDevice caller)
    {
        AttendanceNotice notice;
        try
        {
            notice = AttendanceNotice.Verify(signedNotice, IdentityPublicKey.Parse(identityKey), mandate.AssistantMemberId);
        }
        catch (CryptoException)
        {
            throw new MalformedRequestException("The signed notice does not verify under this device's key for the mandate's assistant.", ErrorCodes.NoticeInvalid);
        }

        return notice.NoticeId == relayed.Id && (int)notice.Kind == (int)relayed.Kind && notice.InterviewId == relayed.InterviewId
            && notice.CaseReference == mandate.CaseReference && notice.IssuerOrganisationId == caller.OrganisationId
            && notice.IssuerMemberId == caller.MemberId && notice.IssuerDeviceId == caller.DeviceId
            ? notice
            : throw new MalformedRequestException("The signed notice does not match the relayed notice.", ErrorCodes.NoticeInvalid);
    }
}

/// <summary>The intake's JSON: the notice's fields, and the signed notice itself so the Maison de justice can verify it.</summary>
internal static class IntakePayload
{
    public static byte[] Build(AttendanceNotice notice, byte[] signedNotice)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("noticeId", notice.NoticeId.ToString("D"));
            json.WriteString("kind", AttendanceNotice.KindCode(notice.Kind));
            WriteOptional(json, "justification", notice.Justification is { } j ? AttendanceNotice.JustificationCode(j) : null);
            WriteOptional(json, "interviewId", notice.InterviewId?.ToString("D"));
            WriteOptional(json, "interviewDate", notice.InterviewDate?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
            json.WriteString("caseReference", notice.CaseReference);
            json.WriteString("issuerOrganisationId", notice.IssuerOrganisationId.ToString("D"));
            json.WriteString("issuerMemberId", notice.IssuerMemberId.ToString("D"));
            json.WriteString("issuerDeviceId", notice.IssuerDeviceId.ToString("D"));
            json.WriteString("issuedAt", notice.IssuedAt.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            json.WriteString("audienceMemberId", notice.AudienceMemberId.ToString("D"));
            json.WriteBase64String("signedNotice", signedNotice);
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>The signature header's value: <c>v1=</c> and the lower-case hex HMAC-SHA256, under the shared secret, of
    /// the timestamp (Unix seconds, as sent in <c>X-Messaging-Timestamp</c>), a full stop, and the body bytes.</summary>
    public static string Signature(string secret, long timestamp, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.ASCII.GetBytes(timestamp.ToString(CultureInfo.InvariantCulture) + ".");
        var message = new byte[prefix.Length + body.Length];
        prefix.CopyTo(message, 0);
        body.CopyTo(message.AsSpan(prefix.Length));
        return "v1=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), message));
    }

    private static void WriteOptional(Utf8JsonWriter json, string name, string? value)
    {
        if (value is null)
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, value);
        }
    }
}

/// <summary>An intake delivery as the operator sees it (no body).</summary>
public sealed record IntakeDeliveryEntry(Guid NoticeId, Guid JusticeHouseId, string State, int Attempts, int? LastStatus, DateTimeOffset CreatedAt, DateTimeOffset? FinishedAt);

/// <summary>
/// Delivers one outbox row, one attempt per run: POST over HTTPS with the idempotency key (the notice id) and the HMAC
/// signature headers, bounded by <see cref="NoticesOptions.IntakeTimeout"/>. A 2xx or 409 (the intake already has this
/// notice) delivers it and clears the stored body; any other 4xx dead-letters it for the operator. A transient failure
/// (timeout, connection error, 408, 429, 5xx) stores when the next attempt is due (<see cref="Backoff"/>) in
/// <c>next_attempt_at</c> and schedules the next run for then, so no worker waits out a backoff and every other job
/// keeps running during an intake outage; the attempt that spends <see cref="NoticesOptions.IntakeMaxAttempts"/>
/// dead-letters it.
/// <para>Hangfire runs a job at least once, and several instances share its queue: a run first claims its attempt in
/// the row (<see cref="NoticeRepository.ClaimAttemptAsync"/>: counted before it starts, and held for the timeout plus
/// <see cref="LeaseMargin"/>), so two runs never post the same notice at once, and a delivered row is never posted
/// again. A run that comes early, or while another holds the attempt, schedules itself for <c>next_attempt_at</c>. The
/// HTTP timeout runs on the system clock (it measures real waiting), the backoff, lease and stamps on the injected one.</para>
/// </summary>
internal sealed partial class NoticeIntakeJob : IDisposable
{
    public const string SignatureHeader = "X-Messaging-Signature";
    public const string TimestampHeader = "X-Messaging-Timestamp";
    public const string IdempotencyHeader = "Idempotency-Key";

    /// <summary>How long past its timeout a claimed attempt stays held: room for the writes around the POST. Should the
    /// run die in between, the attempt counts and the next one is due when the lease ends.</summary>
    internal static readonly TimeSpan LeaseMargin = TimeSpan.FromSeconds(30);

    private readonly IDatabase _database;
    private readonly AuditLog _audit;
    private readonly JobScheduler _jobs;
    private readonly TimeProvider _time;
    private readonly NoticesOptions _options;
    private readonly ILogger<NoticeIntakeJob> _logger;
    private readonly HttpClient _http;

    public NoticeIntakeJob(IDatabase database, AuditLog audit, JobScheduler jobs, TimeProvider time, IOptions<NoticesOptions> options, ILogger<NoticeIntakeJob> logger)
    {
        (_database, _audit, _jobs, _time, _options, _logger) = (database, audit, jobs, time, options.Value, logger);
        var handler = new SocketsHttpHandler { AllowAutoRedirect = false, ConnectTimeout = _options.IntakeTimeout };
        if (_options.IntakeTestCertificateThumbprint is { Length: > 0 } pinned)
        {
            handler.SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, errors) => errors == SslPolicyErrors.None
                    || (certificate is not null && string.Equals(Convert.ToHexString(SHA256.HashData(certificate.GetRawCertData())), pinned, StringComparison.OrdinalIgnoreCase)),
            };
        }

        _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>
    /// The wait after <paramref name="failedAttempts"/> failed attempts: <paramref name="first"/> doubled for each
    /// attempt after the first, spread by ±25 % (<paramref name="jitter"/> in [0, 1): deliveries that failed together
    /// do not come back together), never above <paramref name="max"/>. With the defaults 5 s, 10 s, 20 s … 320 s.
    /// </summary>
    internal static TimeSpan Backoff(int failedAttempts, TimeSpan first, TimeSpan max, double jitter)
    {
        var exponential = first.TotalMilliseconds * Math.Pow(2, Math.Clamp(failedAttempts - 1, 0, 30));
        return TimeSpan.FromMilliseconds(Math.Min(exponential * (0.75 + (0.5 * jitter)), max.TotalMilliseconds));
    }

    /// <summary>Returns the row's state after this run.</summary>
    public async Task<string?> RunAsync(Guid noticeId, CancellationToken cancellationToken)
    {
        var now = DbValues.ToStoragePrecision(_time.GetUtcNow());
        var row = await _database.ReadAsync(s => NoticeRepository.GetOutboxAsync(s, noticeId), cancellationToken);
        if (row is not { State: IntakeStates.Pending, Body: { } body })
        {
            return row?.State;
        }

        if (row.NextAttemptAt is { } due && due > now)
        {
            Schedule(noticeId, due); // early, or another run holds the attempt: look again when it is due
            return row.State;
        }

        var intake = _options.IntakeOf(row.JusticeHouseId);
        if (intake is null || row.Attempts >= _options.IntakeMaxAttempts)
        {
            return await FinishAsync(noticeId, IntakeStates.DeadLetter, row.Attempts, row.LastStatus, cancellationToken);
        }

        var attempt = row.Attempts + 1;
        if (await _database.WriteAsync(s => NoticeRepository.ClaimAttemptAsync(s, noticeId, row.Attempts, now, now + _options.IntakeTimeout + LeaseMargin),
            cancellationToken) == 0)
        {
            return IntakeStates.Pending; // another run took this attempt, and schedules what follows it
        }

        var status = await PostAsync(intake, noticeId, body, cancellationToken);
        LogAttempt(_logger, noticeId, attempt, status);
        if (status is { } answered && !IsTransient(answered))
        {
            var delivered = answered is >= 200 and < 300 or 409;
            return await FinishAsync(noticeId, delivered ? IntakeStates.Delivered : IntakeStates.DeadLetter, delivered ? null : attempt, status, cancellationToken);
        }

        if (attempt >= _options.IntakeMaxAttempts)
        {
            LogGaveUp(_logger, noticeId, attempt);
            return await FinishAsync(noticeId, IntakeStates.DeadLetter, attempt, status, cancellationToken);
        }

        var next = DbValues.ToStoragePrecision(_time.GetUtcNow() + Backoff(attempt, _options.IntakeFirstBackoff, _options.IntakeMaxBackoff, Random.Shared.NextDouble()));
        if (await _database.WriteAsync(s => NoticeRepository.RecordRetryAsync(s, noticeId, attempt, status, next), cancellationToken) == 1)
        {
            Schedule(noticeId, next);
        }

        return IntakeStates.Pending;
    }

    public void Dispose() => _http.Dispose();

    /// <summary>Transient answers, retried: 408, 429 and 5xx (what a resilience pipeline retries by default).</summary>
    private static bool IsTransient(int status) => status is 408 or 429 or >= 500;

    /// <summary>One POST within the timeout; the status, or null when no answer came (timeout, connection error).</summary>
    private async Task<int?> PostAsync(IntakeEndpointSettings intake, Guid noticeId, byte[] body, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.IntakeTimeout);
        try
        {
            var timestamp = _time.GetUtcNow().ToUnixTimeSeconds();
            using var request = new HttpRequestMessage(HttpMethod.Post, intake.Url) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new("application/json") { CharSet = "utf-8" };
            request.Headers.Add(IdempotencyHeader, noticeId.ToString("D"));
            request.Headers.Add(TimestampHeader, timestamp.ToString(CultureInfo.InvariantCulture));
            request.Headers.Add(SignatureHeader, IntakePayload.Signature(intake.Secret!, timestamp, body));
            using var response = await _http.SendAsync(request, timeout.Token);
            return (int)response.StatusCode;
        }
        catch (Exception e) when (e is HttpRequestException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return null;
        }
    }

    private void Schedule(Guid noticeId, DateTimeOffset due) => _jobs.ScheduleAt<NoticeIntakeJob>(j => j.RunAsync(noticeId, CancellationToken.None), due);

    private async Task<string> FinishAsync(Guid noticeId, string state, int? attempts, int? status, CancellationToken cancellationToken)
    {
        var now = DbValues.ToStoragePrecision(_time.GetUtcNow());
        await _database.WriteAsync(async s =>
        {
            if (await NoticeRepository.FinishAsync(s, noticeId, state, attempts, status, now, clearBody: state == IntakeStates.Delivered) == 1)
            {
                await _audit.AppendAsync(s, new AuditEvent(state == IntakeStates.Delivered ? NoticeAudit.NoticeIntakeDelivered : NoticeAudit.NoticeIntakeDeadLettered,
                    null, null, [NoticeAudit.Notice(noticeId)], status?.ToString(CultureInfo.InvariantCulture)));
            }

            return 0;
        }, cancellationToken);
        return state;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Intake delivery of notice {NoticeId}: attempt {Attempt} answered {Status}")]
    private static partial void LogAttempt(ILogger logger, Guid noticeId, int attempt, int? status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Intake delivery of notice {NoticeId} dead-lettered after {Attempts} attempts")]
    private static partial void LogGaveUp(ILogger logger, Guid noticeId, int attempts);

    /// <summary>At start-up (Hangfire's in-memory jobs are gone): a run for every pending delivery at its
    /// <c>next_attempt_at</c> — at once when that passed, later when it waits out a backoff or an attempt's lease — which
    /// continues with the attempt budget left.</summary>
    internal sealed class Pending(IDatabase database, JobScheduler jobs, TimeProvider time) : IPendingJobSource
    {
        public async Task<int> ScheduleAllAsync(CancellationToken cancellationToken)
        {
            var pending = await database.ReadAsync(s => NoticeRepository.ListOutboxAsync(s, IntakeStates.Pending), cancellationToken);
            foreach (var row in pending)
            {
                var id = row.NoticeId;
                jobs.ScheduleAt<NoticeIntakeJob>(j => j.RunAsync(id, CancellationToken.None), row.NextAttemptAt ?? time.GetUtcNow());
            }

            return pending.Count;
        }
    }
}
