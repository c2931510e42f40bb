using System.Collections.Concurrent;
using System.Globalization;
using Messaging.Server.Features.Jobs;

namespace Messaging.LoadTest;

/// <summary>
/// Job lag (due → started) of the server's job runner, registered exactly as the server registers it
/// (<see cref="JobsFeature.AddJobs"/>, default options: in-memory storage, 250 ms polling, 2 workers). Schedules
/// <c>jobs</c> delayed jobs through the server's <see cref="JobScheduler"/>, due at random instants over <c>spread</c>,
/// and records for each how long after its due instant the run that acts started. Hangfire keeps delayed jobs by whole
/// seconds, so it may start one up to a second early; like the server's deadline jobs, the probe then schedules itself
/// again for its due instant (counted as an early start) and acts only at or after it.
/// </summary>
internal static class JobLagScenario
{
    public static async Task<string> RunAsync(int jobs, TimeSpan spread)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddJobs();
        builder.Services.AddSingleton<LagProbe>();
        using var host = builder.Build();
        await host.StartAsync();

        var probe = host.Services.GetRequiredService<LagProbe>();
        var scheduler = host.Services.GetRequiredService<JobScheduler>();
        var start = TimeProvider.System.GetUtcNow() + TimeSpan.FromSeconds(2);
        for (var i = 0; i < jobs; i++)
        {
            var due = start + (spread * Random.Shared.NextDouble());
            var dueMs = due.ToUnixTimeMilliseconds();
            scheduler.ScheduleAt<LagProbe>(p => p.RunAsync(dueMs), due);
        }

        var deadline = start + spread + TimeSpan.FromSeconds(30);
        while (probe.Lags.Count < jobs && TimeProvider.System.GetUtcNow() < deadline)
        {
            await Task.Delay(100);
        }

        await host.StopAsync();
        var lags = probe.Lags.Order().ToArray();
        double At(double q) => lags.Length == 0 ? double.NaN : lags[Math.Min(lags.Length - 1, (int)(q * lags.Length))];
        return string.Create(CultureInfo.InvariantCulture,
            $"| jobs | acted | early starts (re-scheduled) | lag p50 ms | lag p99 ms | lag max ms |\n|---:|---:|---:|---:|---:|---:|\n| {jobs} | {lags.Length} | {probe.EarlyStarts} | {At(0.50):F0} | {At(0.99):F0} | {(lags.Length == 0 ? double.NaN : lags[^1]):F0} |");
    }
}

/// <summary>The probe job: records how late it started. Its argument is its due instant (a benchmark probe, not an id).</summary>
internal sealed class LagProbe(JobScheduler scheduler)
{
    private int _earlyStarts;

    public ConcurrentBag<double> Lags { get; } = [];

    public int EarlyStarts => _earlyStarts;

    public Task RunAsync(long dueUnixMs)
    {
        var lag = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds() - dueUnixMs;
        if (lag < 0)
        {
            Interlocked.Increment(ref _earlyStarts);
            scheduler.ScheduleAt<LagProbe>(p => p.RunAsync(dueUnixMs), DateTimeOffset.FromUnixTimeMilliseconds(dueUnixMs));
        }
        else
        {
            Lags.Add(lag);
        }

        return Task.CompletedTask;
    }
}
