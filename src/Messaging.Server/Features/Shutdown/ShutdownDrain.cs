using Messaging.Contracts;
using Messaging.Server.Errors;
using Messaging.Server.Hubs;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Features.Shutdown;

/// <summary>
/// The hub calls running on this instance, and whether it is draining. A call is counted before the drain flag is read
/// and the drain sets the flag before it reads the count (both with full fences), so a call either sees the drain and is
/// refused, or is counted and waited for: none slips through after the drain saw the count at zero.
/// </summary>
internal sealed class DrainGate
{
    private readonly TaskCompletionSource _idle = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _running;
    private int _draining;

    public bool Draining => Volatile.Read(ref _draining) == 1;

    /// <summary>Counts a call in; false (and not counted) when the drain has started and the call is not
    /// <paramref name="allowedWhileDraining"/>.</summary>
    public bool TryEnter(bool allowedWhileDraining)
    {
        Interlocked.Increment(ref _running);
        if (allowedWhileDraining || !Draining)
        {
            return true;
        }

        Exit();
        return false;
    }

    public void Exit()
    {
        if (Interlocked.Decrement(ref _running) == 0 && Draining)
        {
            _idle.TrySetResult();
        }
    }

    /// <summary>Starts the drain; the task completes when no counted call is running.</summary>
    public Task BeginAsync()
    {
        Interlocked.Exchange(ref _draining, 1);
        if (Interlocked.CompareExchange(ref _running, 0, 0) == 0)
        {
            _idle.TrySetResult();
        }

        return _idle.Task;
    }
}

/// <summary>Refuses, once the drain has started, every new hub call but acknowledgements (which only delete delivered
/// copies, and spare the device a second delivery) with <c>server.stopping</c>, and every new hub connection (closed at
/// once: the client retries, and the load balancer, seeing readiness fail, sends it elsewhere). Added after
/// <see cref="HubErrorFilter"/>, so that the refusal is mapped, logged and counted like any other.</summary>
internal sealed class DrainHubFilter(DrainGate gate) : IHubFilter
{
    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        if (!gate.TryEnter(allowedWhileDraining: invocationContext.HubMethodName == nameof(IMessagingHub.AcknowledgeEnvelopes)))
        {
            throw new ServerStoppingException("This server is shutting down; reconnect and send again.");
        }

        try
        {
            return await next(invocationContext);
        }
        finally
        {
            gate.Exit();
        }
    }

    public Task OnConnectedAsync(HubLifetimeContext context, Func<HubLifetimeContext, Task> next)
    {
        if (gate.Draining)
        {
            context.Context.Abort();
            return Task.CompletedTask;
        }

        return next(context);
    }
}

/// <summary>
/// The drain, run when the process is told to stop (SIGTERM, by <see cref="DrainFirstLifetime"/>) and before anything
/// else stops — before <c>ApplicationStopping</c>, on which SignalR closes every connection at once — or, when the host
/// is stopped directly (in-process hosts), as the first stopping step: readiness turns unready, new hub calls are refused
/// with <c>server.stopping</c>, the running ones (a send that was accepted commits and gets its answer) are waited for up
/// to <see cref="ShutdownOptions.DrainTimeout"/>, then after <see cref="ShutdownOptions.CloseDelay"/> every hub connection
/// on this instance is closed. Closing is what tells the clients to reconnect: the SDK's automatic reconnection takes
/// them to another instance, which pushes what is pending, and sends again what was refused. Runs once, whoever starts it.
/// The waits are real elapsed time (not the injected clock): they bound a process stop, not a business deadline.
/// </summary>
internal sealed partial class ShutdownDrain(DrainGate gate, ConnectionRegistry registry, IOptions<ShutdownOptions> options, ILogger<ShutdownDrain> logger)
    : IHostedLifecycleService
{
    private readonly Lock _gate = new();
    private Task? _drain;

    /// <summary>Starts the drain (once) and returns its completion.</summary>
    public Task DrainAsync()
    {
        lock (_gate)
        {
            return _drain ??= RunAsync();
        }
    }

    public Task StoppingAsync(CancellationToken cancellationToken) => DrainAsync();

    private async Task RunAsync()
    {
        var settings = options.Value;
        var idle = gate.BeginAsync();
        if (!idle.IsCompleted)
        {
            try
            {
                await idle.WaitAsync(settings.DrainTimeout);
            }
            catch (TimeoutException)
            {
                LogDrainTimedOut(logger, settings.DrainTimeout);
            }
        }

        if (registry.Snapshot().Count == 0)
        {
            return;
        }

        await Task.Delay(settings.CloseDelay);
        var closed = registry.AbortEverything();
        LogClosed(logger, closed);
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shutdown drain: hub calls still running after {Timeout}; closing the connections anyway")]
    private static partial void LogDrainTimedOut(ILogger logger, TimeSpan timeout);

    [LoggerMessage(Level = LogLevel.Information, Message = "Shutdown drain: {Count} hub connections closed; their clients reconnect elsewhere")]
    private static partial void LogClosed(ILogger logger, int count);
}
