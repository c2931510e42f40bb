using System.Globalization;
using System.Text.Json;
using Messaging.App.Localization;
using Messaging.App.Tests.Infrastructure;
using Messaging.Client;
using Messaging.Client.Cases;
using Messaging.Client.Tests.Infrastructure;
using Messaging.Contracts;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Messaging.App.Tests;

/// <summary>
/// Its own platform, whose operator's only device is opened by the app in each test (one app at a time: a store has one
/// owner). Before that: a service X with its admin (who checks, with the SDK, what the operator's pages changed on the
/// server), a service Y it referred a person to (for the report) and a service Z to withdraw.
/// </summary>
public sealed class OperatorPlatform : IAsyncLifetime
{
    internal Platform Platform { get; private set; } = null!;

    internal string OperatorStore { get; private set; } = null!;

    internal MessagingClient AdminX { get; private set; } = null!;

    internal string Marker { get; } = Guid.NewGuid().ToString("N")[..8];

    internal string ServiceZ => $"Service Z {Marker}";

    public async Task InitializeAsync()
    {
        Platform = await Platform.StartAsync();
        (_, var adminX) = await Platform.CreateOrganisationAsync($"Service X {Marker}");
        var (serviceY, _) = await Platform.CreateOrganisationAsync($"Service Y {Marker}");
        await Platform.CreateOrganisationAsync(ServiceZ);
        AdminX = adminX;
        var aline = await Platform.EnrolDeviceAsync(adminX, await Platform.CreateMemberAsync(adminX, $"Aline {Marker}"));
        await aline.ReferAsync(serviceY, new ReferralRecord(Contracts.Referrals.CaseReference.New(), RequestNature.Individual,
            Requester.Family, "21012", false, ReasonCategory.PsychosocialSupport, Urgency.Normal));
        OperatorStore = await Platform.ReleaseAsync(Platform.Operator);
    }

    public async Task DisposeAsync() => await Platform.DisposeAsync();
}

/// <summary>The platform operator, in the browser: the directory's administration (a new organisation, a service's
/// level, referrals and communes, a new commune), a join request and a partner's withdrawal, and the committee report as
/// a file. Each change is checked on the server through another member's SDK.</summary>
[Collection(BrowserCollection.Name)]
public sealed class OperatorAdministrationTests(BrowserWorld world, OperatorPlatform operatorPlatform) : IClassFixture<OperatorPlatform>
{
    private static readonly JsonSerializerOptions WebJson = new(JsonSerializerDefaults.Web);

