using System.Globalization;
using Hangfire;
using Hangfire.AspNetCore;
using Hangfire.InMemory;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;
using Messaging.Server.Persistence;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Features.Jobs;

/// <summary>
/// The one job runner: Hangfire with its in-memory storage (the embedded default), or on PostgreSQL
/// (Hangfire.PostgreSql, schema <c>hangfire</c> of the messaging database) when storage is PostgreSQL: there several
/// instances share one queue, a job is fetched by one worker of one instance, and a recurring sweep is fired once per
/// occurrence across them (the storage's distributed locks). Features register their own jobs —
/// <see cref="AddSweep{TJob}"/> for recurring sweeps, <see cref="AddPendingJobs{TSource}"/> for the deadlines a restart
/// must re-derive — and schedule one-off deadlines through <see cref="JobScheduler"/>. The Hangfire dashboard is not
/// served.
/// </summary>
internal static class JobsFeature
{
    /// <summary>Registers the runner. Call after <c>AddPersistence</c>: the start-up work reads migrated tables.</summary>
    public static IServiceCollection AddJobs(this IServiceCollection services)
    {
        services.AddOptions<JobsOptions>().BindConfiguration(JobsOptions.Section).ValidateDataAnnotations().ValidateOnStart();

        // One storage and one activator per host, registered before AddHangfire so that its fallbacks to the process-wide
        // JobStorage.Current and JobActivator.Current never apply: two hosts in one process (the tests) stay apart.
        services.AddSingleton<JobStorage>(sp =>
        {
            var storage = sp.GetRequiredService<IOptions<StorageOptions>>().Value;
            return storage.Provider == StorageProvider.Postgres
                ? new PostgreSqlStorage(
                    new NpgsqlConnectionFactory(storage.ConnectionString!, HangfirePostgres(sp.GetRequiredService<IOptions<JobsOptions>>().Value)),
                    HangfirePostgres(sp.GetRequiredService<IOptions<JobsOptions>>().Value))
                : new InMemoryStorage(new InMemoryStorageOptions());
        });
        services.AddSingleton<JobActivator>(sp => new AspNetCoreJobActivator(sp.GetRequiredService<IServiceScopeFactory>()));
        services.AddHangfire((sp, configuration) => configuration
            .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
            .UseSimpleAssemblyNameTypeSerializer()
            .UseRecommendedSerializerSettings()
            .UseLogProvider(new HostLogProvider(sp.GetRequiredService<ILoggerFactory>())));
        services.AddHostedService<JobsStartup>();
        services.AddHangfireServer((sp, server) =>
        {
            var options = sp.GetRequiredService<IOptions<JobsOptions>>().Value;
            server.SchedulePollingInterval = options.PollingInterval;
            server.WorkerCount = options.WorkerCount;
        });
        services.AddSingleton<JobScheduler>();
        return services;
    }

    private static PostgreSqlStorageOptions HangfirePostgres(JobsOptions options) => new()
    {
        SchemaName = "hangfire",
        PrepareSchemaIfNecessary = true,
        // Enqueued jobs are looked for as often as due ones (the storage's default is 15 s): a cheap indexed query per
        // worker. Long polling (LISTEN/NOTIFY) is left off: it held every host's shutdown for seconds.
        QueuePollInterval = options.PollingInterval,
        EnableLongPolling = false,
    };

    /// <summary>Registers a recurring sweep under a stable id, run every <paramref name="interval"/>.</summary>
    public static IServiceCollection AddSweep<TJob>(this IServiceCollection services, string id, Func<IServiceProvider, TimeSpan> interval)
        where TJob : class, ISweepJob
    {
        services.AddSingleton<TJob>();
        services.AddSingleton(new SweepRegistration(id, interval, static (manager, jobId, cron) => manager.AddOrUpdate<TJob>(
            jobId, job => job.RunAsync(CancellationToken.None), cron, new RecurringJobOptions { TimeZone = TimeZoneInfo.Utc })));
        return services;
    }

