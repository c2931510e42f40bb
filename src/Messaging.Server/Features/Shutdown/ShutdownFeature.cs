using Microsoft.AspNetCore.SignalR;

namespace Messaging.Server.Features.Shutdown;

/// <summary>Graceful shutdown (<see cref="ShutdownDrain"/>). Register after the hub, so that its filter runs inside the
/// error filter.</summary>
internal static class ShutdownFeature
{
    public static IServiceCollection AddShutdownDrain(this IServiceCollection services)
    {
        services.AddOptions<ShutdownOptions>().BindConfiguration(ShutdownOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<DrainGate>();
        services.AddSingleton<DrainHubFilter>();
        services.AddHostedService<ShutdownDrain>();
        services.Configure<HubOptions>(hub => hub.AddFilter<DrainHubFilter>());
        return services;
    }
}
