using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Messaging.LoadTest;

/// <summary>Send start times by message id, and delivery latencies inside the measured window.</summary>
internal sealed class Measurement
{
    private readonly ConcurrentDictionary<Guid, long> _started = new();
    private readonly ConcurrentBag<(long Start, double Ms)> _latenciesMs = [];
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
        _latenciesMs.Add((start, Stopwatch.GetElapsedTime(start, now).TotalMilliseconds));
    }

    public void OpenWindow() => Volatile.Write(ref _windowStart, Stopwatch.GetTimestamp());

    public void CloseWindow() => Volatile.Write(ref _windowEnd, Stopwatch.GetTimestamp());

    /// <summary>Where the slow deliveries (over <paramref name="thresholdMs"/>) fell: their count per second of the window
    /// (by send time), the busiest seconds first. A tail made of a few stalls (a checkpoint, a pause) shows as a few seconds
    /// holding most of them; a tail spread over the run, as many seconds holding one or two.</summary>
    public string SlowTimeline(double thresholdMs, int seconds = 8)
    {
        var windowStart = Volatile.Read(ref _windowStart);
        var wallStart = TimeProvider.System.GetUtcNow() - Stopwatch.GetElapsedTime(windowStart);
        var slow = _latenciesMs.Where(l => l.Ms > thresholdMs).ToList();
        var bySecond = slow.GroupBy(l => (int)Stopwatch.GetElapsedTime(windowStart, l.Start).TotalSeconds)
            .Select(g => (Second: g.Key, Count: g.Count(), Worst: g.Max(l => l.Ms))).OrderByDescending(g => g.Count).ToList();
        return string.Create(CultureInfo.InvariantCulture,
            $"{slow.Count} deliveries over {thresholdMs} ms, in {bySecond.Count} distinct seconds; busiest: {string.Join(", ", bySecond.Take(seconds).Select(g => $"s{g.Second} at {wallStart.AddSeconds(g.Second):HH:mm:ss} {g.Count} (worst {g.Worst:F0} ms)"))}");
    }

    public Result Summarise(TimeSpan window, CpuUse cpu)
    {
        var sorted = _latenciesMs.Select(l => l.Ms).Order().ToArray();
        double Percentile(double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
        var seconds = window.TotalSeconds;
        return new Result(Interlocked.Read(ref _delivered) / seconds, Percentile(0.50), Percentile(0.99), sorted.Length, cpu.Server / seconds, cpu.Load / seconds,
            cpu.WriterOnCpu / seconds, cpu.WriterWaiting / seconds, cpu.Database / seconds, cpu.Backplane / seconds);
    }
}

/// <summary>One scenario's figures. CPU is in cores (CPU seconds per second of the window); the writer's figures are
/// NaN for a server without a database writer thread, the database's and the backplane's when the run has none (or their
/// PIDs are unknown). <see cref="Failed"/> counts sends that failed or were refused.</summary>
internal sealed record Result(double PerSecond, double P50Ms, double P99Ms, int Samples, double ServerCores, double LoadCores, double WriterCores, double WriterWaitingCores,
    double DatabaseCores = double.NaN, double BackplaneCores = double.NaN, long Failed = 0)
{
    public string Row(string name) => string.Create(CultureInfo.InvariantCulture,
        $"| {name} | {PerSecond:F0} | {P50Ms:F2} | {P99Ms:F2} | {Samples} | {ServerCores:F2} | {LoadCores:F2} | {Cell(WriterCores)} | {Cell(WriterWaitingCores)} |");

    /// <summary>A row with the database's and the backplane's CPU as well (the production-mode tables).</summary>
    public string FullRow(string name) => string.Create(CultureInfo.InvariantCulture,
        $"| {name} | {PerSecond:F0} | {P50Ms:F2} | {P99Ms:F2} | {Samples} | {Failed} | {ServerCores:F2} | {Cell(WriterCores)} | {Cell(DatabaseCores)} | {Cell(BackplaneCores)} | {LoadCores:F2} |");

    public const string FullHeader = "| scenario | delivered/s | p50 ms | p99 ms | samples | failed sends | server CPU (cores, all instances) | SQLite writer on CPU | PostgreSQL CPU (all its processes) | Redis CPU | load tool CPU |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|";

    internal static string Cell(double cores) => double.IsNaN(cores) ? "–" : cores.ToString("F2", CultureInfo.InvariantCulture);
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
        var fields = StatFields(pid);
        // After the command: field 14 (utime) and 15 (stime) of stat(5) are at offsets 11 and 12 here.
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return ticks / 100.0;
    }

    /// <summary>A process and its children (PostgreSQL: the postmaster and its backends), in seconds. A child that ended
    /// between two readings takes its time with it: read around windows in which connections stay open.</summary>
    public static double TreeSeconds(int pid)
    {
        var total = Seconds(pid);
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out var child) || child == pid)
            {
                continue;
            }

            try
            {
                if (int.Parse(StatFields(child)[1], CultureInfo.InvariantCulture) == pid)
                {
                    total += Seconds(child);
                }
            }
            catch (IOException)
            {
                // The process ended while being read.
            }
        }

        return total;
    }

    /// <summary>Resident memory of a process in bytes (<c>VmRSS</c>).</summary>
    public static long ResidentBytes(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }

    private static string[] StatFields(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    }
}

/// <summary>CPU seconds used between <see cref="CpuProbe.Start"/> and <see cref="CpuProbe.Stop"/>: the server
/// instances together, this tool, the SQLite writer thread(s), the PostgreSQL cluster, the Redis server.</summary>
internal sealed record CpuUse(double Server, double Load, double WriterOnCpu, double WriterWaiting, double Database, double Backplane);

internal sealed class CpuProbe(IReadOnlyList<int> serverPids, int? databasePid = null, int? backplanePid = null)
{
    private CpuUse? _start;

    public void Start() => _start = Read();

    public CpuUse Stop()
    {
        var start = _start ?? throw new InvalidOperationException("not started");
        var end = Read();
        return new CpuUse(end.Server - start.Server, end.Load - start.Load, end.WriterOnCpu - start.WriterOnCpu, end.WriterWaiting - start.WriterWaiting,
            end.Database - start.Database, end.Backplane - start.Backplane);
    }

    private CpuUse Read()
    {
        var writers = serverPids.Select(WriterThread.Seconds).ToList();
        return new CpuUse(serverPids.Sum(Cpu.Seconds), Cpu.Seconds(Environment.ProcessId), writers.Sum(w => w.OnCpu), writers.Sum(w => w.Waiting),
            databasePid is { } database ? Cpu.TreeSeconds(database) : double.NaN, backplanePid is { } backplane ? Cpu.Seconds(backplane) : double.NaN);
    }
}
