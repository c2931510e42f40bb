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

    /// <summary>Jobs that run at once. Every job is short: a database transaction, or one bounded network exchange (an
    /// SMTP send with its few quick retries, one notice-intake attempt, one mailbox poll). None waits out a long backoff
    /// in a worker (a failed intake attempt schedules the next one), so a few suffice.</summary>
    [Range(1, 64)]
    public int WorkerCount { get; set; } = 2;
}
