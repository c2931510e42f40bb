using Messaging.Server.Features.Devices;
using Messaging.Server.Features.Health;
using Messaging.Server.Hubs;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.StackExchangeRedis;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Features.Scaleout;

internal static class ScaleoutFeature
{
    /// <summary>Registers the backplane choice (after the hub's registrations): the Redis hub lifetime manager when
    /// <see cref="ScaleoutOptions.Redis"/> is set, SignalR's in-process one otherwise.</summary>
    public static IServiceCollection AddScaleout(this IServiceCollection services)
    {
        services.AddOptions<ScaleoutOptions>().BindConfiguration(ScaleoutOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<RedisLink>();
        services.AddSingleton<ScaleoutChannels>();
        services.AddHostedService(sp => sp.GetRequiredService<ScaleoutChannels>());
        services.AddSingleton<HubDeviceSignals>();
        services.Replace(ServiceDescriptor.Singleton<IDeviceSignals, ScaleoutDeviceSignals>());

        // The channel prefix and the fail-fast policy are set on the connection RedisLink makes (shared with the channels).
        services.AddOptions<RedisOptions>().Configure<RedisLink>((redis, link) => redis.ConnectionFactory = async _ => await link.ConnectAsync());
        // A closed registration wins over AddSignalR's open one: the choice is made once, from configuration, at start.
        services.AddSingleton<HubLifetimeManager<MessagingHub>>(sp => sp.GetRequiredService<IOptions<ScaleoutOptions>>().Value.Enabled
            ? ActivatorUtilities.CreateInstance<RedisHubLifetimeManager<MessagingHub>>(sp)
            : ActivatorUtilities.CreateInstance<DefaultHubLifetimeManager<MessagingHub>>(sp));
        services.AddHealthChecks()
            .AddCheck<RedisHealthCheck>("redis", tags: [HealthFeature.ReadyTag])
            .AddCheck<StoppingHealthCheck>("stopping", tags: [HealthFeature.ReadyTag]);
        return services;
    }
}
