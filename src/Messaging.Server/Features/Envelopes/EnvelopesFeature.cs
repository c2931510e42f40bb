using Messaging.Server.Features.Jobs;
using Messaging.Server.Features.Retention;

namespace Messaging.Server.Features.Envelopes;

/// <summary>Envelopes' registration: options validated at start-up, the service (envelopes are sent, delivered and
/// acknowledged over the hub), the expiry sweep (<see cref="EnvelopeExpiryJob"/>), the tables' upkeep on PostgreSQL
/// (<see cref="EnvelopeTableUpkeep"/>), and the hook other features use to add
/// their send rules (<see cref="AddEnvelopeGate{TGate}"/>).</summary>
internal static class EnvelopesFeature
{
    public static IServiceCollection AddEnvelopes(this IServiceCollection services)
    {
        services.AddOptions<EnvelopesOptions>().BindConfiguration(EnvelopesOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<EnvelopeService>();
        services.AddSweep<EnvelopeExpiryJob>(EnvelopeExpiryJob.Id, RetentionFeature.SweepInterval);
        services.AddHostedService<EnvelopeTableUpkeep>();
        return services;
    }

    /// <summary>Adds a send rule; called by the feature that owns the envelope kinds the gate checks.</summary>
    public static IServiceCollection AddEnvelopeGate<TGate>(this IServiceCollection services)
        where TGate : class, IEnvelopeGate
    {
        services.AddSingleton<IEnvelopeGate, TGate>();
        return services;
    }

    /// <summary>Adds work done when an envelope is accepted; called by the feature that owns the envelope kinds.</summary>
    public static IServiceCollection AddEnvelopeAcceptedHook<THook>(this IServiceCollection services)
        where THook : class, IEnvelopeAcceptedHook
    {
        services.AddSingleton<IEnvelopeAcceptedHook, THook>();
        return services;
    }
}
