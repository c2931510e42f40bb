using Messaging.Server.Features.Envelopes;
using Messaging.Server.Features.Jobs;

namespace Messaging.Server.Features.Notices;

/// <summary>
/// Mandates and attendance notices (protocol 7.C): options validated at start-up, the mandate service, the notice gate
/// of the send path, the relay hook that records a relayed notice, the content-free email job and its re-derivation
/// after a restart. Mandates and notices are reached over the hub; there is no HTTP endpoint yet.
/// </summary>
internal static class NoticesFeature
{
    public static IServiceCollection AddNotices(this IServiceCollection services)
    {
        services.AddOptions<NoticesOptions>().BindConfiguration(NoticesOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<MandateService>();
        services.AddSingleton<NoticeMailer>();
        services.AddEnvelopeGate<NoticeEnvelopeGate>();
        services.AddEnvelopeAcceptedHook<NoticeRelay>();
        services.AddSingleton<NoticeEmailJob>();
        services.AddPendingJobs<NoticeEmailJob.Pending>();
        return services;
    }

    public static WebApplication MapNotices(this WebApplication app) => app;
}
