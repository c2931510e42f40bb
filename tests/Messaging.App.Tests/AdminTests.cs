using Messaging.App.Tests.Infrastructure;
using Messaging.Client.Tests.Infrastructure;
using Messaging.Contracts;
using static Microsoft.Playwright.Assertions;

namespace Messaging.App.Tests;

/// <summary>An organisation's admin, in the app, creates a worker and issues their one-time code; the worker enrols with
/// it in their own app; the admin revokes the worker's device.</summary>
[Collection(BrowserCollection.Name)]
public sealed class AdminTests(BrowserWorld world)
{
    [Fact]
    public async Task AnAdmin_CreatesAWorker_AndIssuesACode_TheWorkerEnrolsWithIt_ThenTheAdminRevokesTheDevice()
    {
        var platform = world.Platform;
        var marker = Guid.NewGuid().ToString("N")[..8];
        var (_, adminDevice) = await platform.CreateOrganisationAsync($"Service {marker}");
        await using var admin = await AppWorker.OpenAsync(world, "admin", adminDevice);
        await admin.Page.GetByRole(Microsoft.Playwright.AriaRole.Link, new() { Name = "Administration" }).ClickAsync();
        await admin.ScanAsync("administration");

        await admin.Page.GetByLabel("Nom", new() { Exact = true }).FillAsync($"Élise {marker}");
        await admin.Page.GetByLabel("Courriel professionnel").FillAsync($"elise.{marker}@service.example");
        await admin.Page.Locator("#create-member").ClickAsync();
        await Expect(admin.Page.Locator("#notice")).ToContainTextAsync("Membre créé");
        var row = admin.Page.Locator(".member-row", new() { HasText = $"Élise {marker}" });
        await row.Locator(".issue-code").ClickAsync();
        var code = (await admin.Page.Locator("#code").InnerTextAsync()).Trim();
        Assert.NotEmpty(code);
        await admin.ScreenshotAsync("admin");
        // Shown once: the next load of the page no longer carries it.
        await admin.Page.ReloadAsync();
        await Expect(admin.Page.Locator("#code")).ToHaveCountAsync(0);

        await using var elise = await AppWorker.StartAsync(world, "Élise", platform.NewStorePath());
        await elise.EnrolAsync(platform.Server.Url, code);
        await elise.Page.GetByRole(Microsoft.Playwright.AriaRole.Link, new() { Name = "Mes appareils" }).ClickAsync();
        await Expect(elise.Page.Locator("#device-status")).ToContainTextAsync("approuvé");
        await elise.ScanAsync("my devices");

        await admin.Page.ReloadAsync();
        await Expect(row.Locator(".revoke-device")).ToHaveCountAsync(1);
        await row.Locator(".revoke-device").ClickAsync();
        await Expect(admin.Page.Locator("#notice")).ToContainTextAsync("Appareil révoqué");
        await Expect(row.Locator(".revoke-device")).ToHaveCountAsync(0);
        Assert.DoesNotContain(code, string.Join("\n", admin.Urls), StringComparison.Ordinal);
        Assert.DoesNotContain(code, admin.App.Logs, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheOperator_SeesTheCommitteeReport_AsATableAndAChart_WithSmallCountsSuppressed()
    {
        // Its own platform: the operator's only device goes to the app (a member with a device gets no second code
        // from the operator, and the shared platform's operator keeps building the other tests' populations).
        await using var platform = await Platform.StartAsync();
        var marker = Guid.NewGuid().ToString("N")[..8];
        var (_, adminX) = await platform.CreateOrganisationAsync($"Service X {marker}");
        var (serviceY, _) = await platform.CreateOrganisationAsync($"Service Y {marker}");
        var aline = await platform.EnrolDeviceAsync(adminX, await platform.CreateMemberAsync(adminX, $"Aline {marker}"));
        await aline.ReferAsync(serviceY, new Client.Cases.ReferralRecord(Contracts.Referrals.CaseReference.New(), Client.Cases.RequestNature.Individual,
            Client.Cases.Requester.Family, "21012", false, Client.Cases.ReasonCategory.PsychosocialSupport, Client.Cases.Urgency.Normal));
        await using var op = await AppWorker.StartAsync(world, "operator", await platform.ReleaseAsync(platform.Operator));
        await op.UnlockAsync(Platform.Passphrase);
        await op.Page.GetByRole(Microsoft.Playwright.AriaRole.Link, new() { Name = "Rapport du comité" }).ClickAsync();
        await Expect(op.Page.Locator("#report-table")).ToContainTextAsync("service de prévention");
        await Expect(op.Page.Locator("#report-chart")).ToBeVisibleAsync();
        await Expect(op.Page.Locator("#report-table")).ToContainTextAsync("<");
        Assert.DoesNotContain(marker, await op.Page.ContentAsync(), StringComparison.Ordinal);
        await op.ScanAsync("committee report");
        await op.ScreenshotAsync("report");
    }

    [Fact]
    public async Task AnOrganisationAdmin_ObjectsToAJoinRequest_BeforeItsDeadline()
    {
        var platform = world.Platform;
        var marker = Guid.NewGuid().ToString("N")[..8];
        var (_, adminDevice) = await platform.CreateOrganisationAsync($"Service {marker}");
        var filed = await platform.Operator.Api.FileJoinRequestAsync(await platform.Operator.GetAccessTokenAsync(),
            new FileJoinRequest($"Entité candidate {marker}", OrganisationTypes.PreventionService, "community"));
        await using var admin = await AppWorker.OpenAsync(world, "admin", adminDevice);
        await admin.Page.GetByRole(Microsoft.Playwright.AriaRole.Link, new() { Name = "Partenaires" }).ClickAsync();
        var row = admin.Page.Locator(".join-request", new() { HasText = $"Entité candidate {marker}" });
        await Expect(row.Locator(".request-status")).ToHaveTextAsync("en attente");
        await admin.ScanAsync("partner directory");
        await admin.ScreenshotAsync("partners");
        await row.Locator(".objection-reason").SelectOptionAsync(ObjectionReasons.OutsideScope);
        await row.Locator(".object").ClickAsync();
        await Expect(admin.Page.Locator("#notice")).ToContainTextAsync("Objection enregistrée");
        await Expect(row.Locator(".objections")).ToContainTextAsync("1");
        await Expect(row.Locator(".object")).ToHaveCountAsync(0);
        var after = (await platform.Operator.ListJoinRequestsAsync()).Single(r => r.JoinRequestId == filed.JoinRequestId);
        Assert.Equal(1, after.Objections);
    }
}
