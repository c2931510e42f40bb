using System.ComponentModel.DataAnnotations;
using MailKit.Security;

namespace Messaging.Server.Features.Notices;

/// <summary>Mandates and attendance notices (section <c>Messaging:Notices</c>). Without <see cref="Smtp"/> the
/// "a notice is waiting" emails are written to <see cref="PickupDirectory"/> (the embedded default).</summary>
public sealed class NoticesOptions : IValidatableObject
{
    public const string Section = "Messaging:Notices";

    /// <summary>The From address of the content-free emails.</summary>
    [Required]
    [EmailAddress]
    public string NotificationMailbox { get; set; } = "notices@messaging.localhost";

    /// <summary>Where <c>.eml</c> files go when no SMTP relay is configured; default <c>&lt;DataDirectory&gt;/notices/pickup</c>.</summary>
    public string? PickupDirectory { get; set; }

    /// <summary>The SMTP relay; none means the pickup folder.</summary>
    public NoticeSmtpSettings? Smtp { get; set; }

    /// <summary>How long after an interview under mandate ends the host is reminded to record its outcome.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "7.00:00:00")]
    public TimeSpan OutcomeGracePeriod { get; set; } = TimeSpan.FromHours(2);

    /// <summary>The local time of day (Europe/Brussels) on the next working day at which an unrecorded outcome is
    /// escalated to the service's admins.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "23:59:00")]
    public TimeSpan EscalationTimeOfDay { get; set; } = TimeSpan.FromHours(17);

    /// <summary>How often the outcome chase looks for interviews under mandate that ended without an outcome (a
    /// sweep: it must divide a minute, an hour or a day).</summary>
    [Range(typeof(TimeSpan), "00:00:05", "1.00:00:00")]
    public TimeSpan OutcomeChaseInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long notices, finished intake deliveries, outcome chases and ended mandates are kept (sweep
    /// <c>notices.retention</c>, at the <c>Messaging:Retention:Interval</c>).</summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "3650.00:00:00")]
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(365);

    /// <summary>Deliveries to a Maison de justice's own system: one entry per Maison de justice (organisation id in D
    /// form) that asked for it, set by the operator.</summary>
    public IDictionary<string, IntakeEndpointSettings> Intakes { get; } = new Dictionary<string, IntakeEndpointSettings>(StringComparer.OrdinalIgnoreCase);

    /// <summary>One HTTP attempt's timeout: the longest a run of the delivery job holds a job worker (one attempt per
    /// run), so at most a minute.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan IntakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Attempts before a delivery is dead-lettered. Each attempt is its own job run, scheduled for after its
    /// backoff, so a large budget costs no worker time while it waits.</summary>
    [Range(1, 50)]
    public int IntakeMaxAttempts { get; set; } = 8;

    /// <summary>The first retry delay; each next one doubles, spread by ±25 % jitter, up to <see cref="IntakeMaxBackoff"/>.
    /// At least a second: with none, a failing intake would be sent its whole budget in one burst, and a blip of a few
    /// seconds would dead-letter the delivery.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan IntakeFirstBackoff { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The longest retry delay. Up to a day: a Maison de justice's system down over a weekend is waited for
    /// (the delivery waits in the database, not in a worker).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan IntakeMaxBackoff { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Tests only: accept this server certificate (SHA-256 thumbprint, hex) for intake endpoints.</summary>
    public string? IntakeTestCertificateThumbprint { get; set; }

    /// <summary>The intake of a Maison de justice, when configured.</summary>
    public IntakeEndpointSettings? IntakeOf(Guid justiceHouseId) => Intakes.TryGetValue(justiceHouseId.ToString("D"), out var intake) ? intake : null;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var (key, intake) in Intakes)
        {
            if (!Guid.TryParseExact(key, "D", out _) || !Uri.TryCreate(intake.Url, UriKind.Absolute, out var url) || url.Scheme != Uri.UriSchemeHttps
                || intake.Secret is not { Length: >= 32 })
            {
                yield return new ValidationResult("Each intake is keyed by a Maison de justice id and has an https URL and a secret of at least 32 characters.", [nameof(Intakes)]);
            }
        }

        if (Smtp is { } smtp && (string.IsNullOrWhiteSpace(smtp.Host) || smtp.Port is <= 0 or > 65535 || smtp.PoolSize is < 1 or > 64
            || (smtp.UserName is null) != (smtp.Password is null)))
        {
            yield return new ValidationResult("Smtp: host, port, pool size 1–64, and a user name with a password or neither.", [nameof(Smtp)]);
        }

        if (IntakeMaxBackoff < IntakeFirstBackoff)
        {
            yield return new ValidationResult("The intake's maximum backoff is at least its first backoff.", [nameof(IntakeMaxBackoff)]);
        }
    }
}

/// <summary>A Maison de justice's intake endpoint: where signed notices are POSTed, and the shared HMAC secret.</summary>
public sealed class IntakeEndpointSettings
{
    public string Url { get; set; } = string.Empty;

    public string? Secret { get; set; }

    /// <summary>Only the URL's host: the secret never reaches a log.</summary>
    public override string ToString() => Uri.TryCreate(Url, UriKind.Absolute, out var url) ? url.Host : "intake";
}

/// <summary>The SMTP relay of the notice emails.</summary>
public sealed class NoticeSmtpSettings
{
    public string Host { get; set; } = string.Empty;

    public int Port { get; set; } = 587;

    public SecureSocketOptions Security { get; set; } = SecureSocketOptions.StartTls;

    public string? UserName { get; set; }

    public string? Password { get; set; }

    public int PoolSize { get; set; } = 2;

    public override string ToString() => $"{Host}:{Port}";
}
