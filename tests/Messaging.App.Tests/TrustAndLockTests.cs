using Messaging.App.Tests.Infrastructure;
using Messaging.Client.Cases;
using Messaging.Client.Tests.Infrastructure;
using Messaging.Contracts;
using Messaging.Contracts.Referrals;
using static Microsoft.Playwright.Assertions;

namespace Messaging.App.Tests;

/// <summary>A contact's key change blocks sending behind a clear warning until the worker compares and confirms; the
/// idle lock asks for the passphrase again, and a page left open gives way to the unlock form by itself. The worker's
/// device was enrolled earlier (by the SDK) and is opened by the app with its passphrase, as on any day after the
/// first.</summary>
[Collection(BrowserCollection.Name)]
public sealed class TrustAndLockTests(BrowserWorld world)
{
    [Fact]
    public async Task AContactsKeyChange_ShowsABlockingWarning_UntilTheNewSafetyNumberIsConfirmed()
    {
        var platform = world.Platform;
        var marker = Guid.NewGuid().ToString("N")[..8];
        var (_, adminX) = await platform.CreateOrganisationAsync($"Service X {marker}");
        var (_, adminY) = await platform.CreateOrganisationAsync($"Service Y {marker}");
        var alineDevice = await platform.EnrolDeviceAsync(adminX, await platform.CreateMemberAsync(adminX, $"Aline {marker}"));
        var brunoId = await platform.CreateMemberAsync(adminY, $"Bruno {marker}");
        var bruno = await platform.EnrolDeviceAsync(adminY, brunoId);
        var conversation = await bruno.CreateConversationAsync([alineDevice.MemberId]);
        await bruno.SendTextAsync(conversation.ConversationId, $"Bonjour {marker}");
        var alineStore = await platform.ReleaseAsync(alineDevice);

        await using var aline = await AppWorker.StartAsync(world, "Aline", alineStore);
        await aline.UnlockAsync(Platform.Passphrase);
        await aline.GoAsync($"/conversations/{conversation.ConversationId}");
        await Expect(aline.Page.Locator(".message.theirs")).ToContainTextAsync($"Bonjour {marker}");
        await Expect(aline.Page.Locator("#send-form")).ToBeVisibleAsync();
        await Expect(aline.Page.Locator("#key-changed")).ToHaveCountAsync(0);
        await aline.Page.Locator(".safety-link").ClickAsync();
        var numberBefore = await aline.Page.Locator("#safety-number").InnerTextAsync();
        await aline.GoAsync($"/conversations/{conversation.ConversationId}");

        // Bruno lost his device: on a new one (code from his admin) he resets his member key. Aline's app must stop her
        // from sending to him unawares.
        var replacement = await platform.EnrolDeviceAsync(adminY, brunoId, approve: false);
        await replacement.ResetMemberKeyAsync();
        await WorkflowTests.ReloadUntilVisibleAsync(aline.Page, aline.Page.Locator("#key-changed"));
        await Expect(aline.Page.Locator("#key-changed")).ToContainTextAsync("une clé a changé");
        await Expect(aline.Page.Locator("#send-form")).ToHaveCountAsync(0);
        await aline.ScanAsync("key change warning");
        await aline.ScreenshotAsync("key-changed");

        // Compare, tick, confirm: sending resumes, and Bruno's device reads what she sends.
        await aline.Page.Locator("#key-changed a").ClickAsync();
        await Expect(aline.Page.Locator("#key-changed")).ToBeVisibleAsync();
        Assert.NotEqual(numberBefore, await aline.Page.Locator("#safety-number").InnerTextAsync());
        await aline.ScanAsync("safety number after a key change");
        await aline.Page.Locator("#confirm-key").ClickAsync(); // the box is not ticked: nothing is confirmed
        await Expect(aline.Page.Locator("#notice")).ToHaveCountAsync(0);
        await Expect(aline.Page.Locator("#key-changed")).ToBeVisibleAsync();
        await aline.Page.GetByLabel("J'ai comparé ce numéro").CheckAsync();
        await aline.Page.Locator("#confirm-key").ClickAsync();
        await Expect(aline.Page.Locator("#notice")).ToContainTextAsync("Nouvelle clé confirmée");
        await aline.GoAsync($"/conversations/{conversation.ConversationId}");
        await Expect(aline.Page.Locator("#key-changed")).ToHaveCountAsync(0);
        await aline.Page.GetByLabel("Votre message").FillAsync($"Numéro vérifié {marker}");
        await aline.Page.Locator("#send").ClickAsync();
        await replacement.InboxWhenAsync(inbox => inbox.Any(m => m.Text == $"Numéro vérifié {marker}"));
    }

