using System.Globalization;
using System.Text.Json;
using Messaging.App.Device;
using Messaging.App.Localization;
using Messaging.Contracts;
using Microsoft.AspNetCore.Mvc;

namespace Messaging.App.Pages;

/// <summary>
/// The follow-up committee's report (platform operator): counts per period and partner type, small cells suppressed by
/// the server, with a bar chart drawn here as SVG (no chart library, no script). The year and granularity are the only
/// query parameters: nothing in this report names a person or a case.
/// </summary>
public sealed class ReportModel(DeviceSession device, Texts texts, TimeProvider time) : AppPageModel(device, texts)
{
    public sealed record Bar(string Period, int Sent, int Accepted, int Declined);

    private static readonly JsonSerializerOptions WebJson = new(JsonSerializerDefaults.Web);

    public static IReadOnlyList<string> Granularities { get; } = [ReportGranularities.Month, ReportGranularities.Quarter, ReportGranularities.Year];

    [BindProperty(SupportsGet = true)]
    public int? Year { get; set; }

    [BindProperty(SupportsGet = true)]
    public string Granularity { get; set; } = ReportGranularities.Quarter;

    public ReferralReport? Report { get; private set; }

    /// <summary>Per period, the published counts summed over partner types (a suppressed cell counts as 0 in the chart;
    /// the table shows it as suppressed).</summary>
    public IReadOnlyList<Bar> Bars { get; private set; } = [];

    public int Maximum { get; private set; }

    public string Cell(int? count) => count is { } value ? value.ToString(CultureInfo.InvariantCulture) : T.Format("report.cell-suppressed", Report!.MinimumCellCount);

    public async Task<IActionResult> OnGetAsync()
    {
        var client = Device.Client;
        if (client.Role != Roles.PlatformOperator)
        {
            return StatusCode(StatusCodes.Status403Forbidden);
        }

        var year = Normalise();
        try
        {
            var json = await client.Api.GetReferralReportAsync(await client.GetAccessTokenAsync(HttpContext.RequestAborted), year, Granularity, "json", HttpContext.RequestAborted);
            Report = JsonSerializer.Deserialize<ReferralReport>(json, WebJson);
        }
        catch (Exception ex) when (Texts.IsExpected(ex))
        {
            TempData["error"] = T.Error(ex);
            return Redirect("/report");
        }

        Bars = [.. (Report?.Rows ?? []).GroupBy(r => r.Period, StringComparer.Ordinal)
            .Select(g => new Bar(g.Key, g.Sum(r => r.ReferralsSent ?? 0), g.Sum(r => r.Accepted ?? 0), g.Sum(r => r.Declined ?? 0)))];
        Maximum = Bars.Select(b => Math.Max(b.Sent, Math.Max(b.Accepted, b.Declined))).DefaultIfEmpty(0).Max();
        return Page();
    }

    /// <summary>The same report as a file to keep or hand to the committee (the server's CSV or JSON, unchanged), sent as
    /// an attachment named by year and granularity only.</summary>
    public async Task<IActionResult> OnGetExportAsync(string? format)
    {
        var client = Device.Client;
        if (client.Role != Roles.PlatformOperator)
        {
            return StatusCode(StatusCodes.Status403Forbidden);
        }

        var year = Normalise();
        var (extension, mediaType) = format switch
        {
            "csv" => ("csv", "text/csv; charset=utf-8"),
            "json" => ("json", "application/json; charset=utf-8"),
            _ => (null, null),
        };
        var back = string.Create(CultureInfo.InvariantCulture, $"/report?year={year}&granularity={Granularity}");
        if (extension is null)
        {
            TempData["error"] = T["failure.record"];
            return Redirect(back);
        }

        try
        {
            var content = await client.Api.GetReferralReportAsync(await client.GetAccessTokenAsync(HttpContext.RequestAborted), year, Granularity, extension, HttpContext.RequestAborted);
            return File(System.Text.Encoding.UTF8.GetBytes(content), mediaType!, string.Create(CultureInfo.InvariantCulture, $"referral-report-{year}-{Granularity}.{extension}"));
        }
        catch (Exception ex) when (Texts.IsExpected(ex))
        {
            TempData["error"] = T.Error(ex);
            return Redirect(back);
        }
    }

    /// <summary>The year asked for (this year by default) and a known granularity (quarter by default).</summary>
    private int Normalise()
    {
        Year ??= BrusselsTime.Today(time).Year;
        if (!Granularities.Contains(Granularity, StringComparer.Ordinal))
        {
            Granularity = ReportGranularities.Quarter;
        }

        return Year.Value;
    }
}