    [Fact]
    public async Task TheOperator_CreatesAnOrganisation_AddsACommune_AndSetsTheServicesDirectoryEntry()
    {
        var marker = operatorPlatform.Marker;
        var serviceName = $"Service N {marker}";
        await using var op = await OpenOperatorAsync();
        await op.Page.GetByRole(AriaRole.Link, new() { Name = "Annuaire" }).ClickAsync();
        await Expect(op.Page).ToHaveTitleAsync("Annuaire et organisations · Messaging");
        await op.ScanAsync("directory administration");

        await op.Page.GetByLabel("Nom de l'organisation").FillAsync(serviceName);
        await op.Page.Locator("#organisation-type").SelectOptionAsync(OrganisationTypes.PreventionService);
        await op.Page.Locator("#create-organisation").ClickAsync();
        await Expect(op.Page.Locator("#notice")).ToContainTextAsync("Organisation créée");
        var row = op.Page.Locator(".service-row", new() { HasText = serviceName });
        await Expect(row).ToContainTextAsync("partenaire actif");
        Assert.Contains((await operatorPlatform.AdminX.ListOrganisationsAsync()), o => o.Name == serviceName);

        // A NIS code is five digits: refused here, as the command line refuses it, and nothing is added.
        await op.Page.GetByLabel("Code NIS").FillAsync("9399");
        await op.Page.GetByLabel("Nom de la commune").FillAsync($"Commune {marker}");
        await op.Page.Locator("#add-commune").ClickAsync();
        await Expect(op.Page.Locator("#error")).ToContainTextAsync("cinq chiffres");
        await op.Page.GetByLabel("Code NIS").FillAsync("93999");
        await op.Page.GetByLabel("Nom de la commune").FillAsync($"Commune {marker}");
        await op.Page.Locator("#commune-region").SelectOptionAsync(Regions.Wallonia);
        await op.Page.Locator("#add-commune").ClickAsync();
        await Expect(op.Page.Locator("#notice")).ToContainTextAsync("Commune ajoutée");

        await op.Page.GetByLabel("Service", new() { Exact = true }).SelectOptionAsync(new SelectOptionValue { Label = serviceName });
        await op.Page.Locator("#level").SelectOptionAsync(ServiceLevels.Local);
        await op.Page.Locator("#accepts").SelectOptionAsync("true");
        await op.Page.Locator("#communes").FillAsync("93999");
        await op.Page.Locator("#set-service").ClickAsync();
        await Expect(op.Page.Locator("#notice")).ToContainTextAsync("Service mis à jour");
        await Expect(row.Locator(".service-level")).ToHaveTextAsync("local");
        await Expect(row.Locator(".service-accepts")).ToHaveTextAsync("oui");
        await Expect(row.Locator(".service-communes")).ToHaveTextAsync($"93999 Commune {marker}");
        await op.ScanAsync("directory administration after changes");
        await op.ScreenshotAsync("directory");

        // The server's own refusal (an unknown commune) reads as a sentence, in the chosen language, and changes nothing.
        await op.Page.Locator("#language-choice").SelectOptionAsync("nl-BE");
        await op.Page.GetByRole(AriaRole.Button, new() { Name = "Appliquer" }).ClickAsync();
        await op.Page.Locator("#organisation").SelectOptionAsync(new SelectOptionValue { Label = serviceName });
        await op.Page.Locator("#communes").FillAsync("93998");
        await op.Page.Locator("#set-service").ClickAsync();
        await Expect(op.Page.Locator("#error")).ToHaveTextAsync("Onbekende gemeente.");
        await Expect(row.Locator(".service-communes")).ToHaveTextAsync($"93999 Commune {marker}");
        await op.Page.Locator("#set-service").ClickAsync(); // nothing chosen: nothing to send
        await Expect(op.Page.Locator("#error")).ToContainTextAsync("Niets te wijzigen");

        // On the server: a worker orienting a person from that commune finds the new local service.
        var orientation = await operatorPlatform.AdminX.OrientAsync("93999");
        Assert.Equal($"Commune {marker}", orientation.Commune.Name);
        Assert.Equal(Regions.Wallonia, orientation.Commune.Region);
        Assert.Contains(orientation.Services, s => s.Name == serviceName && s.Level == ServiceLevels.Local);
        Assert.DoesNotContain(serviceName, string.Join("\n", op.Urls), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheOperator_FilesAJoinRequest_AndAPartnersWithdrawal_WhoseEffectiveDateIsShown()
    {
        var marker = operatorPlatform.Marker;
        var candidate = $"Entité candidate {marker}";
        await using var op = await OpenOperatorAsync();
        await op.Page.GetByRole(AriaRole.Link, new() { Name = "Partenaires" }).ClickAsync();

        // A regional service names its region: the server refuses it otherwise, and the page says so.
        await op.Page.Locator("#join-name").FillAsync(candidate);
        await op.Page.Locator("#join-level").SelectOptionAsync(ServiceLevels.Regional);
        await op.Page.Locator("#file-join").ClickAsync();
        await Expect(op.Page.Locator("#error")).ToContainTextAsync("mal formé");
        await Expect(op.Page.Locator(".join-request", new() { HasText = candidate })).ToHaveCountAsync(0);
        await op.Page.Locator("#join-name").FillAsync(candidate);
        await op.Page.Locator("#join-level").SelectOptionAsync(ServiceLevels.Regional);
        await op.Page.Locator("#join-region").SelectOptionAsync(Regions.Brussels);
        await op.Page.Locator("#file-join").ClickAsync();
        await Expect(op.Page.Locator("#notice")).ToContainTextAsync("Demande d'adhésion déposée");
        await Expect(op.Page.Locator(".join-request", new() { HasText = candidate }).Locator(".request-status")).ToHaveTextAsync("en attente");
        var request = Assert.Single(await operatorPlatform.AdminX.ListJoinRequestsAsync(), r => r.Name == candidate);
        Assert.Equal((ServiceLevels.Regional, Regions.Brussels, JoinRequestStatuses.Pending), (request.Level, request.Region, request.Status));

        // A withdrawal only once confirmed: without the box ticked the browser does not send it.
        await op.Page.ReloadAsync();
        await Expect(op.Page.Locator("#notice")).ToHaveCountAsync(0);
        await op.Page.Locator("#withdraw-organisation").SelectOptionAsync(new SelectOptionValue { Label = operatorPlatform.ServiceZ });
        await op.Page.Locator("#file-withdrawal").ClickAsync();
        await Expect(op.Page.Locator("#notice")).ToHaveCountAsync(0);
        await op.ScanAsync("partners, operator");
        await op.Page.GetByLabel("Je confirme ce retrait du protocole").CheckAsync();
        await op.Page.Locator("#file-withdrawal").ClickAsync();
        await Expect(op.Page.Locator("#notice")).ToContainTextAsync("Retrait déposé");
        var token = await operatorPlatform.AdminX.GetAccessTokenAsync();
        var zId = (await operatorPlatform.AdminX.ListOrganisationsAsync()).Single(o => o.Name == operatorPlatform.ServiceZ).OrganisationId;
        var withdrawal = Assert.Single(await operatorPlatform.AdminX.Api.ListWithdrawalsAsync(token), w => w.OrganisationId == zId);
        Assert.Equal(WithdrawalStatuses.Pending, withdrawal.Status);
        var shown = op.Page.Locator(".withdrawal", new() { HasText = operatorPlatform.ServiceZ });
        await Expect(shown.Locator(".effective")).ToHaveTextAsync(BrusselsTime.DateTime(withdrawal.EffectiveAt, Language.French));
        await Expect(shown.Locator(".withdrawal-status")).ToHaveTextAsync("en préavis");
        // Z can no longer be chosen: it is withdrawing.
        await Expect(op.Page.Locator("#withdraw-organisation option", new() { HasText = operatorPlatform.ServiceZ })).ToHaveCountAsync(0);
        await op.ScanAsync("partners, operator, after a withdrawal");
        await op.ScreenshotAsync("partners-operator");
    }

    [Fact]
    public async Task TheOperator_DownloadsTheCommitteeReport_AsCsvAndAsJson()
    {
        await using var op = await OpenOperatorAsync();
        await op.Page.GetByRole(AriaRole.Link, new() { Name = "Rapport du comité" }).ClickAsync();
        await Expect(op.Page.Locator("#report-table")).ToContainTextAsync("service de prévention");
        var year = int.Parse(await op.Page.Locator("#year").InputValueAsync(), CultureInfo.InvariantCulture);
        await op.ScanAsync("committee report with its downloads");

        var csv = await op.Page.RunAndWaitForDownloadAsync(() => op.Page.Locator("#download-csv").ClickAsync());
        Assert.Equal($"referral-report-{year}-quarter.csv", csv.SuggestedFilename);
        var lines = (await File.ReadAllTextAsync((await csv.PathAsync())!)).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("period,partner_type,referrals_sent,accepted,declined,tripartite_proposed", lines[0]);
        Assert.Contains(lines, l => l.StartsWith($"{year}-Q", StringComparison.Ordinal) && l.Contains($",{OrganisationTypes.PreventionService},", StringComparison.Ordinal));

        var json = await op.Page.RunAndWaitForDownloadAsync(() => op.Page.Locator("#download-json").ClickAsync());
        Assert.Equal($"referral-report-{year}-quarter.json", json.SuggestedFilename);
        var report = JsonSerializer.Deserialize<ReferralReport>(await File.ReadAllTextAsync((await json.PathAsync())!), WebJson)!;
        Assert.Equal((year, ReportGranularities.Quarter), (report.Year, report.Granularity));
        Assert.Contains(report.Rows, r => r.PartnerType == OrganisationTypes.PreventionService);

        // Sent as an attachment, never shown in the page.
        var response = await op.Context.APIRequest.GetAsync(new Uri(op.App.BaseUrl, $"report?handler=Export&year={year}&granularity=year&format=csv").ToString());
        Assert.Equal(200, response.Status);
        Assert.StartsWith("attachment;", response.Headers["content-disposition"], StringComparison.Ordinal);
        Assert.StartsWith("text/csv", response.Headers["content-type"], StringComparison.Ordinal);
        Assert.StartsWith("period,partner_type", await response.TextAsync(), StringComparison.Ordinal);
        // An unknown format is refused, and the page says so.
        await op.GoAsync($"/report?handler=Export&year={year}&granularity=quarter&format=xlsx");
        await Expect(op.Page.Locator("#error")).ToContainTextAsync("n'est pas valable");
    }

    private async Task<AppWorker> OpenOperatorAsync()
    {
        var op = await AppWorker.StartAsync(world, "operator", operatorPlatform.OperatorStore);
        try
        {
            await op.UnlockAsync(Platform.Passphrase);
            return op;
        }
        catch
        {
            await op.DisposeAsync();
            throw;
        }
    }
}
