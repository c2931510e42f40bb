using System.Globalization;
using Messaging.Contracts;

namespace Messaging.Server.Features.Reports;

/// <summary>
/// Small-cell suppression of one count series (one partner type, one metric) over a year's period hierarchy, so that
/// the month, quarter and year reports of that year can be read together without undoing it.
/// <para>
/// The 17 cells are the 12 months, the 4 quarters and the year; they are tied by five relations: a quarter is the sum
/// of its months, the year the sum of its quarters. <b>Primary</b> suppression hides every count from 1 to the threshold
/// − 1. Published alone that is not enough: with the year at 7 and three quarters at 5, 0 and 0, the fourth is 2
/// (review 2026-11-29, sched finding 7). So <b>complementary</b> suppression follows: every relation that holds exactly
/// one suppressed cell has one more suppressed (its smallest positive published child, else its parent), repeated until
/// no relation holds exactly one. Every report of the year, whatever its granularity, publishes from this one pattern.
/// </para>
/// <para>
/// Why that is enough: the relations form a tree (a cell is the parent of at most one relation and a child of at most
/// one). Take a suppressed cell and add 1 to it; the relations it is in are then off by one, and each holds another
/// suppressed cell to take 1 from; that cell's other relation again holds another, and so on, never coming back to a
/// relation already balanced (a tree has no cycle) and ending at a leaf. Every suppressed cell is at least 1 (primary
/// cells by definition, complementary ones are chosen positive), so taking 1 keeps every count non-negative; the same
/// walk with the signs swapped works too. Both give tables that publish exactly the same cells, so no suppressed count
/// follows from the published ones by adding or subtracting them.
/// </para>
/// </summary>
internal static class PeriodSuppression
{
    /// <summary>Cells 0–11 are the months, 12–15 the quarters, 16 the year.</summary>
    public const int CellCount = 17;

    private const int FirstQuarter = 12, Year = 16;

    /// <summary>Parent = sum of children.</summary>
    private static readonly (int Parent, int[] Children)[] Relations =
    [
        (Year, [FirstQuarter, FirstQuarter + 1, FirstQuarter + 2, FirstQuarter + 3]),
        (FirstQuarter, [0, 1, 2]),
        (FirstQuarter + 1, [3, 4, 5]),
        (FirstQuarter + 2, [6, 7, 8]),
        (FirstQuarter + 3, [9, 10, 11]),
    ];

    /// <summary>The cells of one granularity: their labels (<c>2031-03</c>, <c>2031-Q1</c>, <c>2031</c>) and indices.</summary>
    public static IEnumerable<(string Label, int Cell)> Periods(int year, string granularity) => granularity switch
    {
        ReportGranularities.Month => Enumerable.Range(0, 12)
            .Select(m => (string.Create(CultureInfo.InvariantCulture, $"{year:D4}-{m + 1:D2}"), m)),
        ReportGranularities.Quarter => Enumerable.Range(0, 4)
            .Select(q => (string.Create(CultureInfo.InvariantCulture, $"{year:D4}-Q{q + 1}"), FirstQuarter + q)),
        _ => [(year.ToString("D4", CultureInfo.InvariantCulture), Year)],
    };

    /// <summary>The series' 17 cells from its 12 monthly counts, each either published or suppressed (null).</summary>
    /// <param name="months">The counts of January to December, none negative.</param>
    /// <param name="threshold">The smallest count published on its own (counts 1 to this − 1 are suppressed).</param>
    public static int?[] Publish(IReadOnlyList<int> months, int threshold)
    {
        ArgumentNullException.ThrowIfNull(months);
        ArgumentOutOfRangeException.ThrowIfNotEqual(months.Count, 12);
        var counts = new int[CellCount];
        for (var m = 0; m < 12; m++)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(months[m]);
            counts[m] = months[m];
        }

        for (var r = Relations.Length - 1; r >= 0; r--)
        {
            // The quarters first, then the year from them.
            counts[Relations[r].Parent] = Relations[r].Children.Sum(c => counts[c]);
        }

        var suppressed = counts.Select(c => c >= 1 && c < threshold).ToArray();
        for (var changed = true; changed;)
        {
            changed = false;
            foreach (var (parent, children) in Relations)
            {
                if (children.Count(c => suppressed[c]) + (suppressed[parent] ? 1 : 0) == 1)
                {
                    // A positive candidate always exists: a lone suppressed parent (≥ 1) has a positive published child,
                    // and a lone suppressed child (≥ 1) has a positive published parent.
                    var complement = children.Where(c => !suppressed[c] && counts[c] > 0).OrderBy(c => counts[c]).ThenBy(c => c)
                        .DefaultIfEmpty(parent).First();
                    suppressed[complement] = true;
                    changed = true;
                }
            }
        }

        return [.. counts.Select((c, i) => suppressed[i] ? (int?)null : c)];
    }
}
