using System.Diagnostics;
using Messaging.App.Tests.Infrastructure;
using Messaging.Contracts;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Messaging.App.Tests;

/// <summary>
/// Two workers of two services, each with their own app and browser, do the whole flow against the real server: enrol,
/// converse (live), compare safety numbers, orient and refer, accept, share the identity, record consent, send a case
/// note, revoke the consent. Each page is scanned with axe once, in its fullest state (the conversations and referrals
/// lists with a row, the referring side's case page with its consent and note forms, which it also shows before the
/// first consent); a planted name never reaches a URL, a title or a log.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class WorkflowTests(BrowserWorld world)
{
    private const string Molenbeek = "21012";

    [Fact]
    public async Task TwoWorkersOfTwoServices_CompleteTheReferralFlowInTheBrowser_AndEachSeesWhatTheyShould()
    {
        var platform = world.Platform;
        var marker = Guid.NewGuid().ToString("N")[..8];
        var serviceX = $"Prévention Molenbeek {marker}";
        var serviceY = $"Aide aux familles {marker}";
        var (_, adminX) = await platform.CreateOrganisationAsync(serviceX);
        var (organisationY, adminY) = await platform.CreateOrganisationAsync(serviceY);
        await platform.Operator.Api.UpdateDirectoryServiceAsync(await platform.Operator.GetAccessTokenAsync(), organisationY,
            new UpdateDirectoryServiceRequest(Level: "local", AcceptsReferrals: true, CommuneCodes: [Molenbeek]));
        var alineCode = await platform.IssueCodeAsync(adminX, await platform.CreateMemberAsync(adminX, $"Aline {marker}"));
        var brunoCode = await platform.IssueCodeAsync(adminY, await platform.CreateMemberAsync(adminY, $"Bruno {marker}"));
        // The person: planted, and looked for afterwards in every URL, title and log.
        var familyName = $"Vandenbroucke{marker}";
        var givenNames = $"Maryam{marker}";
        var noteText = $"Synthèse de l'entretien {marker}";

        await using var aline = await AppWorker.StartAsync(world, "Aline", platform.NewStorePath());
        await using var bruno = await AppWorker.StartAsync(world, "Bruno", platform.NewStorePath());

        // Enrol, each in their own browser.
        await aline.ScanAsync("enrolment page");
        await aline.ScreenshotAsync("enrol");
        await aline.EnrolAsync(platform.Server.Url, alineCode);
        await bruno.EnrolAsync(platform.Server.Url, brunoCode);

        // Converse: Aline starts a conversation with Bruno and writes; Bruno's list shows it unread, live.
        await aline.Page.GetByRole(AriaRole.Link, new() { Name = "Nouvelle conversation" }).ClickAsync();
        await aline.ScanAsync("new conversation");
        await aline.Page.GetByLabel($"Bruno {marker}").CheckAsync();
        await aline.Page.Locator("#create-conversation").ClickAsync();
        await Expect(aline.Page.Locator("h1")).ToHaveTextAsync("Conversation");
        await aline.Page.GetByLabel("Votre message").FillAsync($"Bonjour Bruno {marker}");
        await aline.Page.Locator("#send").ClickAsync();
        var mine = aline.Page.Locator(".message.mine");
        await Expect(mine).ToContainTextAsync($"Bonjour Bruno {marker}");
        await Expect(mine.Locator(".delivery")).ToContainTextAsync("Remis au serveur pour");
        await bruno.GoAsync("/conversations");
        await Expect(bruno.Page.Locator(".badge.unread")).ToHaveTextAsync("1 non lu(s)", new() { Timeout = 20_000 });
        await bruno.ScanAsync("conversations with an unread one");
        await bruno.ScreenshotAsync("conversations");
        await bruno.Page.Locator(".conversation-link").ClickAsync();
        await Expect(bruno.Page.Locator(".message.theirs")).ToContainTextAsync($"Bonjour Bruno {marker}");
        await bruno.Page.GetByLabel("Votre message").FillAsync($"Bien reçu {marker}");
        // A double click sends once.
        await bruno.Page.Locator("#send").DblClickAsync();
        // Aline's open page shows the answer without a reload (the live script).
        await Expect(aline.Page.Locator(".message.theirs")).ToContainTextAsync($"Bien reçu {marker}", new() { Timeout = 20_000 });
        await Expect(bruno.Page.Locator(".message.mine", new() { HasText = $"Bien reçu {marker}" })).ToHaveCountAsync(1);
        await aline.Page.ReloadAsync();
        await Expect(aline.Page.Locator(".message.theirs", new() { HasText = $"Bien reçu {marker}" })).ToHaveCountAsync(1);
        await aline.ScanAsync("conversation");
        await aline.ScreenshotAsync("conversation");

        // Safety numbers: the same digits on both sides, and a QR code drawn by the app.
        await aline.Page.Locator(".safety-link").First.ClickAsync();
        var alineDigits = await aline.Page.Locator("#safety-number").InnerTextAsync();
        Assert.Equal(60, alineDigits.Count(char.IsDigit));
        // The image is a second request: wait until the browser has it (or gave up on it), then check it decoded.
        await aline.Page.WaitForFunctionAsync("() => document.querySelector('#safety-qr')?.complete === true", null, new() { Timeout = 20_000 });
        Assert.True(await aline.Page.Locator("#safety-qr").EvaluateAsync<bool>("img => img.naturalWidth > 0"), "the QR code did not load");
        await aline.ScanAsync("safety number");
        await aline.ScreenshotAsync("safety-number");
        await bruno.Page.Locator(".safety-link").First.ClickAsync();
        Assert.Equal(alineDigits, await bruno.Page.Locator("#safety-number").InnerTextAsync());

        // Orient by commune and refer with the closed fields only.
        await aline.GoAsync("/cases");
        await aline.Page.Locator("#new-referral").ClickAsync();
        await aline.Page.GetByLabel("Commune").SelectOptionAsync(Molenbeek);
        await aline.Page.Locator("#orient").ClickAsync();
        Assert.DoesNotContain(familyName, aline.Page.Url, StringComparison.Ordinal);
        await aline.Page.GetByLabel(serviceY).CheckAsync();
        await aline.Page.GetByLabel("Motif").SelectOptionAsync("PsychosocialSupport");
        await aline.Page.GetByLabel("Urgence").SelectOptionAsync("Priority");
        await aline.ScanAsync("orientation and referral form");
        await aline.ScreenshotAsync("refer");
        await aline.Page.Locator("#refer").ClickAsync();
        await Expect(aline.Page.Locator("#case-status")).ToHaveTextAsync("en attente de réponse");
        var casePath = new Uri(aline.Page.Url).AbsolutePath;
        var caseReference = casePath.Split('/').Last();
        Assert.Equal(26, caseReference.Length);

        // Bruno's service receives it, reads the closed fields, accepts.
        await bruno.GoAsync("/cases");
        await Expect(bruno.Page.Locator(".case-link")).ToContainTextAsync(caseReference);
        await bruno.ScanAsync("referrals");
        await bruno.ScreenshotAsync("referrals");
        await bruno.Page.Locator(".case-link").ClickAsync();
        await ReloadUntilVisibleAsync(bruno.Page, bruno.Page.GetByText("accompagnement psychosocial"));
        await bruno.ScanAsync("received referral");
        await bruno.Page.GetByLabel("Accepter").CheckAsync();
        await bruno.Page.Locator("#respond").ClickAsync();
        await Expect(bruno.Page.Locator("#case-status")).ToHaveTextAsync("acceptée");

        // Aline sees the acceptance, shares the identity (to the accepting service only), records consent, sends a note.
        await aline.GoAsync(casePath);
        await Expect(aline.Page.Locator("#case-status")).ToHaveTextAsync("acceptée");
        await ReloadUntilVisibleAsync(aline.Page, aline.Page.Locator("#answers"));
        await Expect(aline.Page.Locator("#answers")).ToContainTextAsync("Accepter");
        await aline.Page.GetByLabel("Nom", new() { Exact = true }).FillAsync(familyName);
        await aline.Page.GetByLabel("Prénom(s)").FillAsync(givenNames);
        await aline.Page.GetByLabel("Date de naissance").FillAsync("2003-04-05");
        await aline.Page.Locator("#share-identity").ClickAsync();
        await Expect(aline.Page.Locator("#notice")).ToContainTextAsync("Identité partagée");
        await aline.Page.Locator("#record-consent").ClickAsync();
        await Expect(aline.Page.Locator("#notice")).ToContainTextAsync("Consentement enregistré");
        await Expect(aline.Page.Locator(".consent")).ToContainTextAsync(serviceY);
        await aline.Page.GetByLabel("Note", new() { Exact = true }).FillAsync(noteText);
        await aline.Page.Locator("#send-note").ClickAsync();
        await Expect(aline.Page.Locator("#notice")).ToContainTextAsync("Note envoyée");
        await aline.ScanAsync("case with a consent");
        await aline.ScreenshotAsync("case-referring");

        // Bruno's device decrypts the identity and the note.
        await bruno.GoAsync(casePath);
        await ReloadUntilVisibleAsync(bruno.Page, bruno.Page.Locator(".note"));
        await Expect(bruno.Page.Locator(".identity")).ToContainTextAsync(familyName);
        await Expect(bruno.Page.Locator(".identity")).ToContainTextAsync("5 avril 2003");
        await Expect(bruno.Page.Locator(".note")).ToContainTextAsync(noteText);
        await bruno.ScanAsync("case with identity and note, receiving side");
        await bruno.ScreenshotAsync("case-receiving");

        // Aline revokes the consent: it shows as revoked, and no note form remains.
        await aline.Page.Locator(".revoke-consent").ClickAsync();
        await Expect(aline.Page.Locator(".consent .revoked")).ToContainTextAsync("révoqué le");
        await Expect(aline.Page.Locator("#note-form")).ToHaveCountAsync(0);

        // English, chosen in the app (a cookie): the same page in English, nothing in the URL.
        await aline.Page.GetByLabel("Langue").SelectOptionAsync("en");
        await aline.Page.GetByRole(AriaRole.Button, new() { Name = "Appliquer" }).ClickAsync();
        await Expect(aline.Page.Locator("#case-status")).ToHaveTextAsync("accepted");
        Assert.Equal(casePath, new Uri(aline.Page.Url).AbsolutePath);
        Assert.Empty(new Uri(aline.Page.Url).Query);
        await aline.ScanAsync("case in English");

        // The planted person appears in no URL, no title, no log (the apps' and the server's).
        foreach (var worker in new[] { aline, bruno })
        {
            foreach (var url in worker.Urls)
            {
                Assert.DoesNotContain(marker, Uri.UnescapeDataString(url), StringComparison.Ordinal);
            }

            foreach (var title in await worker.TitlesAsync())
            {
                Assert.DoesNotContain(familyName, title, StringComparison.Ordinal);
                Assert.DoesNotContain(givenNames, title, StringComparison.Ordinal);
                Assert.DoesNotContain(marker, title, StringComparison.Ordinal);
            }

            Assert.NotEmpty(worker.App.Logs);
            foreach (var secret in new[] { familyName, givenNames, noteText, "2003-04-05" })
            {
                Assert.DoesNotContain(secret, worker.App.Logs, StringComparison.Ordinal);
                Assert.DoesNotContain(secret, platform.Server.Logs, StringComparison.Ordinal);
            }
        }
    }

    /// <summary>What arrives end to end shows on the next load of the page: reload until it does (20 s at most).</summary>
    internal static async Task ReloadUntilVisibleAsync(IPage page, ILocator locator)
    {
        var clock = Stopwatch.StartNew();
        while (await locator.CountAsync() == 0)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"not shown within 20 s on {new Uri(page.Url).AbsolutePath}");
            await Task.Delay(300);
            await page.ReloadAsync();
        }
    }
}
