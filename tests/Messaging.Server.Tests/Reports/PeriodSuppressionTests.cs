using CsCheck;
using Messaging.Server.Features.Reports;

namespace Messaging.Server.Tests.Reports;

/// <summary>The committee report's suppression over months, quarters and the year (review 2026-11-29, sched finding 7):
/// reading the three granularities of one year together recovers no suppressed count.</summary>
public class PeriodSuppressionTests
{
    /// <summary>Parent = sum of children, over the cell indices of <see cref="PeriodSuppression"/>.</summary>
    private static readonly (int Parent, int[] Children)[] Relations =
        [(16, [12, 13, 14, 15]), (12, [0, 1, 2]), (13, [3, 4, 5]), (14, [6, 7, 8]), (15, [9, 10, 11])];

    [Fact]
    public void TheReviewsExample_YearMinusQuarters_NoLongerGivesTheSuppressedQuarter()
    {
        // Q1 = 5 (all in January), Q2 = 2 (April), Q3 = Q4 = 0: the year is 7.
        var cells = PeriodSuppression.Publish([5, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0], threshold: 5);

        Assert.Null(cells[13]);
        Assert.Equal(7, cells[16]);
        Assert.Equal((0, 0), (cells[14], cells[15]));
        Assert.Null(cells[12]); // the complement: 7 − 0 − 0 leaves Q1 + Q2 = 7, not Q2
        Assert.Null(cells[0]); // and January, or Q1 would follow from its months
        Assert.Empty(SubtractionAttack(cells));
    }

    [Fact]
    public void QuarterMinusMonths_NoLongerGivesTheSuppressedMonth()
    {
        // Q1 = 9: January 6, February 3, March 0.
        var cells = PeriodSuppression.Publish([6, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], threshold: 5);

        Assert.Null(cells[1]);
        Assert.Null(cells[0]);
        Assert.Equal((0, 9, 9), (cells[2], cells[12], cells[16]));
        Assert.Empty(SubtractionAttack(cells));
    }

    [Fact]
    public void Counts_WithNothingSmall_ArePublishedWhole()
    {
        int[] months = [5, 0, 7, 9, 5, 0, 0, 0, 0, 12, 6, 5];
        var cells = PeriodSuppression.Publish(months, threshold: 5);
        Assert.Equal([5, 0, 7, 9, 5, 0, 0, 0, 0, 12, 6, 5, 12, 14, 0, 23, 49], cells.Select(c => c!.Value));
    }

    [Fact]
    public void AnyCounts_AnyThreshold_SuppressEverySmallCount_PublishTheTruth_AndNoSubtractionRecoversASuppressedCount()
        => Gen.Select(Gen.OneOf(Gen.Int[0, 3], Gen.Int[0, 12], Gen.Int[0, 60]).Array[12], Gen.Int[2, 8]).Sample((months, threshold) =>
        {
            var truth = Truth(months);
            var cells = PeriodSuppression.Publish(months, threshold);
            for (var i = 0; i < truth.Length; i++)
            {
                // Every small count is hidden; whatever is published is the true count; a suppressed count is never 0.
                Assert.True(truth[i] is 0 || truth[i] >= threshold || cells[i] is null);
                Assert.True(cells[i] is null ? truth[i] >= 1 : cells[i] == truth[i]);
            }

            // No relation has exactly one hidden cell, and solving the relations one by one finds none.
            Assert.All(Relations, r => Assert.NotEqual(1, r.Children.Append(r.Parent).Count(c => cells[c] is null)));
            Assert.Empty(SubtractionAttack(cells));
        }, iter: 2000);

    /// <summary>The review's attack, generalised: any relation with one unknown cell gives that cell as the difference of
    /// the others; repeated until nothing more follows. Returns the suppressed cells it worked out. (The relations form a
    /// tree, so solving one relation at a time finds everything the whole linear system would.)</summary>
    private static Dictionary<int, int> SubtractionAttack(int?[] cells)
    {
        var known = cells.ToArray();
        var recovered = new Dictionary<int, int>();
        for (var progress = true; progress;)
        {
            progress = false;
            foreach (var (parent, children) in Relations)
            {
                var unknown = children.Append(parent).Where(c => known[c] is null).ToList();
                if (unknown.Count == 1)
                {
                    var cell = unknown[0];
                    var childrenSum = children.Where(c => c != cell).Sum(c => known[c]!.Value);
                    known[cell] = cell == parent ? childrenSum : known[parent]!.Value - childrenSum;
                    recovered[cell] = known[cell]!.Value;
                    progress = true;
                }
            }
        }

        return recovered;
    }

    private static int[] Truth(int[] months)
    {
        var quarters = Enumerable.Range(0, 4).Select(q => months[(3 * q)..((3 * q) + 3)].Sum()).ToArray();
        return [.. months, .. quarters, quarters.Sum()];
    }
}