    [Fact]
    public async Task ANewDevice_IsApprovedOnTheDevicesPage_OnlyByAllTwentyDigitsOfItsCode()
    {
        var platform = world.Platform;
        var marker = Guid.NewGuid().ToString("N")[..8];
        var (_, admin) = await platform.CreateOrganisationAsync($"Service A {marker}");
        var emma = await platform.CreateMemberAsync(admin, $"Emma {marker}");
        var laptop = await platform.EnrolDeviceAsync(admin, emma);
        var phone = await platform.EnrolDeviceAsync(admin, emma, approve: false);
        var digits = phone.ApprovalCode.Replace(" ", "", StringComparison.Ordinal);
        Assert.Equal(20, digits.Length);

        await using var worker = await AppWorker.OpenAsync(world, "Emma", laptop);
        await worker.GoAsync("/devices");
        var code = worker.Page.Locator("#code");

        // The browser holds back a code that is not 20 digits; without the browser's check, the page refuses it.
        await code.FillAsync(digits[..8]);
        Assert.True(await code.EvaluateAsync<bool>("input => input.validity.patternMismatch"));
        await code.EvaluateAsync("input => input.removeAttribute('pattern')");
        await worker.Page.Locator("#approve").ClickAsync();
        await Expect(worker.Page.Locator("#error")).ToContainTextAsync("Le code compte 20 chiffres");

        // One digit off is another code: no device shows it, nothing is approved.
        await code.FillAsync(string.Concat(digits[..^1], digits[^1] == '9' ? "0" : "9"));
        await worker.Page.Locator("#approve").ClickAsync();
        await Expect(worker.Page.Locator("#error")).ToContainTextAsync("rien n'a été modifié");
        Assert.False(await phone.RefreshApprovalAsync());

        // The code as the phone shows it, in its four groups: approved, and the phone takes the member key.
        await code.FillAsync(phone.ApprovalCode);
        await worker.Page.Locator("#approve").ClickAsync();
        await Expect(worker.Page.Locator("#notice")).ToContainTextAsync("Appareil approuvé");
        Assert.True(await phone.RefreshApprovalAsync());
        await Expect(worker.Page.Locator("#approve-form")).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task AfterTheIdleTime_TheAppAsksForThePassphraseAgain_AndAWrongOneIsRefused()
    {
        var platform = world.Platform;
        var (_, admin) = await platform.CreateOrganisationAsync($"Service {Guid.NewGuid():N}");
        var device = await platform.EnrolDeviceAsync(admin, await platform.CreateMemberAsync(admin, "Chloé"));
        var store = await platform.ReleaseAsync(device);

        // Three seconds of idleness lock it (the default is fifteen minutes).
        await using var worker = await AppWorker.StartAsync(world, "Chloé", store, "--idle-lock-minutes", "0.05");
        await Expect(worker.Page).ToHaveURLAsync(new Uri(worker.App.BaseUrl, "unlock").ToString());
        await worker.ScanAsync("unlock page");
        await worker.ScreenshotAsync("unlock");
        await worker.Page.Locator("#passphrase").FillAsync("not the passphrase");
        await worker.Page.Locator("#unlock").ClickAsync();
        await Expect(worker.Page.Locator("#error")).ToContainTextAsync("Phrase secrète incorrecte");
        await worker.UnlockAsync(Platform.Passphrase);

        // The open page's live script finds the app locked and goes to the unlock page by itself.
        await Expect(worker.Page).ToHaveURLAsync(new Uri(worker.App.BaseUrl, "unlock").ToString(), new() { Timeout = 20_000 });
        await worker.GoAsync("/cases");
        await Expect(worker.Page).ToHaveURLAsync(new Uri(worker.App.BaseUrl, "unlock").ToString());
        await worker.UnlockAsync(Platform.Passphrase);

        // The lock button does the same at once.
        await worker.Page.Locator("#lock-now").ClickAsync();
        await Expect(worker.Page).ToHaveURLAsync(new Uri(worker.App.BaseUrl, "unlock").ToString());
    }

    [Fact]
    public async Task AfterTheIdleTime_ACasePageWithoutLiveView_LeavesTheScreenByItself_ForTheUnlockForm()
    {
        var platform = world.Platform;
        var marker = Guid.NewGuid().ToString("N")[..8];
        var (aline, bruno, _, _, record) = await ReferredCase.CreateAsync(platform, marker, ReferralResponse.Accept);
        var familyName = $"Dupont{marker}";
        await aline.ShareIdentityAsync(new PersonIdentity(record.CaseReference, familyName, "Jean", Phone: "+32 470 12 34 56"));
        await bruno.InboxWhenAsync(inbox => inbox.Any(m => m.Kind == EnvelopeKind.IdentityShare));

        // Six seconds of idleness lock it (the default is fifteen minutes).
        await using var worker = await AppWorker.StartAsync(world, "Bruno", await platform.ReleaseAsync(bruno), "--idle-lock-minutes", "0.1");
        await worker.UnlockAsync(Platform.Passphrase);
        await worker.GoAsync($"/cases/{record.CaseReference}");
        await Expect(worker.Page.Locator(".identity")).ToContainTextAsync(familyName);
        Assert.Equal(0, await worker.Page.Locator("[data-live-src]").CountAsync());

        // Nobody clicks: the page itself finds the device locked and gives way to the unlock form.
        await Expect(worker.Page).ToHaveURLAsync(new Uri(worker.App.BaseUrl, "unlock").ToString(), new() { Timeout = 30_000 });
        await Expect(worker.Page.Locator("#passphrase")).ToBeVisibleAsync();
        Assert.DoesNotContain(familyName, await worker.Page.ContentAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASecondAppOnTheSameDevice_IsRefused_WhileTheFirstOwnsIt()
    {
        var platform = world.Platform;
        var (_, admin) = await platform.CreateOrganisationAsync($"Service {Guid.NewGuid():N}");
        var store = await platform.ReleaseAsync(await platform.EnrolDeviceAsync(admin, await platform.CreateMemberAsync(admin, "Denis")));
        await using var first = await AppWorker.StartAsync(world, "first", store);
        await first.UnlockAsync(Platform.Passphrase);
        await using var second = await AppWorker.StartAsync(world, "second", store);
        await second.Page.Locator("#passphrase").FillAsync(Platform.Passphrase);
        await second.Page.Locator("#unlock").ClickAsync();
        await Expect(second.Page.Locator("#error")).ToContainTextAsync("déjà utilisé par un autre programme");
    }
}
