using MailKit.Security;

namespace Messaging.Scheduling.Delivery;

/// <summary>A secret that never prints itself (logs, exceptions, debugger displays).</summary>
public sealed class Secret
{
    private readonly string _value;

    public Secret(string value) => _value = value ?? throw new ArgumentNullException(nameof(value));

    public string Reveal() => _value;

    public override string ToString() => "[REDACTED]";
}

/// <summary>SMTP relay settings. Durations are <see cref="TimeSpan"/>s; the password is a <see cref="Secret"/>.</summary>
public sealed class SmtpOptions
{
    public string Host { get; set; } = "localhost";

    public int Port { get; set; } = 587;

    public SecureSocketOptions Security { get; set; } = SecureSocketOptions.StartTls;

    public string? UserName { get; set; }

    public Secret? Password { get; set; }

    /// <summary>Connections kept open and reused (an SmtpClient serves one send at a time).</summary>
    public int PoolSize { get; set; } = 4;

    /// <summary>A connection is closed and replaced after this many messages (relays limit messages per session).</summary>
    public int MessagesPerConnection { get; set; } = 100;

    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Attempts per message within one send call, with exponential backoff between them.</summary>
    public int MaxAttempts { get; set; } = 4;

    public TimeSpan FirstBackoff { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Checks the options (at start-up).</summary>
    /// <exception cref="ArgumentException">A value is out of range.</exception>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Host) || Port is <= 0 or > 65535 || PoolSize is < 1 or > 64 || MessagesPerConnection < 1
            || MaxAttempts is < 1 or > 20 || FirstBackoff < TimeSpan.Zero || Timeout <= TimeSpan.Zero || (UserName is null) != (Password is null))
        {
            throw new ArgumentException("Invalid SMTP options: host, port, pool size 1–64, attempts 1–20, and a user name with a password or neither.");
        }
    }
}
