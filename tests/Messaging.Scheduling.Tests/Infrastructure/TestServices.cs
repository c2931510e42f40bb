namespace Messaging.Scheduling.Tests.Infrastructure;

/// <summary>
/// The loopback SMTP (aiosmtpd) and IMAP (dovecot) servers that ops/scripts/deps.sh starts for ops/scripts/test.sh and
/// describes in MESSAGING_TEST_* variables. A test that needs them fails with a clear message when they are missing:
/// it never skips.
/// </summary>
internal static class TestServices
{
    public static int SmtpPort => int.Parse(Require("MESSAGING_TEST_SMTP_PORT"), System.Globalization.CultureInfo.InvariantCulture);

    public static string SmtpUser => Require("MESSAGING_TEST_SMTP_USER");

    public static string SmtpPassword => Require("MESSAGING_TEST_SMTP_PASSWORD");

    /// <summary>Where the SMTP server stores mail (mail/&lt;recipient&gt;/*.eml) and reads failure controls (control/).</summary>
    public static string SmtpDirectory => Require("MESSAGING_TEST_SMTP_DIR");

    public static int ImapPort => int.Parse(Require("MESSAGING_TEST_IMAP_PORT"), System.Globalization.CultureInfo.InvariantCulture);

    public static string ImapUser => Require("MESSAGING_TEST_IMAP_USER");

    public static string ImapPassword => Require("MESSAGING_TEST_IMAP_PASSWORD");

    /// <summary>The messages the SMTP server stored for <paramref name="recipient"/>.</summary>
    public static string[] Received(string recipient)
    {
        var folder = Path.Combine(SmtpDirectory, "mail", recipient.ToLowerInvariant());
        return Directory.Exists(folder) ? Directory.GetFiles(folder, "*.eml") : [];
    }

    /// <summary>Makes the next <paramref name="times"/> DATA commands for <paramref name="recipient"/> answer 451.</summary>
    public static void FailNext(string recipient, int times)
        => File.WriteAllText(Path.Combine(SmtpDirectory, "control", recipient.ToLowerInvariant() + ".fail"), times.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Makes every DATA for <paramref name="recipient"/> answer 550.</summary>
    public static void Reject(string recipient)
        => File.WriteAllText(Path.Combine(SmtpDirectory, "control", recipient.ToLowerInvariant() + ".reject"), string.Empty);

    private static string Require(string name)
    {
        var value = Environment.GetEnvironmentVariable(name);
        if (string.IsNullOrEmpty(value))
        {
            var hint = Environment.GetEnvironmentVariable("MESSAGING_TEST_SERVICES_STARTED") == "1"
                ? "ops/scripts/deps.sh started the services but did not set it: the script is broken."
                : "run the tests with `bash ops/scripts/test.sh` (it starts aiosmtpd and dovecot on loopback), or source ops/scripts/deps.sh and call deps_start first.";
            Assert.Fail($"{name} is not set: this test needs the loopback SMTP/IMAP test servers; {hint}");
        }

        return value!;
    }
}
