using System.ComponentModel.DataAnnotations;
using Messaging.Server.Features.Authentication;
using Messaging.Server.Features.Envelopes;
using Messaging.Server.Persistence;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Features.Retention;

/// <summary>How often expired data is purged (section <c>Messaging:Retention</c>). What expires when is each feature's
/// own option (for example <see cref="EnvelopesOptions.Retention"/>).</summary>
public sealed class RetentionOptions
{
    public const string Section = "Messaging:Retention";

    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long used or expired enrolment codes are kept (their hashes only) before deletion.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "365.00:00:00")]
    public TimeSpan EnrolmentCodeRetention { get; set; } = TimeSpan.FromDays(7);
}

/// <summary>One kind of expired data to purge. Reentrant and idempotent, so that a job scheduler (Hangfire) can run the
/// same tasks later.</summary>
internal interface IPurgeTask
{
    string Name { get; }

    Task<int> PurgeAsync(DateTimeOffset now, CancellationToken cancellationToken);
}

internal sealed class ExpiredEnvelopesPurge(IDatabase database) : IPurgeTask
{
    public string Name => "envelopes";

    public Task<int> PurgeAsync(DateTimeOffset now, CancellationToken cancellationToken)
        => database.WriteAsync(s => EnvelopeRepository.PurgeExpiredAsync(s, now), cancellationToken);
}

internal sealed class ExpiredCredentialsPurge(IDatabase database, IOptions<RetentionOptions> options) : IPurgeTask
{
    public string Name => "credentials";

    public Task<int> PurgeAsync(DateTimeOffset now, CancellationToken cancellationToken) => database.WriteAsync(async s =>
    {
        var removed = await AuthRepository.PurgeExpiredAsync(s, now);
        var codesBefore = now - options.Value.EnrolmentCodeRetention;
        removed += await s.ExecuteAsync(
            "DELETE FROM enrolment_codes WHERE expires_at <= @before OR (used_at IS NOT NULL AND used_at <= @before);", ("@before", codesBefore));
        return removed;
    }, cancellationToken);
}

/// <summary>Runs every <see cref="IPurgeTask"/> each <see cref="RetentionOptions.Interval"/> on the injected clock.</summary>
internal sealed partial class RetentionService(
    IEnumerable<IPurgeTask> tasks,
    TimeProvider time,
    IOptions<RetentionOptions> options,
    ILogger<RetentionService> logger) : BackgroundService
{
    /// <summary>Runs every task once; used by the timer and by tests.</summary>
    public async Task<int> PurgeOnceAsync(CancellationToken cancellationToken)
    {
        var total = 0;
        var now = time.GetUtcNow();
        foreach (var task in tasks)
        {
            var removed = await task.PurgeAsync(now, cancellationToken);
            if (removed > 0)
            {
                LogPurged(logger, task.Name, removed);
            }

            total += removed;
        }

        return total;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.Interval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await PurgeOnceAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogFailed(logger, ex);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Purged {Count} expired {Task} rows")]
    private static partial void LogPurged(ILogger logger, string task, int count);

    [LoggerMessage(Level = LogLevel.Error, Message = "Retention purge failed; retrying at the next interval")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}

internal static class RetentionFeature
{
    public static IServiceCollection AddRetention(this IServiceCollection services)
    {
        services.AddOptions<RetentionOptions>().BindConfiguration(RetentionOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IPurgeTask, ExpiredEnvelopesPurge>();
        services.AddSingleton<IPurgeTask, ExpiredCredentialsPurge>();
        services.AddSingleton<RetentionService>();
        services.AddHostedService(sp => sp.GetRequiredService<RetentionService>());
        return services;
    }
}
