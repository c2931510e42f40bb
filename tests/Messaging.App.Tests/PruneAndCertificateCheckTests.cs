using System.Text;
using Messaging.App.Tests.Infrastructure;
using Messaging.Client.Notices;
using Messaging.Client.Tests.Infrastructure;
using Messaging.Contracts;
using Messaging.Contracts.Referrals;
using Messaging.Crypto.Attestations;
using Messaging.Crypto.Keys;
using Messaging.Crypto.SafetyNumbers;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Messaging.App.Tests;

/// <summary>The two CLI workflows that had no page: deleting the messages this device keeps (<c>inbox prune</c>, on the
/// devices page) and checking a printable attendance certificate offline (<c>verify-certificate</c>).</summary>
[Collection(BrowserCollection.Name)]
public sealed class PruneAndCertificateCheckTests(BrowserWorld world)
{
    [Fact]
    public async Task PruningWithKeepOne_LeavesOnlyTheNewestMessageOnThisDevice_AndInvalidInputDeletesNothing()
    {
        var platform = world.Platform;
        var marker = Guid.NewGuid().ToString("N")[..8];
        var (_, admin) = await platform.CreateOrganisationAsync($"Service P {marker}");
        var aline = await platform.EnrolDeviceAsync(admin, await platform.CreateMemberAsync(admin, $"Aline {marker}"));
        var bruno = await platform.EnrolDeviceAsync(admin, await platform.CreateMemberAsync(admin, $"Bruno {marker}"));
        var conversation = await aline.CreateConversationAsync([bruno.MemberId]);
        foreach (var text in new[] { "un", "deux", "trois" })
        {
            await aline.SendTextAsync(conversation.ConversationId, $"{text} {marker}");
        }

        await bruno.InboxWhenAsync(i => i.Count(m => m.ConversationId == conversation.ConversationId) == 3);
        await using var worker = await AppWorker.OpenAsync(world, "Bruno", bruno);
        var page = worker.Page;
        var conversationLink = page.Locator(".conversation-link", new() { HasText = $"Aline {marker}" });
        await conversationLink.ClickAsync();
        await Expect(page.Locator(".message .text")).ToHaveCountAsync(3);
        var conversationPath = new Uri(page.Url).AbsolutePath;

        // Invalid input: the sentence, and the three messages are all still there.
        await page.GetByRole(AriaRole.Link, new() { Name = "Mes appareils" }).ClickAsync();
        await Expect(page.Locator("#prune-scope")).ToContainTextAsync("de cet appareil seulement");
        await Expect(page.Locator("#prune-scope")).ToContainTextAsync("ni du serveur");
        await page.GetByLabel("Garder les plus récents (nombre)").FillAsync("0");
        await page.GetByLabel("J'ai compris : supprimer ces messages").CheckAsync();
        await page.Locator("#prune").ClickAsync();
        await Expect(page.Locator("#error")).ToHaveTextAsync(
            "Indiquez un nombre de jours et/ou un nombre de messages à garder, en nombres entiers positifs ; rien n'a été supprimé.");
        await page.GetByLabel("J'ai compris : supprimer ces messages").CheckAsync();
        await page.Locator("#prune").ClickAsync();
        await Expect(page.Locator("#error")).ToContainTextAsync("rien n'a été supprimé");
        await page.GetByLabel("Garder les plus récents (nombre)").FillAsync("1");
        await page.Locator("#prune-confirmed").EvaluateAsync("box => box.removeAttribute('required')"); // unticked: the browser does not send it
        await page.Locator("#prune").ClickAsync();
        await Expect(page.Locator("#error")).ToHaveTextAsync("Cochez d'abord la confirmation ; rien n'a été supprimé.");
        await worker.GoAsync(conversationPath);
        await Expect(page.Locator(".message .text")).ToHaveCountAsync(3);

        // Keep the newest one: two deleted, and the conversation shows only the newest.
        await worker.GoAsync("/devices");
        await page.GetByLabel("Garder les plus récents (nombre)").FillAsync("1");
        await page.GetByLabel("J'ai compris : supprimer ces messages").CheckAsync();
        await worker.ScanAsync("devices page with the prune form");
        await worker.ScreenshotAsync("inbox-prune");
        await page.Locator("#prune").ClickAsync();
        await Expect(page.Locator("#notice")).ToHaveTextAsync("2 message(s) supprimé(s) de cet appareil.");
        await worker.ScanAsync("devices page after pruning");
        await worker.GoAsync(conversationPath);
        await Expect(page.Locator(".message .text")).ToHaveTextAsync($"trois {marker}");
    }

