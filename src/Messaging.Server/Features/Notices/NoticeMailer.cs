using Messaging.Scheduling.Delivery;
using Messaging.Scheduling.Invitations;
using Messaging.Server.Persistence;
using Microsoft.Extensions.Options;
using MimeKit;

namespace Messaging.Server.Features.Notices;

/// <summary>
/// The feature's content-free emails ("a notice is waiting", "record the outcome", "an outcome is overdue"): a fixed
/// subject and a fixed text, never a case reference, a name or a kind. Sent through the scheduling library's exactly-once
/// senders: the SMTP pool with its delivery ledger (in the database) when <see cref="NoticesOptions.Smtp"/> is set, else the pickup folder.
/// </summary>
internal sealed class NoticeMailer : IAsyncDisposable
{
    private readonly Lazy<(IInvitationSender Sender, SmtpConnectionPool? Pool)> _sender;
    private readonly NoticesOptions _options;

    public NoticeMailer(IOptions<NoticesOptions> options, IOptions<StorageOptions> storage, IDatabase database, TimeProvider time, ILoggerFactory loggers)
    {
        _options = options.Value;
        var root = Path.Combine(storage.Value.DataDirectory, "notices");
        _sender = new(() =>
        {
            if (_options.Smtp is not { } smtp)
            {
                return (new PickupFolderSender(_options.PickupDirectory ?? Path.Combine(root, "pickup")), null);
            }

            var settings = new SmtpOptions
            {
                Host = smtp.Host,
                Port = smtp.Port,
                Security = smtp.Security,
                UserName = smtp.UserName,
                Password = smtp.Password is null ? null : new Secret(smtp.Password),
                PoolSize = smtp.PoolSize,
            };
            var pool = new SmtpConnectionPool(settings);
            // In the database: every instance of a scaled-out deployment sees the same claims.
            return (new SmtpInvitationSender(pool, new DatabaseDeliveryLedger(database, time), settings, time, loggers.CreateLogger<SmtpInvitationSender>()), pool);
        });
    }

    /// <summary>The texts, fixed: nothing of a case ever reaches an email.</summary>
    public static (string Subject, string Body) Text(NoticeEmail email) => email switch
    {
        NoticeEmail.NoticeWaiting => ("A notice is waiting", "A notice is waiting for you in Messaging. Open your Messaging client to read it."),
        NoticeEmail.RecordOutcome => ("An interview outcome is to be recorded",
            "An interview you hosted under a judicial mandate has ended and its outcome is not recorded yet. Open your Messaging client to record it."),
        NoticeEmail.OutcomeOverdue => ("An interview outcome is overdue",
            "The outcome of an interview under a judicial mandate in your service was not recorded by its deadline. Open your Messaging client for details."),
        _ => throw new ArgumentOutOfRangeException(nameof(email)),
    };

    /// <summary>Sends one email at most once per <paramref name="deliveryId"/> (lower-case hex).</summary>
    public Task<DeliveryResult> SendAsync(string deliveryId, string recipient, NoticeEmail email, CancellationToken cancellationToken)
    {
        var (subject, body) = Text(email);
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(_options.NotificationMailbox));
        message.To.Add(MailboxAddress.Parse(recipient));
        message.Subject = subject;
        message.MessageId = $"{deliveryId}@{message.From.Mailboxes.First().Domain}";
        message.Body = new TextPart("plain") { Text = body };
        return _sender.Value.Sender.SendAsync(new OutgoingInvitation(deliveryId, recipient, message), cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_sender.IsValueCreated && _sender.Value.Pool is { } pool)
        {
            await pool.DisposeAsync();
        }
    }
}

/// <summary>The feature's emails.</summary>
internal enum NoticeEmail
{
    NoticeWaiting = 1,
    RecordOutcome = 2,
    OutcomeOverdue = 3,
}
