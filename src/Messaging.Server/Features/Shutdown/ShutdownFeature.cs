using Messaging.Contracts;
using Messaging.Server.Errors;
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
        services.AddSingleton<ShutdownDrain>();
        services.AddHostedService(provider => provider.GetRequiredService<ShutdownDrain>());
        // Replaces the console lifetime (registered by the host builder before this): a stop signal drains first.
        services.AddSingleton<IHostLifetime, DrainFirstLifetime>();
        services.Configure<HubOptions>(hub => hub.AddFilter<DrainHubFilter>());
        return services;
    }

    /// <summary>Once the drain has begun, a new hub connection is refused before the upgrade — 503 <c>server.stopping</c>
    /// with <c>Retry-After</c> — rather than accepted and closed after its handshake: a client that just reconnected
    /// would take that for a working connection and send into it. Place before authentication.</summary>
    public static IApplicationBuilder UseShutdownDrain(this IApplicationBuilder app)
    {
        var gate = app.ApplicationServices.GetRequiredService<DrainGate>();
        var problemDetails = app.ApplicationServices.GetRequiredService<IProblemDetailsService>();
        return app.Use(next => async context =>
        {
            if (gate.Draining && context.Request.Path.StartsWithSegments(HubRoutes.Messaging, StringComparison.Ordinal))
            {
                context.Response.Headers.RetryAfter = "1";
                await new ProblemDetailsExceptionHandler(problemDetails).TryHandleAsync(context,
                    new ServerStoppingException("This server is shutting down; connect again (to another instance)."), context.RequestAborted);
                return;
            }

            await next(context);
        });
    }
}
