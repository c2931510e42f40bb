using Messaging.Server.Features.Interviews;
using Messaging.Server.Features.Notices;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Hosting;

/// <summary>
/// Without an SMTP relay, interview and notice emails are written to a pickup folder under the data directory (the
/// embedded default) and their jobs report them sent, although nothing leaves the host. In Production that is a settings
/// gap, not a choice: at every start, one Warning per feature that falls back so. A feature whose
/// <c>PickupDirectory</c> is set chose its folder on purpose (a mail system collects it) and is not warned about.
/// </summary>
internal sealed partial class PickupMailWarning(IHostEnvironment environment, IOptions<InterviewsOptions> interviews,
    IOptions<NoticesOptions> notices, ILogger<PickupMailWarning> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (environment.IsProduction())
        {
            if (interviews.Value is { Smtp: null, PickupDirectory: null })
            {
                LogFallback(InterviewsOptions.Section);
            }

            if (notices.Value is { Smtp: null, PickupDirectory: null })
            {
                LogFallback(NoticesOptions.Section);
            }
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Section}:Smtp is not set: these emails are written to a pickup folder under the "
        + "data directory and reported sent, but none leaves this host. Set the SMTP relay (README, \"Running in production\").")]
    private partial void LogFallback(string section);
}
