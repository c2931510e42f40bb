using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Text;
using Messaging.Contracts;
using Messaging.Server.Errors;
using Messaging.Server.Features.Authentication;
using Messaging.Server.Persistence;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Features.Reports;

/// <summary>Statistical disclosure control of the committee report (section <c>Messaging:Reports</c>).</summary>
public sealed class ReportsOptions
{
    public const string Section = "Messaging:Reports";

    /// <summary>The smallest count published: counts from 1 to this value − 1 are suppressed; 0 and counts of at least
    /// this value are published.</summary>
    [Range(2, 1000)]
    public int MinimumCellCount { get; set; } = 5;
}

/// <summary>
/// The follow-up committee report (protocol section 8): per period of one calendar year (UTC) and per partner type,
/// referrals sent (counted for the referring partner's type, at opening), accepted, declined and tripartite
/// interviews proposed and not yet answered (counted for the receiving partner's type, at the response; the proposal
/// leaves no trace once answered). Small cells are suppressed and no
/// totals are published, so no suppressed cell can be recovered by subtraction. No case reference, organisation name
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
        var rows = await database.ReadAsync(s => s.QueryAsync(
            """
            SELECT r.opened_at, CASE WHEN r.status = 2 THEN r.status_changed_at END, r.accepted_at, r.declined_at, sender.type, receiver.type
            FROM referrals r
            JOIN organisations sender ON sender.id = r.referring_organisation_id
            JOIN organisations receiver ON receiver.id = r.receiving_organisation_id
            WHERE r.opened_at < @end
              AND (r.opened_at >= @start OR (r.status = 2 AND r.status_changed_at >= @start) OR r.accepted_at >= @start OR r.declined_at >= @start);
            """,
            r => (Opened: r.GetInstant(0), Tripartite: r.GetNullableInstant(1), Accepted: r.GetNullableInstant(2), Declined: r.GetNullableInstant(3),
                SenderType: r.GetString(4), ReceiverType: r.GetString(5)),
            ("@start", start), ("@end", end)), cancellationToken);

        // (period, type) → [sent, accepted, declined, tripartite]
        var cells = new SortedDictionary<(string Period, string Type), int[]>();
        void Count(DateTimeOffset? at, string type, int metric)
        {
            if (at is { } instant && instant >= start && instant < end)
            {
                var key = (Label(instant, granularity), type);
                if (!cells.TryGetValue(key, out var counts))
                {
                    cells[key] = counts = new int[4];
                }

                counts[metric]++;
            }
        }

        foreach (var row in rows)
        {
            Count(row.Opened, row.SenderType, 0);
            Count(row.Accepted, row.ReceiverType, 1);
            Count(row.Declined, row.ReceiverType, 2);
            Count(row.Tripartite, row.ReceiverType, 3);
        }

        var threshold = options.Value.MinimumCellCount;
        int? Publish(int count) => count >= 1 && count < threshold ? null : count;
        return new ReferralReport(year, granularity, threshold,
            [.. cells.Select(c => new ReferralReportRow(c.Key.Period, c.Key.Type, Publish(c.Value[0]), Publish(c.Value[1]), Publish(c.Value[2]), Publish(c.Value[3])))]);
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

    private static string Label(DateTimeOffset instant, string granularity)
    {
        var utc = instant.UtcDateTime;
        return granularity switch
        {
            ReportGranularities.Month => utc.ToString("yyyy-MM", CultureInfo.InvariantCulture),
            ReportGranularities.Quarter => string.Create(CultureInfo.InvariantCulture, $"{utc.Year:D4}-Q{((utc.Month - 1) / 3) + 1}"),
            _ => utc.Year.ToString("D4", CultureInfo.InvariantCulture),
        };
    }
}

internal static class ReportsFeature
{
    public static IServiceCollection AddReports(this IServiceCollection services)
    {
        services.AddOptions<ReportsOptions>().BindConfiguration(ReportsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<ReportService>();
        return services;
    }

    public static IEndpointRouteBuilder MapReports(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet(ApiRoutes.ReferralReport, async Task<Results<Ok<ReferralReport>, ContentHttpResult>> (
                int? year, string? granularity, string? format, HttpContext http, ReportService service) =>
            {
                if (format is not (null or "json" or "csv"))
                {
                    throw new MalformedRequestException("The format is json or csv.");
                }

                var report = await service.BuildAsync(CallerDevice.From(http.User), year ?? 0, granularity, http.RequestAborted);
                return format == "csv"
                    ? TypedResults.Text(ReportService.ToCsv(report), "text/csv; charset=utf-8; header=present", Encoding.UTF8)
                    : TypedResults.Ok(report);
            })
            .RequireAuthorization()
            .WithName("ReferralReport");
        return endpoints;
    }
}
