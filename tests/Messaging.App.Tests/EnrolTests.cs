using Messaging.App.Security;
using Messaging.App.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Messaging.App.Tests;

/// <summary>Enrolment in the app refuses what would expose the one-time code: plain http to another machine (outside
/// review 2026-11-29, app F8). The loopback server of the tests stays allowed, and a successful enrolment starts a new
/// browser session (F4).</summary>
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

    [Fact]
    public async Task EnrolmentAgainstTheLoopbackServer_Works_AndIssuesANewSession()
    {
        var platform = world.Platform;
        var (_, admin) = await platform.CreateOrganisationAsync($"Service {Guid.NewGuid():N}");
        var code = await platform.IssueCodeAsync(admin, await platform.CreateMemberAsync(admin, "Hugo"));
        await using var worker = await AppWorker.StartAsync(world, "Hugo", platform.NewStorePath());
        var beforeEnrolment = await SessionAsync(worker);

        // The test server is plain http on 127.0.0.1: loopback stays allowed.
        Assert.Equal("127.0.0.1", platform.Server.Url.Host);
        await worker.EnrolAsync(platform.Server.Url, code);

        Assert.NotEqual(beforeEnrolment, await SessionAsync(worker));
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = worker.App.BaseUrl };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/conversations");
        request.Headers.Add("Cookie", $"{LocalAccess.CookieName}={beforeEnrolment}");
        using var planted = await http.SendAsync(request);
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, planted.StatusCode);
    }

    private static async Task<string> SessionAsync(AppWorker worker)
        => (await worker.Context.CookiesAsync()).Single(c => c.Name == LocalAccess.CookieName).Value;
}
