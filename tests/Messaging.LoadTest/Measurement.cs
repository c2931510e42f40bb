using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Messaging.LoadTest;

/// <summary>Send start times by message id, and delivery latencies inside the measured window.</summary>
internal sealed class Measurement
{
    private readonly ConcurrentDictionary<Guid, long> _started = new();
    private readonly ConcurrentBag<double> _latenciesMs = [];
    private long _windowStart = long.MaxValue;
    private long _windowEnd = long.MaxValue;
    private long _delivered;

    public void Started(Guid id) => _started[id] = Stopwatch.GetTimestamp();

    public void Delivered(Guid id)
    {
        var now = Stopwatch.GetTimestamp();
        if (!_started.TryRemove(id, out var start) || start < Volatile.Read(ref _windowStart) || now > Volatile.Read(ref _windowEnd))
        {
            return;
        }

        Interlocked.Increment(ref _delivered);
        _latenciesMs.Add(Stopwatch.GetElapsedTime(start, now).TotalMilliseconds);
    }

    public void OpenWindow() => Volatile.Write(ref _windowStart, Stopwatch.GetTimestamp());

    public void CloseWindow() => Volatile.Write(ref _windowEnd, Stopwatch.GetTimestamp());

    public Result Summarise(TimeSpan window, double serverCpuSeconds, double loadCpuSeconds, (double OnCpu, double Waiting) writerSeconds)
    {
        var sorted = _latenciesMs.Order().ToArray();
        double Percentile(double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
        var seconds = window.TotalSeconds;
        return new Result(Interlocked.Read(ref _delivered) / seconds, Percentile(0.50), Percentile(0.99), sorted.Length, serverCpuSeconds / seconds, loadCpuSeconds / seconds,
            writerSeconds.OnCpu / seconds, writerSeconds.Waiting / seconds);
    }
}

/// <summary>One scenario's figures. CPU is in cores (CPU seconds per second of the window); the writer's figures are
/// NaN for a server without a database writer thread.</summary>
internal sealed record Result(double PerSecond, double P50Ms, double P99Ms, int Samples, double ServerCores, double LoadCores, double WriterCores, double WriterWaitingCores)
{
    public string Row(string name) => string.Create(CultureInfo.InvariantCulture,
        $"| {name} | {PerSecond:F0} | {P50Ms:F2} | {P99Ms:F2} | {Samples} | {ServerCores:F2} | {LoadCores:F2} | {Cell(WriterCores)} | {Cell(WriterWaitingCores)} |");

    private static string Cell(double cores) => double.IsNaN(cores) ? "–" : cores.ToString("F2", CultureInfo.InvariantCulture);
}

/// <summary>The server's database writer thread (named <c>db-writer</c>), from <c>/proc/PID/task/*/schedstat</c>
/// (Linux): seconds spent on a CPU, and seconds spent runnable but waiting for one.</summary>
internal static class WriterThread
{
    private const string Name = "db-writer";

    public static (double OnCpu, double Waiting) Seconds(int pid)
    {
        foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            try
            {
                if (File.ReadAllText(Path.Combine(task, "comm")).Trim() != Name)
                {
                    continue;
                }

                var fields = File.ReadAllText(Path.Combine(task, "schedstat")).Split(' ');
                return (long.Parse(fields[0], CultureInfo.InvariantCulture) / 1e9, long.Parse(fields[1], CultureInfo.InvariantCulture) / 1e9);
            }
            catch (IOException)
            {
                // The thread ended while being read.
            }
        }

        return (double.NaN, double.NaN);
    }
}

/// <summary>CPU time of a process from /proc (Linux), in seconds.</summary>
internal static class Cpu
{
    public static double Seconds(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // After the command: field 14 (utime) and 15 (stime) of stat(5) are at offsets 11 and 12 here.
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return ticks / 100.0;
    }
}
