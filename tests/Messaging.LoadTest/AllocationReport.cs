using System.Globalization;
using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

namespace Messaging.LoadTest;

/// <summary>
/// What a process allocated, from a <c>dotnet-trace</c> file of the <c>gc-verbose</c> profile: the runtime's allocation
/// samples (one event about every 100 KB, with the type that crossed the mark and its stack), summed by type and by
/// type and top frames. A sample stands for all the bytes since the previous one, so the sums are estimates, good to a few
/// per cent over tens of megabytes. <c>allocations.sh</c> records the server during a realistic run and calls this.
/// </summary>
internal static class AllocationReport
{
    public static string Build(string tracePath, int frames, int top, long messages)
    {
        using var log = new TraceLog(TraceLog.CreateFromEventPipeDataFile(tracePath));
        var byType = new Dictionary<string, long>(StringComparer.Ordinal);
        var byStack = new Dictionary<string, long>(StringComparer.Ordinal);
        long total = 0;
        foreach (var sample in log.Events)
        {
            if (sample is not GCAllocationTickTraceData tick)
            {
                continue;
            }

            var bytes = tick.AllocationAmount64;
            total += bytes;
            byType[tick.TypeName] = byType.GetValueOrDefault(tick.TypeName) + bytes;
            var stack = new List<string>();
            for (var frame = sample.CallStack(); frame is not null && stack.Count < frames; frame = frame.Caller)
            {
                var method = frame.CodeAddress.FullMethodName;
                if (!string.IsNullOrEmpty(method) && (stack.Count == 0 || stack[^1] != method))
                {
                    stack.Add(method);
                }
            }

            var key = $"{tick.TypeName} <= {string.Join(" < ", stack)}";
            byStack[key] = byStack.GetValueOrDefault(key) + bytes;
        }

        var report = new System.Text.StringBuilder();
        var perMessage = messages > 0 ? string.Create(CultureInfo.InvariantCulture, $", {total / 1024.0 / messages:F1} KB per message over {messages} messages") : "";
        report.AppendLine(CultureInfo.InvariantCulture, $"sampled allocations: {total / 1e6:F1} MB{perMessage}");
        report.AppendLine("by type:");
        foreach (var (type, bytes) in byType.OrderByDescending(t => t.Value).Take(top))
        {
            report.AppendLine(CultureInfo.InvariantCulture, $"{100.0 * bytes / total,6:F2}%  {type}");
        }

        report.AppendLine("by type and stack:");
        foreach (var (stack, bytes) in byStack.OrderByDescending(t => t.Value).Take(top))
        {
            report.AppendLine(CultureInfo.InvariantCulture, $"{100.0 * bytes / total,6:F2}%  {stack}");
        }

        return report.ToString();
    }
}
