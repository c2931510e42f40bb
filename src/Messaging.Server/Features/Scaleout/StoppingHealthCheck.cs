using Messaging.Server.Features.Shutdown;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Messaging.Server.Features.Scaleout;

/// <summary>Unready from the moment the drain begins (SIGTERM) or the host starts stopping, so that the load balancer
/// sends new connections to the other instances while this one closes its own (clients reconnect, and get what is
/// pending there).</summary>
internal sealed class StoppingHealthCheck(IHostApplicationLifetime lifetime, DrainGate drain) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        => Task.FromResult(drain.Draining || lifetime.ApplicationStopping.IsCancellationRequested
            ? HealthCheckResult.Unhealthy("Shutting down.")
            : HealthCheckResult.Healthy());
}
