using NodaTime;

namespace Messaging.Scheduling.Availability;

/// <summary>
/// Something that makes a participant busy. Asked only for the search window: a source expands what meets the window
/// and nothing else.
/// </summary>
public abstract class BusySource
{
    /// <summary>Adds the busy spans meeting [<paramref name="from"/>, <paramref name="to"/>) to <paramref name="sink"/>,
    /// clipped to the window.</summary>
    internal abstract void Collect(long from, long to, List<Span> sink);

    /// <summary>The busy periods meeting <paramref name="window"/>, clipped to it, merged and in order.</summary>
    public IReadOnlyList<Interval> BusyIn(Interval window)
    {
        var sink = new List<Span>();
        Collect(window.Start.ToUnixTimeTicks(), window.End.ToUnixTimeTicks(), sink);
        return [.. SpanSet.Normalise(sink).Select(s => s.ToInterval())];
    }

    internal static void AddClipped(List<Span> sink, long start, long end, long from, long to)
    {
        if (start < to && end > from)
        {
            sink.Add(new Span(Math.Max(start, from), Math.Min(end, to)));
        }
    }
}

/// <summary>
/// Fixed busy periods: the system's own interviews for a participant, or a list kept elsewhere. Sorted once; a query
/// finds its first candidate by binary search.
/// </summary>
public sealed class FixedBusy : BusySource
{
    private readonly Span[] _spans;
    private readonly long _longest;

    public FixedBusy(IEnumerable<Interval> periods)
    {
        ArgumentNullException.ThrowIfNull(periods);
        _spans = [.. periods.Select(p => Span.Of(p.Start, p.End)).Where(s => s.End > s.Start).OrderBy(s => s.Start)];
        _longest = _spans.Length == 0 ? 0 : _spans.Max(s => s.Length);
    }

    internal FixedBusy(List<Span> spans)
    {
        _spans = [.. spans.Where(s => s.End > s.Start).OrderBy(s => s.Start)];
        _longest = _spans.Length == 0 ? 0 : _spans.Max(s => s.Length);
    }

    internal int Count => _spans.Length;

    internal override void Collect(long from, long to, List<Span> sink)
    {
        // Nothing starting before from - longest can reach the window.
        var lo = 0;
        var hi = _spans.Length;
        var threshold = from - _longest;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (_spans[mid].Start < threshold)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        for (var i = lo; i < _spans.Length && _spans[i].Start < to; i++)
        {
            AddClipped(sink, _spans[i].Start, _spans[i].End, from, to);
        }
    }
}
