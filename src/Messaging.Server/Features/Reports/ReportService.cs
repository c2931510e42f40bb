using System.Globalization;
using System.Text;
using Messaging.Contracts;
using Messaging.Server.Errors;
using Messaging.Server.Features.Authentication;
using Messaging.Server.Persistence;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Features.Reports;

/// <summary>
/// The follow-up committee report (protocol section 8): per period of one calendar year (UTC) and per partner type,
/// referrals sent (counted for the referring partner's type, at opening), accepted, declined and tripartite
/// interviews proposed and not yet answered (counted for the receiving partner's type, at the response; the proposal
/// leaves no trace once answered). Small cells are suppressed, with complementary cells over the year's months,
/// quarters and year (<see cref="PeriodSuppression"/>), and no totals are published, so no suppressed cell can be
/// recovered by subtraction, within one report or across the granularities of one year. No case reference, organisation name
/// or organisation id appears; per-referral rows exist only in memory while counting.
/// </summary>
internal sealed class ReportService(IDatabase database, IOptions<ReportsOptions> options)
{
    public const string CsvHeader = "period,partner_type,referrals_sent,accepted,declined,tripartite_proposed";
    public const string SuppressedCsvValue = "suppressed";

    public async Task<ReferralReport> BuildAsync(CallerDevice actor, int year, string? granularity, CancellationToken cancellationToken = default)
    {
        if (!actor.IsPlatformOperator)
        {
            throw new ForbiddenException("Only the platform operator produces the committee report.");
        }

        granularity ??= ReportGranularities.Year;
        if (year is < 2000 or > 9998 || !ReportGranularities.IsKnown(granularity))
        {
            throw new MalformedRequestException("A year (2000–9998) and a granularity (month, quarter, year) are required.");
        }

        var start = new DateTimeOffset(year, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var end = start.AddYears(1);
        var rows = await database.ReadAsync(s => ReportRepository.ListReferralEventsAsync(s, start, end), cancellationToken);

        // partner type → metric (sent, accepted, declined, tripartite) → month → count
        var series = new SortedDictionary<string, int[][]>(StringComparer.Ordinal);
        void Count(DateTimeOffset? at, string type, int metric)
        {
            if (at is { } instant && instant >= start && instant < end)
            {
                if (!series.TryGetValue(type, out var counts))
                {
                    series[type] = counts = [new int[12], new int[12], new int[12], new int[12]];
                }

                counts[metric][instant.UtcDateTime.Month - 1]++;
            }
        }

        foreach (var row in rows)
        {
            Count(row.Opened, row.SenderType, 0);
            Count(row.Accepted, row.ReceiverType, 1);
            Count(row.Declined, row.ReceiverType, 2);
            Count(row.Tripartite, row.ReceiverType, 3);
        }

        // Suppressed over the whole year's hierarchy whatever the granularity asked, so that the month, quarter and year
        // reports together reveal no more than each alone.
        var threshold = options.Value.MinimumCellCount;
        var published = series.Select(t => (Type: t.Key, Metrics: t.Value.Select(m => PeriodSuppression.Publish(m, threshold)).ToArray())).ToList();
        var report = new List<ReferralReportRow>();
        foreach (var (label, cell) in PeriodSuppression.Periods(year, granularity))
        {
            foreach (var (type, metrics) in published)
            {
                // A period without activity of this type has no row (as every count of it is a published 0).
                if (metrics.Any(m => m[cell] != 0))
                {
                    report.Add(new ReferralReportRow(label, type, metrics[0][cell], metrics[1][cell], metrics[2][cell], metrics[3][cell]));
                }
            }
        }

        return new ReferralReport(year, granularity, threshold, report);
    }

    /// <summary>RFC 4180: a header line, comma-separated fields, CRLF line ends, fields quoted when they hold a comma,
    /// quote or line break; invariant culture; suppressed cells as <c>suppressed</c>.</summary>
    public static string ToCsv(ReferralReport report)
    {
        var csv = new StringBuilder().Append(CsvHeader).Append("\r\n");
        foreach (var row in report.Rows)
        {
            csv.AppendJoin(',', new[] { row.Period, row.PartnerType }.Concat(new[] { row.ReferralsSent, row.Accepted, row.Declined, row.TripartiteProposed }
                    .Select(v => v?.ToString(CultureInfo.InvariantCulture) ?? SuppressedCsvValue))
                    .Select(Quote))
                .Append("\r\n");
        }

        return csv.ToString();
    }

    private static string Quote(string field) => field.AsSpan().IndexOfAny(",\"\r\n") >= 0
        ? "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\""
        : field;
}