    /// <summary>Registers a feature's re-derivation of its pending deadlines (run at every start).</summary>
    public static IServiceCollection AddPendingJobs<TSource>(this IServiceCollection services)
        where TSource : class, IPendingJobSource
    {
        services.AddSingleton<IPendingJobSource, TSource>();
        return services;
    }

    /// <summary>
    /// A sweep interval as a cron expression with seconds. Intervals that divide a minute, an hour or a day evenly map
    /// exactly (every 30 s, every 5 min, every 6 h); others are refused at start-up.
    /// </summary>
    public static string CronFor(TimeSpan interval)
    {
        static bool Divides(TimeSpan part, TimeSpan whole) => part > TimeSpan.Zero && whole.Ticks % part.Ticks == 0;
        var invariant = CultureInfo.InvariantCulture;
        if (interval < TimeSpan.FromMinutes(1) && interval.Ticks % TimeSpan.TicksPerSecond == 0 && Divides(interval, TimeSpan.FromMinutes(1)))
        {
            return string.Create(invariant, $"*/{(int)interval.TotalSeconds} * * * * *");
        }

        if (interval < TimeSpan.FromHours(1) && interval.Ticks % TimeSpan.TicksPerMinute == 0 && Divides(interval, TimeSpan.FromHours(1)))
        {
            return string.Create(invariant, $"0 */{(int)interval.TotalMinutes} * * * *");
        }

        if (interval < TimeSpan.FromDays(1) && interval.Ticks % TimeSpan.TicksPerHour == 0 && Divides(interval, TimeSpan.FromDays(1)))
        {
            return string.Create(invariant, $"0 0 */{(int)interval.TotalHours} * * *");
        }

        return interval == TimeSpan.FromDays(1)
            ? "0 0 0 * * *"
            : throw new OptionsValidationException("Messaging:Retention:Interval", typeof(TimeSpan),
                [$"A sweep interval divides a minute, an hour or a day evenly (got {interval})."]);
    }
}

/// <summary>At start-up, after the migrations: registers every sweep (the in-memory storage starts empty) and lets
/// every feature schedule its pending deadlines again.</summary>
internal sealed partial class JobsStartup(
    IServiceProvider services,
    IRecurringJobManager recurring,
    IEnumerable<SweepRegistration> sweeps,
    IEnumerable<IPendingJobSource> sources,
    ILogger<JobsStartup> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var registered = 0;
        foreach (var sweep in sweeps)
        {
            sweep.AddOrUpdate(recurring, sweep.Id, JobsFeature.CronFor(sweep.Interval(services)));
            registered++;
        }

        var scheduled = 0;
        foreach (var source in sources)
        {
            scheduled += await source.ScheduleAllAsync(cancellationToken);
        }

        LogStarted(logger, registered, scheduled);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Jobs: {Sweeps} recurring sweeps registered, {Scheduled} pending deadlines scheduled from the database")]
    private static partial void LogStarted(ILogger logger, int sweeps, int scheduled);
}

/// <summary>
/// Hangfire's log provider is process-wide (<c>LogProvider.SetCurrentLogProvider</c>): the last host to start sets it.
/// One host per process (production) never notices; several hosts in one process (the tests) would leave it on a stopped
/// host's disposed logger factory, and the next host's Hangfire would fail as it starts. This one logs through its host's
/// factory while that lives, and is silent after.
/// </summary>
internal sealed class HostLogProvider(ILoggerFactory factory) : Hangfire.Logging.ILogProvider
{
    private readonly AspNetCoreLogProvider _inner = new(factory);

    public Hangfire.Logging.ILog GetLogger(string name)
    {
        try
        {
            return _inner.GetLogger(name);
        }
        catch (ObjectDisposedException)
        {
            return SilentLog.Instance;
        }
    }

    private sealed class SilentLog : Hangfire.Logging.ILog
    {
        public static readonly SilentLog Instance = new();

        public bool Log(Hangfire.Logging.LogLevel logLevel, Func<string>? messageFunc, Exception? exception = null) => false;
    }
}
