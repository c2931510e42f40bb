using Messaging.Server.Features.Jobs;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Features.Retention;

/// <summary>The sweep cadence's registration: the options, validated at start-up (the interval must map to a cron
/// schedule). Retention has no table, service or job of its own: each feature registers its own sweep with
/// <see cref="JobsFeature.AddSweep{TJob}"/> at <see cref="SweepInterval"/> (<c>EnvelopeExpiryJob</c>,
/// <c>AttachmentExpiryJob</c>, <c>ExpiredCredentialsJob</c>, <c>EnrolmentCodeCleanupJob</c>).</summary>
internal static class RetentionFeature
{
    public static IServiceCollection AddRetention(this IServiceCollection services)
    {
        services.AddOptions<RetentionOptions>().BindConfiguration(RetentionOptions.Section).ValidateDataAnnotations()
            .Validate(o => IsSchedulable(o.Interval), "Messaging:Retention:Interval divides a minute, an hour or a day evenly.")
            .ValidateOnStart();
        return services;
    }

    /// <summary>The sweep interval every feature's sweep runs at.</summary>
    public static TimeSpan SweepInterval(IServiceProvider services) => services.GetRequiredService<IOptions<RetentionOptions>>().Value.Interval;

    private static bool IsSchedulable(TimeSpan interval)
    {
        try
        {
            _ = JobsFeature.CronFor(interval);
            return true;
        }
        catch (OptionsValidationException)
        {
            return false;
        }
    }
}
