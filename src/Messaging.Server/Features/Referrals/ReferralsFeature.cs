using Messaging.Server.Features.Envelopes;
using Messaging.Server.Features.Jobs;

namespace Messaging.Server.Features.Referrals;

/// <summary>Referrals' registration: options validated at start-up, the service (referrals are opened and answered over
/// the hub), their envelope gate (<see cref="ReferralEnvelopeGate"/>) and the expiry deadline job with its start-up
/// re-derivation (<see cref="ReferralExpiryJob"/>).</summary>
internal static class ReferralsFeature
{
    public static IServiceCollection AddReferrals(this IServiceCollection services)
    {
        services.AddOptions<ReferralsOptions>().BindConfiguration(ReferralsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<ReferralService>();
        services.AddEnvelopeGate<ReferralEnvelopeGate>();
        services.AddSingleton<ReferralExpiryJob>();
        services.AddPendingJobs<ReferralExpiryJob.Pending>();
        return services;
    }
}
