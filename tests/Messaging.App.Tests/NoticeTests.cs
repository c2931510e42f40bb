using Messaging.App.Tests.Infrastructure;
using Messaging.Client.Notices;
using Messaging.Contracts;
using Messaging.Contracts.Referrals;
using static Microsoft.Playwright.Assertions;

namespace Messaging.App.Tests;

/// <summary>The worker following a person proposes the judicial mandate to a justice assistant, who accepts it in their
/// app; the worker sends an attendance notice, signed on their device; the assistant's inbox shows it verified, with a
/// printable certificate that checks offline. The host of an interview under the mandate records a no-show in their app:
/// refused before the interview's start, then recorded, and the assistant's inbox shows the verified notice.</summary>
[Collection(BrowserCollection.Name)]
public sealed class NoticeTests(BrowserWorld world)
{
    [Fact]
    public async Task TheAssistant_SeesTheWorkersNoShowNotice_Verified_WithACertificateThatChecksOffline()
    {
        var platform = world.Platform;
        var marker = Guid.NewGuid().ToString("N")[..8];
        var assistantDevice = await JusticeHouse.AssistantAsync(platform, marker);
        var (_, bruno, _, _, record) = await ReferredCase.CreateAsync(platform, marker, ReferralResponse.Accept);

        await using var worker = await AppWorker.OpenAsync(world, "Bruno", bruno);
        await using var assistant = await AppWorker.OpenAsync(world, "Justine", assistantDevice);

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
        Assert.Equal(CertificateStatus.NotAuthenticated, AttendanceCertificate.Verify(html).Status); // the file alone never vouches
        var policy = (await response.AllHeadersAsync())["content-security-policy"];
        Assert.StartsWith("default-src 'none'", policy, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe", policy, StringComparison.Ordinal);
        await Expect(assistant.Page.Locator("h1")).ToHaveTextAsync("Attendance certificate");
        await assistant.ScreenshotAsync("certificate");
    }

    [Fact]
    public async Task TheHost_RecordsANoShow_OnAnInterviewUnderMandate_OnlyOnceItStarted_AndTheAssistantsInboxShowsTheVerifiedNotice()
    {
        var platform = world.Platform;
        var marker = Guid.NewGuid().ToString("N")[..8];
        var assistantDevice = await JusticeHouse.AssistantAsync(platform, marker);
        var (aline, bruno, _, _, record) = await ReferredCase.CreateAsync(platform, marker, ReferralResponse.Accept);
        await assistantDevice.AcceptMandateAsync((await bruno.ProposeMandateAsync(record.CaseReference, assistantDevice.MemberId)).MandateId);
        Task<InterviewEntry> InviteAsync(DateTimeOffset start) => bruno.Interviews.InviteAsync(new ProposeInterviewRequest(Guid.NewGuid(), record.CaseReference,
            [aline.MemberId], IncludesPerson: true, start, 30, Address: "Rue de la Loi 16, 1000 Bruxelles"));
        var upcoming = await InviteAsync(TimeProvider.System.GetUtcNow().AddDays(2));
        var started = await InviteAsync(TimeProvider.System.GetUtcNow().AddSeconds(2));

        await using var host = await AppWorker.OpenAsync(world, "Bruno", bruno);
        await using var assistant = await AppWorker.OpenAsync(world, "Justine", assistantDevice);
        await assistant.Page.GetByRole(Microsoft.Playwright.AriaRole.Link, new() { Name = "Avis de présence" }).ClickAsync();

        // Before its start, the server refuses an outcome: the host reads why, and the interview stays as it was.
        await host.Page.GetByRole(Microsoft.Playwright.AriaRole.Link, new() { Name = "Entretiens" }).ClickAsync();
        var early = InterviewCard(host, upcoming.InterviewId);
        await early.Locator("select").SelectOptionAsync(nameof(PersonAttendance.NoShow));
        await early.Locator(".record-outcome").ClickAsync();
        await Expect(host.Page.Locator("#error")).ToBeVisibleAsync();
        await Expect(early.Locator(".interview-state")).ToHaveTextAsync("proposé");

        while (TimeProvider.System.GetUtcNow() < started.Start.AddMilliseconds(300))
        {
            await Task.Delay(100);
        }

        var card = InterviewCard(host, started.InterviewId);
        await card.Locator("select").SelectOptionAsync(new Microsoft.Playwright.SelectOptionValue { Label = "tenu, la personne ne s'est pas présentée" });
        await host.ScanAsync("interviews, organiser side, with outcomes to record");
        await card.Locator(".record-outcome").ClickAsync();
        await Expect(host.Page.Locator("#notice")).ToContainTextAsync("Issue enregistrée");
        await Expect(card.Locator(".interview-state")).ToHaveTextAsync("tenu");
        await Expect(card.Locator(".record-outcome")).ToHaveCountAsync(0);

        // The assistant's inbox: the no-show, verified, signed by the host, for the interview's day.
        var row = assistant.Page.Locator("tr.notice");
        await Expect(row).ToContainTextAsync("absence non justifiée", new() { Timeout = 20_000 });
        await Expect(row.Locator(".verification")).ToHaveTextAsync("vérifié");
        await Expect(row).ToContainTextAsync($"Bruno {marker}");
        await Expect(row).ToHaveCountAsync(1);
    }

    private static Microsoft.Playwright.ILocator InterviewCard(AppWorker worker, Guid interviewId)
        => worker.Page.Locator($"#interview-{interviewId}");
}
