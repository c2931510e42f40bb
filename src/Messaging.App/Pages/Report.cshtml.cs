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

        Year ??= BrusselsTime.Today(time).Year;
        if (!Granularities.Contains(Granularity, StringComparer.Ordinal))
        {
            Granularity = ReportGranularities.Quarter;
        }

        try
        {
            var json = await client.Api.GetReferralReportAsync(await client.GetAccessTokenAsync(HttpContext.RequestAborted), Year.Value, Granularity, "json", HttpContext.RequestAborted);
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
}
