using System.Runtime.InteropServices;

namespace Messaging.Server.Features.Shutdown;

/// <summary>
/// The host's lifetime in place of the console lifetime: on SIGTERM (as systemd and orchestrators stop a service),
/// SIGINT or SIGQUIT it runs the <see cref="ShutdownDrain"/> first and only then stops the application. The console
/// lifetime stops the application at once, and on <c>ApplicationStopping</c> SignalR closes every connection: the drain
/// found no connection left to drain, sends in flight broke with the connection instead of finishing or being refused
/// with <c>server.stopping</c>, and clients could not tell whether they had been stored. A second signal during the drain
/// changes nothing; the host's own stop (<c>HostOptions.ShutdownTimeout</c>) still bounds what follows.
/// </summary>
internal sealed partial class DrainFirstLifetime(ShutdownDrain drain, IHostApplicationLifetime lifetime, ILogger<DrainFirstLifetime> logger)
    : IHostLifetime, IDisposable
{
    private readonly List<PosixSignalRegistration> _signals = [];
    private int _signalled;

    public Task WaitForStartAsync(CancellationToken cancellationToken)
    {
        foreach (var signal in new[] { PosixSignal.SIGTERM, PosixSignal.SIGINT, PosixSignal.SIGQUIT })
        {
            _signals.Add(PosixSignalRegistration.Create(signal, OnSignal));
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose()
    {
        foreach (var registration in _signals)
        {
            registration.Dispose();
        }
    }

    private void OnSignal(PosixSignalContext context)
    {
        // Not the default action (ending the process): the host stops itself, drain first.
        context.Cancel = true;
        if (Interlocked.Exchange(ref _signalled, 1) == 0)
        {
            LogStopping(logger, context.Signal);
            _ = StopAfterDrainAsync();
        }
    }

    private async Task StopAfterDrainAsync()
    {
        try
        {
            await drain.DrainAsync();
        }
        finally
        {
            lifetime.StopApplication();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Signal} received: draining hub calls, then stopping")]
    private static partial void LogStopping(ILogger logger, PosixSignal signal);
}
