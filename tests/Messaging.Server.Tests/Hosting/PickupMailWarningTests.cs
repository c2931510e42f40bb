using Messaging.Server.Features.Interviews;
using Messaging.Server.Features.Notices;
using Messaging.Server.Hosting;
using Messaging.Server.Tests.Infrastructure;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Tests;

/// <summary>Without SMTP, interview and notice emails go to a pickup folder and are reported sent: in Production the
/// server says so at every start, once per feature left so; a deliberate pickup folder and other environments are quiet.</summary>
public sealed class PickupMailWarningTests
{
    public static TheoryData<string, bool, bool, string[]> Cases() => new()
    {
        { Environments.Production, false, false, [InterviewsOptions.Section, NoticesOptions.Section] },
        { Environments.Production, true, false, [NoticesOptions.Section] },
        { Environments.Production, false, true, [InterviewsOptions.Section] },
        { Environments.Production, true, true, [] },
        { Environments.Development, false, false, [] },
        { "Testing", false, false, [] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task AtStart_InProduction_EachFeatureWithoutSmtp_IsNamedInAWarning(string environment, bool interviewsSmtp, bool noticesSmtp, string[] warned)
    {
        var interviews = new InterviewsOptions { Smtp = interviewsSmtp ? new SmtpSettings { Host = "relay.example" } : null };
        var notices = new NoticesOptions { Smtp = noticesSmtp ? new NoticeSmtpSettings { Host = "relay.example" } : null };

        var lines = await StartAsync(environment, interviews, notices);

        Assert.Equal(warned.Length, lines.Count);
        Assert.All(lines, l => Assert.StartsWith("Warning", l, StringComparison.Ordinal));
        foreach (var section in warned)
        {
            Assert.Single(lines, l => l.Contains(section + ":Smtp is not set", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task AFeatureWhosePickupFolderIsSetOnPurpose_IsNotWarnedAbout()
    {
        var lines = await StartAsync(Environments.Production, new InterviewsOptions { PickupDirectory = "/srv/mail/pickup" },
            new NoticesOptions { PickupDirectory = "/srv/mail/pickup" });

        Assert.Empty(lines);
    }

    private static async Task<IReadOnlyList<string>> StartAsync(string environment, InterviewsOptions interviews, NoticesOptions notices)
    {
        var sink = new LogSink();
        using var loggers = LoggerFactory.Create(logging => logging.SetMinimumLevel(LogLevel.Trace).AddProvider(sink));
        var warning = new PickupMailWarning(new HostingEnvironment { EnvironmentName = environment }, Options.Create(interviews), Options.Create(notices),
            loggers.CreateLogger<PickupMailWarning>());

        await warning.StartAsync(CancellationToken.None);
        await warning.StopAsync(CancellationToken.None);
        return [.. sink.Lines];
    }
}
