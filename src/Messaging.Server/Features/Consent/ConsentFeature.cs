namespace Messaging.Server.Features.Consent;

/// <summary>Recorded consents' registration: options validated at start-up and the service (consents are recorded and revoked over the hub).</summary>
internal static class ConsentFeature
{
    public static IServiceCollection AddConsent(this IServiceCollection services)
    {
        services.AddOptions<ConsentOptions>().BindConfiguration(ConsentOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<ConsentService>();
        return services;
    }
}
