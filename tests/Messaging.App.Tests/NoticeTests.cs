using Messaging.App.Tests.Infrastructure;
using Messaging.Client.Notices;
using Messaging.Client.Tests.Infrastructure;
using Messaging.Contracts;
using Messaging.Contracts.Referrals;
using static Microsoft.Playwright.Assertions;

namespace Messaging.App.Tests;

/// <summary>The worker following a person proposes the judicial mandate to a justice assistant, who accepts it in their
/// app; the worker sends an attendance notice, signed on their device; the assistant's inbox shows it verified, with a
/// printable certificate that checks offline.</summary>
[Collection(BrowserCollection.Name)]
public sealed class NoticeTests(BrowserWorld world)
{
    [Fact]
    public async Task TheAssistant_SeesTheWorkersNoShowNotice_Verified_WithACertificateThatChecksOffline()
    {
        var platform = world.Platform;
        var marker = Guid.NewGuid().ToString("N")[..8];
        var token = await platform.Operator.GetAccessTokenAsync();
        var house = await platform.Operator.Api.CreateOrganisationAsync(token, new CreateOrganisationRequest($"Maison de justice {marker}", OrganisationTypes.JusticeHouse));
        var houseAdmin = await platform.Operator.Api.CreateMemberAsync(token, new CreateMemberRequest(house.OrganisationId, $"Admin MJ {marker}", Roles.OrganisationAdmin, $"mj.{marker}@example.be"));
        var houseAdminDevice = await platform.EnrolDeviceAsync(platform.Operator, houseAdmin.MemberId);
        var assistantDevice = await platform.EnrolDeviceAsync(houseAdminDevice, await platform.CreateMemberAsync(houseAdminDevice, $"Justine {marker}", Roles.JusticeAssistant));
        var (_, bruno, _, _, record) = await ReferredCase.CreateAsync(platform, marker, ReferralResponse.Accept);

        await using var worker = await AppWorker.StartAsync(world, "Bruno", await platform.ReleaseAsync(bruno));
        await using var assistant = await AppWorker.StartAsync(world, "Justine", await platform.ReleaseAsync(assistantDevice));
        await worker.UnlockAsync(Platform.Passphrase);
        await assistant.UnlockAsync(Platform.Passphrase);

        // The worker proposes the mandate from the case; the assistant accepts it.
        await worker.GoAsync($"/cases/{record.CaseReference}");
        await worker.Page.GetByLabel("Assistant de justice").SelectOptionAsync(new Microsoft.Playwright.SelectOptionValue { Label = $"Justine {marker}" });
        await worker.Page.Locator("#propose-mandate").ClickAsync();
        await Expect(worker.Page.Locator("#notice")).ToContainTextAsync("Mandat proposé");
        await assistant.Page.GetByRole(Microsoft.Playwright.AriaRole.Link, new() { Name = "Avis de présence" }).ClickAsync();
        await assistant.Page.Locator(".accept-mandate").ClickAsync();
        await Expect(assistant.Page.Locator(".mandate-status")).ToHaveTextAsync("accepté");

        // A no-show on 3 March, signed on the worker's device.
        await worker.Page.ReloadAsync();
        await worker.Page.GetByLabel("Avis", new() { Exact = true }).SelectOptionAsync("NoShow");
        await worker.Page.GetByLabel("Date de l'entretien").FillAsync("2031-03-03");
        await worker.ScanAsync("case with a mandate");
        await worker.Page.Locator("#send-notice").ClickAsync();
        await Expect(worker.Page.Locator("#notice")).ToContainTextAsync("Avis signé");

        // The assistant's inbox shows it, live, verified, naming the worker and the service.
        var row = assistant.Page.Locator("tr.notice");
        await Expect(row).ToContainTextAsync("absence non justifiée", new() { Timeout = 20_000 });
        await Expect(row.Locator(".verification")).ToHaveTextAsync("vérifié");
        await Expect(row).ToContainTextAsync($"Bruno {marker}");
        await Expect(row).ToContainTextAsync("3 mars 2031");
        await assistant.ScanAsync("notice inbox");
        await assistant.ScreenshotAsync("notices");

        // The printable certificate: what the SDK rendered, checking offline, under a policy that lets nothing run.
        var href = await row.Locator(".certificate-link").GetAttributeAsync("href");
        var response = await assistant.Page.GotoAsync(new Uri(assistant.App.BaseUrl, href).ToString());
        var html = await response!.TextAsync();
        Assert.Equal(CertificateStatus.Valid, AttendanceCertificate.Verify(html).Status);
        var policy = (await response.AllHeadersAsync())["content-security-policy"];
        Assert.StartsWith("default-src 'none'", policy, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe", policy, StringComparison.Ordinal);
        await Expect(assistant.Page.Locator("h1")).ToHaveTextAsync("Attendance certificate");
        await assistant.ScreenshotAsync("certificate");
    }
}
