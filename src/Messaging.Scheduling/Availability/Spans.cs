using NodaTime;

namespace Messaging.Scheduling.Availability;

/// <summary>A half-open span [Start, End) of Unix ticks: the unit of the interval arithmetic (cheap to compare and sort).</summary>
internal readonly record struct Span(long Start, long End)
{
    public long Length => End - Start;

    public static Span Of(Instant start, Instant end) => new(start.ToUnixTimeTicks(), end.ToUnixTimeTicks());

    public Interval ToInterval() => new(Instant.FromUnixTimeTicks(Start), Instant.FromUnixTimeTicks(End));
}

/// <summary>Set operations on sorted lists of disjoint spans, each linear in the sizes of its inputs.</summary>
internal static class SpanSet
{
    /// <summary>Sorts and merges overlapping or touching spans, in place; drops empty ones.</summary>
    public static List<Span> Normalise(List<Span> spans)
    {
        spans.RemoveAll(s => s.End <= s.Start);
        if (spans.Count < 2)
        {
            return spans;
        }

        spans.Sort(static (a, b) => a.Start.CompareTo(b.Start));
        var write = 0;
        for (var read = 1; read < spans.Count; read++)
        {
            var current = spans[write];
            var next = spans[read];
            if (next.Start <= current.End)
            {
                spans[write] = new Span(current.Start, Math.Max(current.End, next.End));
            }
            else
            {
                spans[++write] = next;
            }
        }

        spans.RemoveRange(write + 1, spans.Count - write - 1);
        return spans;
    }

    /// <summary><paramref name="a"/> minus <paramref name="b"/> (both normalised).</summary>
    public static List<Span> Subtract(List<Span> a, List<Span> b)
    {
        var result = new List<Span>(a.Count);
        var j = 0;
        foreach (var span in a)
        {
            var start = span.Start;
            while (j < b.Count && b[j].End <= start)
            {
                j++;
            }

            var k = j;
            while (k < b.Count && b[k].Start < span.End)
            {
                if (b[k].Start > start)
                {
                    result.Add(new Span(start, b[k].Start));
                }

                start = Math.Max(start, b[k].End);
                k++;
            }

            if (start < span.End)
            {
                result.Add(new Span(start, span.End));
            }
        }

        return result;
    }

    /// <summary>The intersection of <paramref name="a"/> and <paramref name="b"/> (both normalised).</summary>
    public static List<Span> Intersect(List<Span> a, List<Span> b)
    {
        var result = new List<Span>(Math.Min(a.Count, b.Count));
        int i = 0, j = 0;
        while (i < a.Count && j < b.Count)
        {
            var start = Math.Max(a[i].Start, b[j].Start);
            var end = Math.Min(a[i].End, b[j].End);
            if (start < end)
            {
                result.Add(new Span(start, end));
            }

            if (a[i].End < b[j].End)
            {
                i++;
            }
            else
            {
                j++;
            }
        }

        return result;
    }

    /// <summary>True when some span is at least <paramref name="length"/> ticks long.</summary>
    public static bool Fits(List<Span> spans, long length) => spans.Exists(s => s.Length >= length);
}
