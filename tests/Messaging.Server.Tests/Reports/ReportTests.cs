using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Messaging.Contracts;
using Messaging.Contracts.Referrals;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;

namespace Messaging.Server.Tests;

/// <summary>The follow-up committee report: counts per period and partner type, small cells suppressed, CSV and JSON,
/// nothing that identifies a case, a service or a person.</summary>
public abstract class ReportTests(StorageProvider storage)
{
    private sealed record Scenario(MessagingApp App, HttpClient Operator, List<string> CaseReferences, string Year);

    /// <summary>A prevention service sends 5 referrals and a coordination body 4, all to another prevention service,
    /// which accepts 4, declines 5 and proposes no tripartite interview.</summary>
    private async Task<Scenario> SetUpAsync(Dictionary<string, string?>? settings = null)
    {
        var app = new MessagingApp(storage, settings);
        var a = await app.CreateOrganisationAsync(name: "Service Alpha-Secret");
        var coordination = await app.CreateServiceAsync(OrganisationTypes.Coordination, ServiceLevels.Community, acceptsReferrals: false, name: "Coordination Beta-Secret");
        var b = await app.CreateOrganisationAsync(name: "Service Gamma-Secret");
        await using var workerA = await app.ConnectWorkerAsync(a);
        await using var workerCo = await app.ConnectWorkerAsync(coordination);
        await using var workerB = await app.ConnectWorkerAsync(b);
        var references = new List<string>();
        for (var i = 0; i < 9; i++)
        {
            var referral = await MessagingApp.OpenReferralAsync(i < 5 ? workerA : workerCo, b.Id);
            references.Add(referral.CaseReference);
            await (i < 4
                ? MessagingApp.RespondAsync(workerB, referral.CaseReference, ReferralResponse.Accept)
                : MessagingApp.RespondAsync(workerB, referral.CaseReference, ReferralResponse.Decline, ReferralDeclineReason.NoCapacity));
        }

        var year = app.Clock.GetUtcNow().Year.ToString(CultureInfo.InvariantCulture);
        return new Scenario(app, await app.ClientAsync(await app.OperatorAsync()), references, year);
    }

