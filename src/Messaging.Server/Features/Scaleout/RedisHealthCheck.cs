using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Messaging.Server.Features.Scaleout;

/// <summary>Ready when Redis answers a PING within <see cref="ScaleoutOptions.ProbeTimeout"/>: without it this instance
/// neither hears the others' pushes and revocations nor reaches devices held by them, so a load balancer should send
/// new connections elsewhere. Healthy when scale-out is off (nothing to reach).</summary>
internal sealed class RedisHealthCheck(RedisLink link, IOptions<ScaleoutOptions> options) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!options.Value.Enabled)
        {
            return HealthCheckResult.Healthy("Scale-out is off.");
        }

        try
        {
            var redis = await link.ConnectAsync();
            if (!redis.IsConnected)
            {
                return HealthCheckResult.Unhealthy("Redis unavailable.");
            }

            await redis.GetDatabase().PingAsync().WaitAsync(options.Value.ProbeTimeout, cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            return HealthCheckResult.Unhealthy("Redis unavailable.");
        }
    }
}
