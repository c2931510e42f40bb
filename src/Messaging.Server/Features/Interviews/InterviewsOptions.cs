using System.ComponentModel.DataAnnotations;
using MailKit.Security;
using Messaging.Scheduling.Availability;

namespace Messaging.Server.Features.Interviews;

/// <summary>Tripartite interviews (section <c>Messaging:Interviews</c>). Without <see cref="Smtp"/> the invitations are
/// written to <see cref="PickupDirectory"/> (the embedded default); without <see cref="Imap"/> no mailbox is polled.</summary>
public sealed class InterviewsOptions : IValidatableObject
{
    public const string Section = "Messaging:Interviews";

    /// <summary>The ORGANIZER of every invitation and the mailbox replies go to (polled when <see cref="Imap"/> is set).</summary>
    [Required]
    [EmailAddress]
    public string SchedulingMailbox { get; set; } = "scheduling@messaging.localhost";

    /// <summary>Where <c>.eml</c> files go when no SMTP relay is configured; default <c>&lt;DataDirectory&gt;/interviews/pickup</c>.</summary>
    public string? PickupDirectory { get; set; }

    /// <summary>Reminder leads before the start (default the day before and one hour before).</summary>
    public IList<TimeSpan> ReminderLeads { get; } = [];

    /// <summary>Slot search defaults.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "30.00:00:00")]
    public TimeSpan MinimumNotice { get; set; } = TimeSpan.FromHours(24);

    [Range(typeof(TimeSpan), "1.00:00:00", "366.00:00:00")]
    public TimeSpan Horizon { get; set; } = TimeSpan.FromDays(90);

    /// <summary>How long an interview is kept after its start, whatever its state (sweep <c>interviews.retention</c>, at
    /// the <c>Messaging:Retention:Interval</c>).</summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "3650.00:00:00")]
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(365);

    /// <summary>How often the scheduling mailbox is polled (must divide a minute, an hour or a day).</summary>
    [Range(typeof(TimeSpan), "00:00:05", "1.00:00:00")]
    public TimeSpan ReplyPollInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>External feeds: timeout and size cap.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan FeedTimeout { get; set; } = TimeSpan.FromSeconds(5);

    [Range(1024, 64 * 1024 * 1024)]
    public int FeedMaxBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Tests only (refused at start-up outside the Testing environment): also accept this server certificate,
    /// by its SHA-256 thumbprint in hex, for feeds over HTTPS.</summary>
    public string? FeedTestCertificateThumbprint { get; set; }

    /// <summary>Tests only (refused at start-up outside the Testing environment): let feeds be fetched from loopback,
    /// private and link-local addresses, for a loopback HTTPS stand-in. Off, a feed whose host has no public address is
    /// never connected to: a feed URL is chosen by a worker, and the slot search must not be a probe of the server's
    /// network.</summary>
    public bool AllowPrivateFeedHosts { get; set; }

    /// <summary>The community of each service (organisation id in D form → community) for its public holiday; others use
    /// <see cref="DefaultCommunity"/> (the protocol's services are of the Fédération Wallonie-Bruxelles).</summary>
    public IDictionary<string, Community> ServiceCommunities { get; } = new Dictionary<string, Community>(StringComparer.OrdinalIgnoreCase);

    /// <summary>The community of <paramref name="organisationId"/>.</summary>
    public Community CommunityOf(Guid organisationId) => ServiceCommunities.TryGetValue(organisationId.ToString("D"), out var c) ? c : DefaultCommunity;

    public Community DefaultCommunity { get; set; } = Community.French;

    public SmtpSettings? Smtp { get; set; }

    public ImapSettings? Imap { get; set; }

    /// <summary>The reminder leads in effect (the default pair when none is configured).</summary>
    public IReadOnlyList<TimeSpan> EffectiveReminderLeads => ReminderLeads.Count > 0
        ? [.. ReminderLeads.Distinct().Order()]
        : [TimeSpan.FromDays(1), TimeSpan.FromHours(1)];

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (ReminderLeads.Any(l => l < TimeSpan.FromMinutes(1) || l > TimeSpan.FromDays(14) || l.Ticks % TimeSpan.TicksPerMinute != 0))
        {
            yield return new ValidationResult("Reminder leads are whole minutes from 1 minute to 14 days.", [nameof(ReminderLeads)]);
        }

        if (Smtp is { } smtp && (string.IsNullOrWhiteSpace(smtp.Host) || smtp.Port is <= 0 or > 65535 || smtp.PoolSize is < 1 or > 64
            || smtp.MaxAttempts is < 1 or > 20 || smtp.FirstBackoff < TimeSpan.Zero || (smtp.UserName is null) != (smtp.Password is null)))
        {
            yield return new ValidationResult("Smtp: host, port, pool size 1–64, attempts 1–20, and a user name with a password or neither.", [nameof(Smtp)]);
        }

        if (Imap is { } imap && (string.IsNullOrWhiteSpace(imap.Host) || imap.Port is <= 0 or > 65535 || string.IsNullOrWhiteSpace(imap.UserName)
            || imap.Password is null))
        {
            yield return new ValidationResult("Imap: host, port, user name and password are required.", [nameof(Imap)]);
        }

        if (Imap is { } retained && (retained.ProcessedRetention < TimeSpan.FromDays(1) || retained.RefusedRetention < TimeSpan.FromDays(1)
            || retained.ProcessedRetention > TimeSpan.FromDays(366) || retained.RefusedRetention > TimeSpan.FromDays(366)))
        {
            yield return new ValidationResult("Imap: ProcessedRetention and RefusedRetention are between 1 and 366 days.", [nameof(Imap)]);
        }
    }
}

/// <summary>The SMTP relay. The password is read from configuration and handed to the library as a redacting secret.</summary>
public sealed class SmtpSettings
{
    public string Host { get; set; } = string.Empty;

    public int Port { get; set; } = 587;

    public SecureSocketOptions Security { get; set; } = SecureSocketOptions.StartTls;

    public string? UserName { get; set; }

    public string? Password { get; set; }

    public int PoolSize { get; set; } = 4;

    public int MaxAttempts { get; set; } = 4;

    public TimeSpan FirstBackoff { get; set; } = TimeSpan.FromSeconds(1);

    public override string ToString() => $"{Host}:{Port}";
}

/// <summary>The scheduling mailbox over IMAP.</summary>
public sealed class ImapSettings
{
    public string Host { get; set; } = string.Empty;

    public int Port { get; set; } = 993;

    public SecureSocketOptions Security { get; set; } = SecureSocketOptions.SslOnConnect;

    public string UserName { get; set; } = string.Empty;

    public string? Password { get; set; }

    /// <summary>How long read replies stay in the mailbox's processed folder (then they are deleted).</summary>
    public TimeSpan ProcessedRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How long refused and failed messages stay in their folders, for an operator to look at.</summary>
    public TimeSpan RefusedRetention { get; set; } = TimeSpan.FromDays(30);

    public override string ToString() => $"{Host}:{Port}";
}
