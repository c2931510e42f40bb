using System.Linq.Expressions;
using Hangfire;

namespace Messaging.Server.Features.Jobs;

/// <summary>
/// Schedules one-off deadline jobs against the injected clock. Arguments are ids only (Hangfire stores them as JSON, and
/// the dashboard or a storage dump would show them). The database is the source of truth: a job re-reads its row, acts
/// only when the row says the deadline passed on <see cref="TimeProvider"/> and the work is still to do (so a second run,
/// or a run after a crash between the effect and Hangfire's bookkeeping, changes nothing), and re-schedules itself when
/// it ran early. Hangfire keeps delayed jobs by whole seconds and may start one up to a second early; the re-scheduled
/// run then comes within one polling interval of the deadline (docs/performance.md, *Job lag*).
/// </summary>
internal sealed class JobScheduler(IBackgroundJobClient client, TimeProvider time)
{
    /// <summary>Runs <paramref name="call"/> at <paramref name="due"/> on the injected clock (at once when it passed).</summary>
    public string ScheduleAt<TJob>(Expression<Func<TJob, Task>> call, DateTimeOffset due)
    {
        var delay = due - time.GetUtcNow();
        return delay > TimeSpan.Zero ? client.Schedule(call, delay) : client.Enqueue(call);
    }
}

/// <summary>A feature's pending deadlines, re-derived from the database at start-up: the embedded default keeps
/// Hangfire's jobs in memory, so after a restart each feature schedules again every deadline its tables still hold.</summary>
internal interface IPendingJobSource
{
    /// <summary>Schedules a job for every pending deadline; returns how many.</summary>
    Task<int> ScheduleAllAsync(CancellationToken cancellationToken);
}

/// <summary>A sweep: a recurring job that removes or settles whatever is due at the time it runs. Idempotent by
/// construction (it acts on what is due now, in one transaction).</summary>
internal interface ISweepJob
{
    /// <summary>Runs one sweep at the injected clock's time; returns how many rows it changed.</summary>
    Task<int> RunAsync(CancellationToken cancellationToken);
}

/// <summary>A recurring sweep as registered by its feature.</summary>
internal sealed record SweepRegistration(string Id, Func<IServiceProvider, TimeSpan> Interval, Action<IRecurringJobManager, string, string> AddOrUpdate);
