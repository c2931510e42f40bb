using Hangfire.Client;
using Hangfire.Common;
using Hangfire.Server;
using Hangfire.States;

namespace Messaging.Server.Features.Telemetry;

/// <summary>
/// Measures a job's lag — its due time to the start of its run — on the injected clock. At creation the job gets its due
/// time as a parameter: for a delayed job the delay Hangfire was given (<see cref="ScheduledState.EnqueueAt"/> −
/// <see cref="ScheduledState.ScheduledAt"/>, both on Hangfire's own clock) added to now, for an enqueued one now (its due
/// time had passed; recurring sweeps are created that way when they fire). When a worker starts the job, now − due is
/// recorded under the job's type name. A requeued job keeps its parameter, so a retry's lag counts from the first due time.
/// Registered through the host's own filter provider (<see cref="HostJobFilterProvider"/>), not Hangfire's process-wide
/// filter list.
/// </summary>
internal sealed class JobLagFilter(MessagingMetrics metrics, TimeProvider time) : IClientFilter, IServerFilter
{
    public const string DueParameter = "DueAtUnixMs";

    public void OnCreating(CreatingContext context)
    {
        var now = time.GetUtcNow();
        var due = context.InitialState is ScheduledState scheduled ? now + (scheduled.EnqueueAt - scheduled.ScheduledAt) : now;
        context.SetJobParameter(DueParameter, due.ToUnixTimeMilliseconds());
    }

    public void OnCreated(CreatedContext context)
    {
    }

    public void OnPerforming(PerformingContext context)
    {
        var due = context.GetJobParameter<long?>(DueParameter, allowStale: true);
        if (due is { } unixMs)
        {
            metrics.JobStarted(context.BackgroundJob.Job.Type.Name, time.GetUtcNow() - DateTimeOffset.FromUnixTimeMilliseconds(unixMs));
        }
    }

    public void OnPerformed(PerformedContext context)
    {
    }
}

/// <summary>Hangfire's usual filters (the process-wide list and the attributes) plus this host's own, so that a filter
/// holding the host's services never outlives it or reaches another host in the same process.</summary>
internal sealed class HostJobFilterProvider(JobLagFilter lag) : IJobFilterProvider
{
    private readonly JobFilter[] _own = [new(lag, JobFilterScope.Global, null)];

    public IEnumerable<JobFilter> GetFilters(Job job) => JobFilterProviders.Providers.GetFilters(job).Concat(_own);
}
