using Messaging.App.Tests.Infrastructure;
using Messaging.Client.Cases;
using Messaging.Contracts.Referrals;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Messaging.App.Tests;

/// <summary>The answers other than an acceptance, in the app: the receiving worker proposes a tripartite interview on one
/// referral and declines another with its closed reason; the referring worker sees both and withdraws a third. A worker
/// who is no administrator is refused the administration page.</summary>
[Collection(BrowserCollection.Name)]
public sealed class ReferralAnswerTests(BrowserWorld world)
{
    [Fact]
    public async Task TheReceivingWorker_ProposesATripartiteInterview_AndDeclinesWithAReason_TheReferringWorkerSeesBoth_AndWithdrawsAThird()
    {
        var platform = world.Platform;
        var marker = Guid.NewGuid().ToString("N")[..8];
        var (aline, bruno, _, serviceY, tripartite) = await ReferredCase.CreateAsync(platform, marker, answer: null);
        var declined = tripartite with { CaseReference = CaseReference.New(), Urgency = Urgency.Priority };
        var withdrawn = tripartite with { CaseReference = CaseReference.New(), Reason = ReasonCategory.PsychosocialSupport };
        await aline.ReferAsync(serviceY, declined);
        await aline.ReferAsync(serviceY, withdrawn);

        await using var receiving = await AppWorker.OpenAsync(world, "Bruno", bruno);
        await using var referring = await AppWorker.OpenAsync(world, "Aline", aline);

        await receiving.GoAsync($"/cases/{tripartite.CaseReference}");
        await Expect(receiving.Page.Locator("#case-status")).ToHaveTextAsync("en attente de réponse");
        await receiving.Page.GetByLabel("Proposer un entretien tripartite").CheckAsync();
        await receiving.Page.Locator("#respond").ClickAsync();
        await Expect(receiving.Page.Locator("#notice")).ToContainTextAsync("Réponse envoyée");
        await Expect(receiving.Page.Locator("#case-status")).ToHaveTextAsync("entretien tripartite proposé");
        // After the tripartite interview, the service still accepts or declines: the answer form stays.
        await Expect(receiving.Page.Locator("#respond-form")).ToHaveCountAsync(1);
        await receiving.ScanAsync("referral answered with a tripartite proposal");

        await receiving.GoAsync($"/cases/{declined.CaseReference}");
        await receiving.Page.GetByLabel("Refuser", new() { Exact = true }).CheckAsync();
        await receiving.Page.GetByLabel("Motif du refus (si vous refusez)").SelectOptionAsync(nameof(ReferralDeclineReason.NoCapacity));
        await receiving.ScanAsync("referral answer form");
        await receiving.Page.Locator("#respond").ClickAsync();
        await Expect(receiving.Page.Locator("#case-status")).ToHaveTextAsync("refusée (pas de capacité)");
        await Expect(receiving.Page.Locator("#respond-form")).ToHaveCountAsync(0);

        // The referring side: the proposal and the refusal with its reason; no withdrawal of an answered refusal.
        await referring.GoAsync($"/cases/{tripartite.CaseReference}");
        await Expect(referring.Page.Locator("#case-status")).ToHaveTextAsync("entretien tripartite proposé");
        await referring.GoAsync($"/cases/{declined.CaseReference}");
        await Expect(referring.Page.Locator("#case-status")).ToHaveTextAsync("refusée (pas de capacité)");
        await Expect(referring.Page.Locator("#withdraw")).ToHaveCountAsync(0);
        await referring.ScanAsync("declined referral, referring side");

        // The third, still unanswered, is withdrawn: the receiving service sees it withdrawn and can no longer answer it.
        await referring.GoAsync($"/cases/{withdrawn.CaseReference}");
        await Expect(referring.Page.Locator("#case-status")).ToHaveTextAsync("en attente de réponse");
        await referring.Page.Locator("#withdraw").ClickAsync();
        await Expect(referring.Page.Locator("#case-status")).ToHaveTextAsync("retirée");
        await Expect(referring.Page.Locator("#withdraw")).ToHaveCountAsync(0);
        await referring.ScanAsync("withdrawn referral");
        await receiving.GoAsync($"/cases/{withdrawn.CaseReference}");
        await Expect(receiving.Page.Locator("#case-status")).ToHaveTextAsync("retirée");
        await Expect(receiving.Page.Locator("#respond-form")).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task AWorker_OpeningTheAdministrationPage_IsRefused_AndSeesNoAdministration()
    {
        var platform = world.Platform;
        var marker = Guid.NewGuid().ToString("N")[..8];
        var (_, adminDevice) = await platform.CreateOrganisationAsync($"Service {marker}");
        var workerDevice = await platform.EnrolDeviceAsync(adminDevice, await platform.CreateMemberAsync(adminDevice, $"Chloé {marker}"));
        await using var worker = await AppWorker.OpenAsync(world, "Chloé", workerDevice);

        await Expect(worker.Page.GetByRole(AriaRole.Link, new() { Name = "Administration" })).ToHaveCountAsync(0);
        var response = await worker.Page.GotoAsync(new Uri(worker.App.BaseUrl, "/admin").ToString());
        Assert.Equal(403, response!.Status);
        var content = await worker.Page.ContentAsync();
        Assert.DoesNotContain("Courriel professionnel", content, StringComparison.Ordinal);
        Assert.DoesNotContain("create-member", content, StringComparison.Ordinal);
        Assert.DoesNotContain($"Chloé {marker}", content, StringComparison.Ordinal);
    }
}