    [Fact]
    public async Task TheCsv_SuppressesCountsBelowTheThreshold_PublishesZeroAndTheThreshold_AndHasNoTotals()
    {
        var s = await SetUpAsync();
        await using var app = s.App;
        var response = await s.Operator.GetAsync(new Uri($"{ApiRoutes.ReferralReport}?year={s.Year}&granularity=year&format=csv", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/csv", response.Content.Headers.ContentType!.MediaType);
        var csv = await response.Content.ReadAsStringAsync();

        Assert.EndsWith("\r\n", csv, StringComparison.Ordinal);
        Assert.Equal(
            [
                "period,partner_type,referrals_sent,accepted,declined,tripartite_proposed",
                $"{s.Year},coordination,suppressed,0,0,0",
                $"{s.Year},prevention-service,5,suppressed,5,0",
            ],
            csv.Split("\r\n", StringSplitOptions.RemoveEmptyEntries));
        AssertNothingIdentifying(csv, s.CaseReferences);
    }

    [Fact]
    public async Task TheJson_HasTheSameCells_WithNullForSuppressed()
    {
        var s = await SetUpAsync();
        await using var app = s.App;
        var json = await s.Operator.GetStringAsync(new Uri($"{ApiRoutes.ReferralReport}?year={s.Year}&granularity=quarter", UriKind.Relative));
        AssertNothingIdentifying(json, s.CaseReferences);

        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        Assert.Equal(["year", "granularity", "minimumCellCount", "rows"], root.EnumerateObject().Select(p => p.Name));
        Assert.Equal(5, root.GetProperty("minimumCellCount").GetInt32());
        var rows = root.GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(2, rows.Count);
        Assert.All(rows, r => Assert.Equal(["period", "partnerType", "referralsSent", "accepted", "declined", "tripartiteProposed"], r.EnumerateObject().Select(p => p.Name)));
        var quarter = $"{s.Year}-Q{((s.App.Clock.GetUtcNow().Month - 1) / 3) + 1}";
        var report = JsonSerializer.Deserialize<ReferralReport>(json, JsonSerializerOptions.Web)!;
        Assert.Equal(
            [new ReferralReportRow(quarter, OrganisationTypes.Coordination, null, 0, 0, 0), new ReferralReportRow(quarter, OrganisationTypes.PreventionService, 5, null, 5, 0)],
            report.Rows);

        var nextYear = (await s.Operator.GetFromJsonAsync<ReferralReport>($"{ApiRoutes.ReferralReport}?year={int.Parse(s.Year, CultureInfo.InvariantCulture) + 1}&granularity=month"))!;
        Assert.Empty(nextYear.Rows);
    }

    [Fact]
    public async Task TheYearMinusItsQuarters_AndAQuarterMinusItsMonths_DoNotGiveASuppressedCount()
    {
        // Review 2026-11-29, sched finding 7: five referrals in one quarter, two in the next, nothing else that year.
        await using var app = new MessagingApp(storage);
        var a = await app.CreateOrganisationAsync();
        var b = await app.CreateOrganisationAsync();
        var sender = await app.ConnectWorkerAsync(a);
        for (var i = 0; i < 5; i++)
        {
            await MessagingApp.OpenReferralAsync(sender, b.Id);
        }

        var firstQuarter = (app.Clock.GetUtcNow().Month - 1) / 3;
        app.Clock.Advance(TimeSpan.FromDays(93)); // the clock starts between March and June: still the same year
        var secondQuarter = (app.Clock.GetUtcNow().Month - 1) / 3;
        sender = await app.ReconnectAsync(sender);
        for (var i = 0; i < 2; i++)
        {
            await MessagingApp.OpenReferralAsync(sender, b.Id);
        }

        await sender.DisposeAsync();
        var year = app.Clock.GetUtcNow().Year;
        var operatorDevice = await app.OperatorAsync();
        operatorDevice.Token = null; // issued before the clock jumped
        var op = await app.ClientAsync(operatorDevice);
        async Task<Dictionary<string, int?>> SentAsync(string granularity)
            => (await op.GetFromJsonAsync<ReferralReport>($"{ApiRoutes.ReferralReport}?year={year}&granularity={granularity}"))!.Rows
                .Where(r => r.PartnerType == OrganisationTypes.PreventionService).ToDictionary(r => r.Period, r => r.ReferralsSent);
        var byYear = await SentAsync(ReportGranularities.Year);
        var byQuarter = await SentAsync(ReportGranularities.Quarter);
        var byMonth = await SentAsync(ReportGranularities.Month);

        string Quarter(int q) => string.Create(CultureInfo.InvariantCulture, $"{year}-Q{q + 1}");
        Assert.Equal(7, byYear[year.ToString(CultureInfo.InvariantCulture)]);
        Assert.Null(byQuarter[Quarter(secondQuarter)]);
        Assert.Null(byQuarter[Quarter(firstQuarter)]); // the complement: 7 − 0 − 0 leaves the sum of the two

        // Year − the published quarters, and each quarter − its published months, leave at least two unknowns.
        var quartersHidden = Enumerable.Range(0, 4).Count(q => byQuarter.TryGetValue(Quarter(q), out var v) && v is null);
        Assert.True(quartersHidden >= 2, "one suppressed quarter would be the year minus the others");
        for (var q = 0; q < 4; q++)
        {
            var months = Enumerable.Range((3 * q) + 1, 3).Select(m => string.Create(CultureInfo.InvariantCulture, $"{year}-{m:D2}")).ToList();
            var hidden = months.Count(m => byMonth.TryGetValue(m, out var v) && v is null)
                + (byQuarter.TryGetValue(Quarter(q), out var quarter) && quarter is null ? 1 : 0);
            Assert.NotEqual(1, hidden);
        }
    }

    [Fact]
    public async Task TheThreshold_IsConfiguration()
    {
        var s = await SetUpAsync(new Dictionary<string, string?> { ["Messaging:Reports:MinimumCellCount"] = "4" });
        await using var app = s.App;
        var report = (await s.Operator.GetFromJsonAsync<ReferralReport>($"{ApiRoutes.ReferralReport}?year={s.Year}"))!;
        Assert.Equal([new ReferralReportRow(s.Year, OrganisationTypes.Coordination, 4, 0, 0, 0), new ReferralReportRow(s.Year, OrganisationTypes.PreventionService, 5, 4, 5, 0)], report.Rows);
    }

    [Fact]
    public async Task OnlyTheOperator_GetsTheReport_WithAValidYearGranularityAndFormat()
    {
        await using var app = new MessagingApp(storage);
        var a = await app.CreateOrganisationAsync();
        var year = app.Clock.GetUtcNow().Year;
        await Refusal.AssertHttpAsync(ErrorCodes.Forbidden, 403, await (await app.ClientAsync(a.Admin)).GetAsync(new Uri($"{ApiRoutes.ReferralReport}?year={year}", UriKind.Relative)));
        var op = await app.ClientAsync(await app.OperatorAsync());
        await Refusal.AssertHttpAsync(ErrorCodes.Malformed, 400, await op.GetAsync(new Uri($"{ApiRoutes.ReferralReport}?year={year}&granularity=week", UriKind.Relative)));
        await Refusal.AssertHttpAsync(ErrorCodes.Malformed, 400, await op.GetAsync(new Uri($"{ApiRoutes.ReferralReport}?year={year}&format=xml", UriKind.Relative)));
        await Refusal.AssertHttpAsync(ErrorCodes.Malformed, 400, await op.GetAsync(new Uri(ApiRoutes.ReferralReport, UriKind.Relative)));
    }

    [Fact]
    public void TheCsvWriter_QuotesFieldsAsRfc4180Says()
    {
        var report = new ReferralReport(2031, ReportGranularities.Month, 5,
        [
            new ReferralReportRow("2031-01", "type, with comma", 12, null, 0, 5),
            new ReferralReportRow("2031-02", "type \"quoted\"", 1000, 7, null, null),
        ]);
        Assert.Equal(
            "period,partner_type,referrals_sent,accepted,declined,tripartite_proposed\r\n"
            + "2031-01,\"type, with comma\",12,suppressed,0,5\r\n"
            + "2031-02,\"type \"\"quoted\"\"\",1000,7,suppressed,suppressed\r\n",
            Messaging.Server.Features.Reports.ReportService.ToCsv(report));
    }

    private static void AssertNothingIdentifying(string body, List<string> caseReferences)
    {
        Assert.All(caseReferences, r => Assert.DoesNotContain(r, body, StringComparison.Ordinal));
        Assert.DoesNotContain("Secret", body, StringComparison.Ordinal);
        Assert.DoesNotContain("organisationId", body, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("caseReference", body, StringComparison.OrdinalIgnoreCase);
    }

    public sealed class OnSqlite() : ReportTests(StorageProvider.Sqlite);

    public sealed class OnPostgres() : ReportTests(StorageProvider.Postgres);
}
