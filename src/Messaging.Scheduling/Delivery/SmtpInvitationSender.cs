using System.Net.Sockets;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Messaging.Scheduling.Invitations;
using Microsoft.Extensions.Logging;

namespace Messaging.Scheduling.Delivery;

/// <summary>
/// Sends invitations through an SMTP relay over pooled connections, exactly once per delivery id:
/// <list type="bullet">
/// <item>the delivery id is claimed in the ledger first: an id the server already accepted is not sent again (a job
/// retried after the end of DATA, a crash before the job recorded success), and of two attempts at once (two instances
/// running the same job) only one sends — the other gets a temporary failure and finds it sent when retried;</item>
/// <item>a temporary failure (4xx reply, refused or broken connection) is retried with exponential backoff, on a fresh
/// connection when the old one broke; a 4xx reply to DATA means the server did not take the message;</item>
/// <item>a permanent failure (5xx) is returned at once for the organiser to see.</item>
/// </list>
/// When a connection breaks after the message was handed over but before the server's reply arrived, the outcome is
/// unknown: the retry sends it again with the same Message-ID (mail clients drop the duplicate, and the calendar object
/// has the same UID and SEQUENCE), and the log says so. Logs carry the delivery id and reply code, never an address or
/// content.
/// </summary>
public sealed partial class SmtpInvitationSender : IInvitationSender
{
    /// <summary>Tries at recording a message the relay took, with the sends' backoff doubling between them (with the
    /// default 1 s first backoff, half a minute in all: well within the claim's lease).</summary>
    private const int RecordAttempts = 6;

    private readonly SmtpConnectionPool _pool;
    private readonly IDeliveryLedger _ledger;
    private readonly SmtpOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<SmtpInvitationSender> _logger;

    public SmtpInvitationSender(SmtpConnectionPool pool, IDeliveryLedger ledger, SmtpOptions options, TimeProvider time, ILogger<SmtpInvitationSender> logger)
    {
        _pool = pool ?? throw new ArgumentNullException(nameof(pool));
        _ledger = ledger ?? throw new ArgumentNullException(nameof(ledger));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
    }

    public async Task<DeliveryResult> SendAsync(OutgoingInvitation invitation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(invitation);
        var id = invitation.DeliveryId;
        DeliveryResult? last = null;
        for (var attempt = 1; attempt <= _options.MaxAttempts; attempt++)
        {
            if (attempt > 1)
            {
                await Task.Delay(Backoff(attempt - 1), _time, cancellationToken).ConfigureAwait(false);
            }

            last = await AttemptAsync(invitation, attempt, cancellationToken).ConfigureAwait(false);
            if (last.Status == DeliveryStatus.AlreadySent)
            {
                LogAlreadySent(id);
            }

            if (last.Status != DeliveryStatus.TemporaryFailure)
            {
                return last;
            }
        }

        LogGaveUp(id, _options.MaxAttempts, last?.ReplyCode);
        return last!;
    }

