using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Messaging.Server.Features.Scaleout;

/// <summary>Unready from the moment the host starts stopping (SIGTERM), so that the load balancer sends new connections
/// to the other instances while this one closes its own (clients reconnect, and get what is pending there).</summary>
internal sealed class StoppingHealthCheck(IHostApplicationLifetime lifetime) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        => Task.FromResult(lifetime.ApplicationStopping.IsCancellationRequested
            ? HealthCheckResult.Unhealthy("Shutting down.")
            : HealthCheckResult.Healthy());
}
