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

    public Result Summarise(TimeSpan window, double serverCpuSeconds, double loadCpuSeconds)
    {
        var sorted = _latenciesMs.Order().ToArray();
        double Percentile(double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
        return new Result(Interlocked.Read(ref _delivered) / window.TotalSeconds, Percentile(0.50), Percentile(0.99), sorted.Length, serverCpuSeconds / window.TotalSeconds, loadCpuSeconds / window.TotalSeconds);
    }
}

/// <summary>One scenario's figures. CPU is in cores (CPU seconds per second of the window).</summary>
internal sealed record Result(double PerSecond, double P50Ms, double P99Ms, int Samples, double ServerCores, double LoadCores)
{
    public string Row(string name) => string.Create(CultureInfo.InvariantCulture,
        $"| {name} | {PerSecond:F0} | {P50Ms:F2} | {P99Ms:F2} | {Samples} | {ServerCores:F2} | {LoadCores:F2} |");
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