    private async Task<DeliveryResult> AttemptAsync(OutgoingInvitation invitation, int attempt, CancellationToken cancellationToken)
    {
        var id = invitation.DeliveryId;
        SmtpConnectionPool.Pooled pooled;
        try
        {
            pooled = await _pool.RentAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (AuthenticationException)
        {
            LogFailure(id, attempt, null, "authentication refused");
            return new DeliveryResult(id, DeliveryStatus.PermanentFailure, null, "The SMTP relay refused the credentials.");
        }
        catch (Exception e) when (IsConnectionFailure(e))
        {
            LogFailure(id, attempt, null, "relay unreachable");
            return new DeliveryResult(id, DeliveryStatus.TemporaryFailure, null, "The SMTP relay cannot be reached.");
        }
        catch (SmtpCommandException e)
        {
            return Refused(id, attempt, e);
        }

        var healthy = false;
        DeliveryClaim? claim = null;
        try
        {
            healthy = true;
            claim = await _ledger.ClaimAsync(id, cancellationToken).ConfigureAwait(false);
            switch (claim.Status)
            {
                case DeliveryClaimStatus.AlreadySent:
                    return new DeliveryResult(id, DeliveryStatus.AlreadySent);
                case DeliveryClaimStatus.HeldElsewhere:
                    LogFailure(id, attempt, null, "another attempt is sending it");
                    return new DeliveryResult(id, DeliveryStatus.TemporaryFailure, null, "Another attempt is sending this message.");
                case DeliveryClaimStatus.Claimed when claim.EarlierOutcomeUnknown:
                    LogUncertainResend(id);
                    break;
            }

            healthy = false;
            await pooled.Client.SendAsync(invitation.Message, cancellationToken).ConfigureAwait(false);
            healthy = true;
            await RecordSentAsync(claim).ConfigureAwait(false);
            claim = null;
            pooled.Sent++;
            return new DeliveryResult(id, DeliveryStatus.Sent);
        }
        catch (SmtpCommandException e)
        {
            // The server answered: the connection is still usable, the message was not taken.
            healthy = true;
            await ReleaseAsync(claim, outcomeUnknown: false).ConfigureAwait(false);
            claim = null;
            return Refused(id, attempt, e);
        }
        catch (Exception e) when (IsConnectionFailure(e))
        {
            LogFailure(id, attempt, null, "connection broke");
            await ReleaseAsync(claim, outcomeUnknown: true).ConfigureAwait(false);
            claim = null;
            return new DeliveryResult(id, DeliveryStatus.TemporaryFailure, null, "The connection to the SMTP relay broke.");
        }
        catch (OperationCanceledException) when (claim is { Status: DeliveryClaimStatus.Claimed })
        {
            // Stopped mid-send (the host shutting down): given back at once, so that the job run again after the restart
            // need not wait for the lease; whether the server took the message is unknown.
            await ReleaseAsync(claim, outcomeUnknown: true).ConfigureAwait(false);
            throw;
        }
        finally
        {
            // Anything else (a crash, the ledger unreachable after the hand-over): the claim lapses after its lease.
            await _pool.ReturnAsync(pooled, healthy).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Records that the relay took the message. Past this point a lost record means a second send once the claim's lease
    /// lapses, so the write is tried again on its own (a database restarting, a failover) with the sends' backoff, and
    /// is not cancelled: the message is out. Only when every try fails does the claim lapse, and the next attempt sends
    /// again as an uncertain resend, logged as such (outside review 2026-11-29, scheduling finding 11).
    /// </summary>
    private async Task RecordSentAsync(DeliveryClaim claim)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await _ledger.RecordSentAsync(claim, CancellationToken.None).ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (attempt < RecordAttempts)
            {
                LogRecordRetried(claim.DeliveryId, attempt, e.GetType().Name);
                await Task.Delay(Backoff(attempt), _time, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The wait after <paramref name="failures"/> failed tries: the first backoff, doubled for each failure after
    /// the first.</summary>
    private TimeSpan Backoff(int failures) => _options.FirstBackoff * Math.Pow(2, failures - 1);

    private async Task ReleaseAsync(DeliveryClaim? claim, bool outcomeUnknown)
    {
        if (claim is { Status: DeliveryClaimStatus.Claimed })
        {
            await _ledger.ReleaseAsync(claim, outcomeUnknown, CancellationToken.None).ConfigureAwait(false);
        }
    }

    private DeliveryResult Refused(string id, int attempt, SmtpCommandException e)
    {
        var code = (int)e.StatusCode;
        LogFailure(id, attempt, code, e.ErrorCode.ToString());
        return code >= 500
            ? new DeliveryResult(id, DeliveryStatus.PermanentFailure, code, $"The SMTP relay refused the message ({code}).")
            : new DeliveryResult(id, DeliveryStatus.TemporaryFailure, code, $"The SMTP relay deferred the message ({code}).");
    }

    private static bool IsConnectionFailure(Exception e)
        => e is IOException or SocketException or SmtpProtocolException or ServiceNotConnectedException or TimeoutException;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivery {DeliveryId} was sent, but recording it failed ({ExceptionType}, try {Attempt}): trying again")]
    private partial void LogRecordRetried(string deliveryId, int attempt, string exceptionType);

    [LoggerMessage(Level = LogLevel.Information, Message = "Delivery {DeliveryId} already sent: not sent again")]
    private partial void LogAlreadySent(string deliveryId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivery {DeliveryId} attempt {Attempt} failed ({ReplyCode}): {Reason}")]
    private partial void LogFailure(string deliveryId, int attempt, int? replyCode, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Delivery {DeliveryId} gave up after {Attempts} attempts ({ReplyCode})")]
    private partial void LogGaveUp(string deliveryId, int attempts, int? replyCode);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivery {DeliveryId}: an earlier attempt's outcome is unknown; sending again with the same Message-ID")]
    private partial void LogUncertainResend(string deliveryId);
}
