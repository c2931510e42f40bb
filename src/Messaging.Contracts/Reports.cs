namespace Messaging.Contracts;

/// <summary>Period granularity of the follow-up committee report.</summary>
public static class ReportGranularities
{
    /// <summary>Calendar months (UTC), labelled <c>2031-03</c>.</summary>
    public const string Month = "month";

    /// <summary>Calendar quarters (UTC), labelled <c>2031-Q1</c>.</summary>
    public const string Quarter = "quarter";

    /// <summary>The calendar year (UTC), labelled <c>2031</c>.</summary>
    public const string Year = "year";

    /// <summary>True for a known granularity.</summary>
    public static bool IsKnown(string? value) => value is Month or Quarter or Year;
}

/// <summary>
/// One row of the follow-up committee report (protocol section 8): counts for one period and one partner type, never a
/// case reference, an organisation name or a person. A null count is suppressed: it is at least 1, either a small count
/// (from 1 to <see cref="ReferralReport.MinimumCellCount"/> − 1) or a larger one suppressed as well so that the small
/// one cannot be worked out from the other granularities of the same year (a quarter is the sum of its months, the year
/// of its quarters). Zero is published as 0. The report carries no totals, so a suppressed cell cannot be recovered by
/// subtraction, within one report or across the month, quarter and year reports of one year.
/// </summary>
/// <param name="Period">The period label.</param>
/// <param name="PartnerType">The organisation type of the partners counted.</param>
/// <param name="ReferralsSent">Referrals opened by partners of this type in the period.</param>
/// <param name="Accepted">Referrals accepted by partners of this type in the period.</param>
/// <param name="Declined">Referrals declined by partners of this type in the period.</param>
/// <param name="TripartiteProposed">Referrals still awaiting a decision after a tripartite interview proposed by partners
/// of this type in the period. Once the receiving service answers, the server keeps no trace that an interview was
/// proposed (a lasting trace would hint that a follow-up runs elsewhere, protocol 7.A).</param>
public sealed record ReferralReportRow(string Period, string PartnerType, int? ReferralsSent, int? Accepted, int? Declined, int? TripartiteProposed);

/// <summary>The follow-up committee report for one calendar year.</summary>
public sealed record ReferralReport(int Year, string Granularity, int MinimumCellCount, IReadOnlyList<ReferralReportRow> Rows);
