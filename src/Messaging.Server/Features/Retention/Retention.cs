using System.ComponentModel.DataAnnotations;
using Messaging.Server.Features.Envelopes;
using Messaging.Server.Features.Jobs;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Features.Retention;

/// <summary>How often expired data is swept (section <c>Messaging:Retention</c>). What expires when is each feature's
/// own option (for example <see cref="EnvelopesOptions.Retention"/>); each feature registers its own sweep job.</summary>
public sealed class RetentionOptions
{
    public const string Section = "Messaging:Retention";

    /// <summary>How often every sweep runs; divides a minute, an hour or a day evenly (it becomes a cron schedule).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long used or expired enrolment codes are kept (their hashes only) before deletion.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "365.00:00:00")]
    public TimeSpan EnrolmentCodeRetention { get; set; } = TimeSpan.FromDays(7);
}

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
