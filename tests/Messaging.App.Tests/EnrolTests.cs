using Messaging.App.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Messaging.App.Tests;

/// <summary>Enrolment in the app refuses what would expose the one-time code: plain http to another machine (outside
/// review 2026-11-29, app F8). The loopback server of the tests stays allowed (every other test enrols through it).</summary>
[Collection(BrowserCollection.Name)]
public sealed class EnrolTests(BrowserWorld world)
{
    [Fact]
    public async Task EnrolmentAgainstAPlainHttpServerElsewhere_IsRefusedWithASentence_AndCreatesNothing()
    {
        var store = world.Platform.NewStorePath();
        await using var worker = await AppWorker.StartAsync(world, "Fanny", store);
        await Expect(worker.Page).ToHaveURLAsync(new Uri(worker.App.BaseUrl, "enrol").ToString());
        await worker.Page.GetByLabel("Adresse du serveur").FillAsync("http://messaging.example.be/");
        await worker.Page.GetByLabel("Code d'enregistrement").FillAsync("ABCD-EFGH");
        await worker.Page.Locator("#passphrase").FillAsync(AppWorker.Passphrase);
        await worker.Page.Locator("#confirmation").FillAsync(AppWorker.Passphrase);
        await worker.Page.Locator("#enrol").ClickAsync();

        await Expect(worker.Page).ToHaveURLAsync(new Uri(worker.App.BaseUrl, "enrol").ToString());
        await Expect(worker.Page.Locator("#error")).ToContainTextAsync("le serveur doit être joint en https://");
        Assert.False(File.Exists(store));
        Assert.DoesNotContain("ABCD-EFGH", worker.App.Logs, StringComparison.Ordinal);
    }
}