    [Fact]
    public async Task ACertificateFromTheNoticeFlow_ChecksAsValid_AndAForgeryOrOneAttestedCharacterChanged_AsNotValid()
    {
        var platform = world.Platform;
        var marker = Guid.NewGuid().ToString("N")[..8];
        var assistantDevice = await JusticeHouse.AssistantAsync(platform, marker);
        var (_, bruno, _, _, record) = await ReferredCase.CreateAsync(platform, marker, ReferralResponse.Accept);
        await assistantDevice.AcceptMandateAsync((await bruno.ProposeMandateAsync(record.CaseReference, assistantDevice.MemberId)).MandateId);
        var issued = await bruno.IssueNoticeAsync(record.CaseReference, AttendanceNoticeKind.NoShow, date: new DateOnly(2031, 3, 3));

        // The certificate as the assistant downloads it from their inbox.
        await using var assistant = await AppWorker.OpenAsync(world, "Justine", assistantDevice);
        var page = assistant.Page;
        await assistant.GoAsync("/notices");
        var row = page.Locator("tr.notice");
        await WorkflowTests.ReloadUntilVisibleAsync(page, row);
        var href = await row.Locator(".certificate-link").GetAttributeAsync("href");
        var html = await (await page.GotoAsync(new Uri(assistant.App.BaseUrl, href).ToString()))!.TextAsync();

        await assistant.GoAsync("/conversations");
        await page.GetByRole(AriaRole.Link, new() { Name = "Vérifier une attestation" }).ClickAsync();
        await assistant.ScanAsync("certificate check, empty");
        var file = page.GetByLabel("Fichier de l'attestation (HTML)");
        var result = page.Locator("#verify-result");

        // Unaltered: valid, and what it attests.
        await file.SetInputFilesAsync(new FilePayload { Name = "attestation.html", MimeType = "text/html", Buffer = Encoding.UTF8.GetBytes(html) });
        await page.Locator("#verify").ClickAsync();
        await Expect(result.Locator("h2")).ToHaveTextAsync("Attestation valable");
        await Expect(result).ToHaveAttributeAsync("data-status", "Valid");
        await Expect(page.Locator("#verify-kind")).ToHaveTextAsync("absence non justifiée");
        await Expect(page.Locator("#verify-date")).ToContainTextAsync("3 mars 2031");
        await Expect(page.Locator("#verify-case")).ToHaveTextAsync(record.CaseReference);
        await Expect(page.Locator("#verify-fingerprint")).ToHaveTextAsync(
            SafetyNumber.IdentityFingerprint(bruno.MemberId.ToString("D"), SignedAttestation.Parse(issued.SignedNotice).Signer));
        await assistant.ScanAsync("certificate check, valid");
        await assistant.ScreenshotAsync("certificate-check");

        // One character of the attested date changed: not valid, and why, with nothing attested shown.
        const string attested = "<th>Date</th><td>2031-03-03</td>";
        Assert.Contains(attested, html, StringComparison.Ordinal);
        var altered = html.Replace(attested, "<th>Date</th><td>2031-03-04</td>", StringComparison.Ordinal);
        await file.SetInputFilesAsync(new FilePayload { Name = "attestation.html", MimeType = "text/html", Buffer = Encoding.UTF8.GetBytes(altered) });
        await page.Locator("#verify").ClickAsync();
        await Expect(result.Locator("h2")).ToHaveTextAsync("Attestation NON valable : ne pas s'y fier");
        await Expect(result).ToHaveAttributeAsync("data-status", "Altered");
        await Expect(page.Locator("#verify-reason")).ToHaveTextAsync(
            "Le fichier n'est pas l'attestation telle qu'elle a été émise : il a été modifié, ou ce n'est pas une attestation.");
        await Expect(page.Locator("#verify-attests")).ToHaveCountAsync(0);
        await assistant.ScanAsync("certificate check, altered");

        // A forgery: the same notice signed with a key of the forger's own, with a self-hashed key-log entry for it.
        using var forger = IdentityKeyPair.Generate();
        var signed = issued.Notice.Sign(forger).ToBytes();
        var key = forger.PublicKey.ToBytes();
        var at = issued.Notice.IssuedAt;
        var entry = new KeyLogEntry(0, at, KeyLogAction.Added, bruno.DeviceId, bruno.MemberId, key, KeyLogHash.Genesis(),
            KeyLogHash.Compute(0, at, KeyLogAction.Added, bruno.DeviceId, bruno.MemberId, key, KeyLogHash.Genesis()));
        var forged = AttendanceCertificate.Render(new CertificateData(signed, [entry], "Any Worker", "CAPREV Bruxelles"));
        await file.SetInputFilesAsync(new FilePayload { Name = "attestation.html", MimeType = "text/html", Buffer = Encoding.UTF8.GetBytes(forged) });
        await page.Locator("#verify").ClickAsync();
        await Expect(result.Locator("h2")).ToHaveTextAsync("Attestation NON valable : ne pas s'y fier");
        await Expect(result).ToHaveAttributeAsync("data-status", "SignerUnknown");
        await Expect(page.Locator("#verify-reason")).ToContainTextAsync("quoi que le fichier contienne");
        await Expect(page.Locator("#verify-fingerprint")).ToHaveTextAsync(SafetyNumber.IdentityFingerprint(bruno.MemberId.ToString("D"), forger.PublicKey));
        await Expect(page.Locator("#verify-attests")).ToHaveCountAsync(0);
        await assistant.ScanAsync("certificate check, forged");

        // Not HTML, or too big: a sentence, and no check.
        await file.SetInputFilesAsync(new FilePayload { Name = "scan.pdf", MimeType = "application/pdf", Buffer = Encoding.UTF8.GetBytes(html) });
        await page.Locator("#verify").ClickAsync();
        await Expect(page.Locator("#verify-refusal")).ToHaveTextAsync("Ce fichier n'est pas un fichier HTML : une attestation est un fichier .html. Rien n'a été vérifié.");
        await Expect(result).ToHaveCountAsync(0);
        await file.SetInputFilesAsync(new FilePayload { Name = "attestation.html", MimeType = "text/html", Buffer = new byte[(1024 * 1024) + 1] });
        await page.Locator("#verify").ClickAsync();
        await Expect(page.Locator("#verify-refusal")).ToHaveTextAsync("Ce fichier dépasse 1 Mo : ce n'est pas une attestation. Rien n'a été vérifié.");
        await Expect(result).ToHaveCountAsync(0);
    }
}
