using Hangfire;
using Messaging.Server.Features.Envelopes;
using Messaging.Server.Features.Jobs;
using Messaging.Server.Features.Retention;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Features.Interviews;

/// <summary>Tripartite interviews (issue 13): options, services, the invitation envelope gate, the email and reminder
/// jobs (re-derived at start-up), and the scheduling mailbox poll. Hub-only: no HTTP endpoints.</summary>
internal static class InterviewsFeature
{
    public static IServiceCollection AddInterviews(this IServiceCollection services)
    {
        services.AddOptions<InterviewsOptions>().BindConfiguration(InterviewsOptions.Section).ValidateDataAnnotations()
            .Validate<IHostEnvironment>((o, environment) => string.IsNullOrEmpty(o.FeedTestCertificateThumbprint) || environment.IsEnvironment("Testing"),
                "FeedTestCertificateThumbprint is for tests only (the Testing environment): production feeds are checked against the system's trust store.")
            .Validate<IHostEnvironment>((o, environment) => !o.AllowPrivateFeedHosts || environment.IsEnvironment("Testing"),
                "AllowPrivateFeedHosts is for tests only (the Testing environment): production feeds are fetched from public addresses only.")
            .ValidateOnStart();
        services.AddSingleton<InterviewUidKey>();
        services.AddSingleton<InterviewMailer>();
        services.AddSingleton<InterviewFeeds>();
        services.AddSingleton<InterviewService>();
        services.AddSingleton<InterviewAvailabilityService>();
        services.AddSingleton<InterviewQueries>();
        services.AddEnvelopeGate<InterviewEnvelopeGate>();
        services.AddSingleton<InterviewMailJob>();
        services.AddSingleton<InterviewReminderJob>();
        services.AddPendingJobs<InterviewMailJob.Pending>();
        services.AddPendingJobs<InterviewReminderJob.Pending>();
        services.AddSweep<InterviewRetentionJob>(InterviewRetentionJob.Id, RetentionFeature.SweepInterval);
        services.AddSingleton<InterviewReplyPollJob>();
        services.AddHostedService<InterviewReplyPollRegistration>();
        return services;
    }
}

/// <summary>At start-up: the reply poll becomes a recurring job when a scheduling mailbox is configured, and nothing
/// otherwise (the in-memory storage starts empty; a persistent one loses the job once the mailbox is removed).</summary>
internal sealed class InterviewReplyPollRegistration(IRecurringJobManager recurring, IOptions<InterviewsOptions> options) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.Imap is null)
        {
            recurring.RemoveIfExists(InterviewReplyPollJob.Id);
        }
        else
        {
            recurring.AddOrUpdate<InterviewReplyPollJob>(InterviewReplyPollJob.Id, job => job.RunAsync(CancellationToken.None),
                JobsFeature.CronFor(options.Value.ReplyPollInterval), new RecurringJobOptions { TimeZone = TimeZoneInfo.Utc });
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
