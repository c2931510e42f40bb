using System.ComponentModel.DataAnnotations;

namespace Messaging.Server.Features.Jobs;

/// <summary>The job runner (section <c>Messaging:Jobs</c>). What runs when is each feature's own option.</summary>
public sealed class JobsOptions
{
    public const string Section = "Messaging:Jobs";

    /// <summary>How often the runner looks for delayed and recurring jobs that came due: the bound on a job's lag
    /// (due → started) when a worker is free. Hangfire's default is 15 s; the in-memory storage makes a short interval
    /// cheap (docs/performance.md measures the lag).</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:00:15")]
    public TimeSpan PollingInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Jobs that run at once. Every job is a short database transaction, so a few suffice.</summary>
    [Range(1, 64)]
    public int WorkerCount { get; set; } = 2;
}
