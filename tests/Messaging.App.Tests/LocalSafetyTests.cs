using System.Net;
using System.Text.RegularExpressions;
using Messaging.App.Security;
using Messaging.App.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Messaging.App.Tests;

/// <summary>
/// Other local users and other web pages cannot drive the app: without this launch's cookie nothing is served, the
/// launch secret works once and leaves the address bar (the browser gets it from a local page, never in a URL), the
/// session cookie changes when the device is unlocked, a foreign Host header (DNS rebinding) is refused, every POST needs
/// the anti-forgery token, and every response carries the strict headers. Plain HTTP against the real app process, and
/// the browser where the browser's own behaviour is the point.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed partial class LocalSafetyTests(BrowserWorld world)
{
    [Fact]
    public async Task ARequestWithoutTheLaunchCookie_IsRefused_WithNoPageContent()
    {
        await using var app = await AppProcess.StartAsync(world.Platform.NewStorePath());
        using var http = NewClient(app);
        foreach (var path in new[] { "/", "/enrol", "/unlock", "/conversations", "/cases", "/app.js", "/app.css", "/launch" })
        {
            using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.Empty(await response.Content.ReadAsStringAsync());
        }

        using var wrongKey = await http.GetAsync(new Uri("/launch?key=not-the-secret", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Forbidden, wrongKey.StatusCode);
        using var wrongCookie = new HttpRequestMessage(HttpMethod.Get, "/enrol");
        wrongCookie.Headers.Add("Cookie", "messaging-app-session=guessed");
        using var refused = await http.SendAsync(wrongCookie);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
    }

    [Fact]
    public async Task TheLaunchLink_GivesAStrictHttpOnlyCookie_RedirectsToAnAddressWithoutTheSecret_AndWorksOnce()
    {
        await using var app = await AppProcess.StartAsync(world.Platform.NewStorePath());
        using var http = NewClient(app);
        using var launched = await http.GetAsync(new Uri(app.LaunchUrl.PathAndQuery, UriKind.Relative));
        Assert.Equal(HttpStatusCode.Redirect, launched.StatusCode);
        Assert.Equal("/", launched.Headers.Location!.OriginalString);
        var cookie = Assert.Single(launched.Headers.GetValues("Set-Cookie"));
        Assert.StartsWith("messaging-app-session=", cookie, StringComparison.Ordinal);
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("expires", cookie, StringComparison.OrdinalIgnoreCase);

        using var page = await GetAsync(http, "/enrol", SessionCookie(cookie));
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);

        // The link is spent: a copy of it (in the browser launcher's arguments, a history) opens nothing.
        using var again = await http.GetAsync(new Uri(app.LaunchUrl.PathAndQuery, UriKind.Relative));
        Assert.Equal(HttpStatusCode.Forbidden, again.StatusCode);
        Assert.False(again.Headers.Contains("Set-Cookie"));
    }

    [Theory]
    [InlineData("evil.example:{port}")]
    [InlineData("127.0.0.1.nip.io:{port}")]
    [InlineData("127.0.0.1:{other}")]
    [InlineData("attacker.test")]
    public async Task AForeignHostHeader_IsRefused_EvenWithTheSessionCookie(string host)
    {
        await using var app = await AppProcess.StartAsync(world.Platform.NewStorePath());
        using var http = NewClient(app);
        var cookie = await LaunchAsync(http, app);
        var foreign = host.Replace("{port}", app.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{other}", (app.Port == 65535 ? 1 : app.Port + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/enrol");
        request.Headers.Host = foreign;
        request.Headers.Add("Cookie", cookie);
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsStringAsync());

        // The app's own names pass.
        foreach (var own in new[] { $"localhost:{app.Port}", $"127.0.0.1:{app.Port}" })
        {
            using var ok = new HttpRequestMessage(HttpMethod.Get, "/enrol");
            ok.Headers.Host = own;
            ok.Headers.Add("Cookie", cookie);
            using var served = await http.SendAsync(ok);
            Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        }
    }

    [Fact]
    public async Task APostWithoutTheAntiforgeryToken_IsRefused_AndChangesNothing()
    {
        var store = world.Platform.NewStorePath();
        await using var app = await AppProcess.StartAsync(store);
        using var http = NewClient(app);
        var cookie = await LaunchAsync(http, app);
        using var post = new HttpRequestMessage(HttpMethod.Post, "/enrol")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["server"] = world.Platform.Server.Url.ToString(),
                ["code"] = "ABCD-EFGH",
                ["passphrase"] = "a passphrase long enough",
                ["confirmation"] = "a passphrase long enough",
            }),
        };
        post.Headers.Add("Cookie", cookie);
        using var refused = await http.SendAsync(post);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.False(File.Exists(store));

        foreach (var path in new[] { "/language", "/lock", "/unlock" })
        {
            using var other = new HttpRequestMessage(HttpMethod.Post, path) { Content = new FormUrlEncodedContent([]) };
            other.Headers.Add("Cookie", cookie);
            using var response = await http.SendAsync(other);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }
    }

    [Fact]
    public async Task EveryResponse_CarriesAStrictContentSecurityPolicy_AndThePagesLoadNothingFromElsewhere()
    {
        await using var app = await AppProcess.StartAsync(world.Platform.NewStorePath());
        using var http = NewClient(app);
        var cookie = await LaunchAsync(http, app);
        foreach (var path in new[] { "/enrol", "/app.js", "/app.css", "/unknown" })
        {
            using var response = await GetAsync(http, path, cookie);
            var csp = string.Join(";", response.Headers.GetValues("Content-Security-Policy"));
            Assert.Contains("default-src 'self'", csp, StringComparison.Ordinal);
            Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
            Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
            Assert.Contains("object-src 'none'", csp, StringComparison.Ordinal);
            Assert.DoesNotContain("unsafe", csp, StringComparison.Ordinal);
            Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
            Assert.Equal("no-referrer", Assert.Single(response.Headers.GetValues("Referrer-Policy")));
            Assert.Equal("DENY", Assert.Single(response.Headers.GetValues("X-Frame-Options")));
            Assert.True(response.Headers.CacheControl?.NoStore, $"{path} may be cached");
            Assert.False(response.Headers.Contains("Server"));
        }

        using var enrol = await GetAsync(http, "/enrol", cookie);
        var html = await enrol.Content.ReadAsStringAsync();
        // No third-party asset, no inline script, no inline style.
        Assert.DoesNotMatch(ExternalReference(), html);
        Assert.DoesNotMatch(InlineScript(), html);
        Assert.DoesNotContain(" style=", html, StringComparison.Ordinal);
        Assert.Contains("<script src=\"/app.js\"", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheLaunchPageTheAppOpens_PostsTheSecret_TheBrowserLandsInTheApp_AndTheSecretIsSpent()
    {
        await using var app = await AppProcess.StartAsync(world.Platform.NewStorePath());
        var folder = Directory.CreateTempSubdirectory("messaging-launch-");
        try
        {
            using var launchPage = LaunchPage.Write(folder.FullName, new Uri(app.BaseUrl, "launch"), LaunchKey(app));
            var context = await world.Browser.NewContextAsync(new BrowserNewContextOptions { Locale = "fr-BE" });
            await using (context)
            {
                var page = await context.NewPageAsync();
                var urls = new List<string>();
                page.Request += (_, request) => urls.Add(request.Url);
                await page.GotoAsync(launchPage.Address.AbsoluteUri);
                await Expect(page).ToHaveURLAsync(new Uri(app.BaseUrl, "enrol").ToString());
                await Expect(page.Locator("#enrol")).ToBeVisibleAsync();
                Assert.DoesNotContain(urls, url => url.Contains(LaunchKey(app), StringComparison.Ordinal));
            }

            using var http = NewClient(app);
            using var again = await http.GetAsync(new Uri(app.LaunchUrl.PathAndQuery, UriKind.Relative));
            Assert.Equal(HttpStatusCode.Forbidden, again.StatusCode);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task TheLaunchForm_PostedOnce_GivesTheCookie_AndAPageThatGoesOnToTheApp()
    {
        await using var app = await AppProcess.StartAsync(world.Platform.NewStorePath());
        using var http = NewClient(app);
        using var wrong = await http.PostAsync(new Uri("/launch", UriKind.Relative), new FormUrlEncodedContent(new Dictionary<string, string> { ["key"] = "not-the-secret" }));
        Assert.Equal(HttpStatusCode.Forbidden, wrong.StatusCode);
        using var launched = await http.PostAsync(new Uri("/launch", UriKind.Relative), new FormUrlEncodedContent(new Dictionary<string, string> { ["key"] = LaunchKey(app) }));
        Assert.Equal(HttpStatusCode.OK, launched.StatusCode);
        var cookie = Assert.Single(launched.Headers.GetValues("Set-Cookie"));
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("<meta http-equiv=\"refresh\" content=\"0; url=/\">", await launched.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var page = await GetAsync(http, "/enrol", SessionCookie(cookie));
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);

        using var again = await http.PostAsync(new Uri("/launch", UriKind.Relative), new FormUrlEncodedContent(new Dictionary<string, string> { ["key"] = LaunchKey(app) }));
        Assert.Equal(HttpStatusCode.Forbidden, again.StatusCode);
        Assert.False(again.Headers.Contains("Set-Cookie"));
    }

    [Fact]
    public async Task ASessionCookieFromBeforeTheUnlock_OpensNothingAfterIt()
    {
        var platform = world.Platform;
        var (_, admin) = await platform.CreateOrganisationAsync($"Service {Guid.NewGuid():N}");
        var store = await platform.ReleaseAsync(await platform.EnrolDeviceAsync(admin, await platform.CreateMemberAsync(admin, "Gaëlle")));
        await using var worker = await AppWorker.StartAsync(world, "Gaëlle", store);
        using var http = NewClient(worker.App);
        // The cookie of the launch, as someone who raced the secret or planted a cookie from another loopback port holds it.
        var beforeUnlock = await SessionCookieAsync(worker);
        using (var locked = await GetAsync(http, "/unlock", beforeUnlock))
        {
            Assert.Equal(HttpStatusCode.OK, locked.StatusCode);
        }

        await worker.UnlockAsync(Client.Tests.Infrastructure.Platform.Passphrase);
        var afterUnlock = await SessionCookieAsync(worker);
        Assert.NotEqual(beforeUnlock, afterUnlock);
        using (var planted = await GetAsync(http, "/conversations", beforeUnlock))
        {
            Assert.Equal(HttpStatusCode.Forbidden, planted.StatusCode);
            Assert.Empty(await planted.Content.ReadAsStringAsync());
        }

        using (var own = await GetAsync(http, "/conversations", afterUnlock))
        {
            Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        }

        // Every unlock does it again (after the lock button here).
        await worker.Page.Locator("#lock-now").ClickAsync();
        await worker.UnlockAsync(Client.Tests.Infrastructure.Platform.Passphrase);
        using var previous = await GetAsync(http, "/conversations", afterUnlock);
        Assert.Equal(HttpStatusCode.Forbidden, previous.StatusCode);
        await worker.GoAsync("/cases");
        await Expect(worker.Page.Locator("h1")).ToBeVisibleAsync();
    }

    private static string LaunchKey(AppProcess app) => app.LaunchUrl.Query["?key=".Length..];

    private static async Task<string> SessionCookieAsync(AppWorker worker)
        => $"{LocalAccess.CookieName}={(await worker.Context.CookiesAsync()).Single(c => c.Name == LocalAccess.CookieName).Value}";

    private static HttpClient NewClient(AppProcess app)
        => new(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = app.BaseUrl, Timeout = TimeSpan.FromSeconds(30) };

    private static async Task<string> LaunchAsync(HttpClient http, AppProcess app)
    {
        using var launched = await http.GetAsync(new Uri(app.LaunchUrl.PathAndQuery, UriKind.Relative));
        Assert.Equal(HttpStatusCode.Redirect, launched.StatusCode);
        return SessionCookie(Assert.Single(launched.Headers.GetValues("Set-Cookie")));
    }

    private static string SessionCookie(string setCookie) => setCookie.Split(';')[0];

    private static async Task<HttpResponseMessage> GetAsync(HttpClient http, string path, string cookie)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("Cookie", cookie);
        return await http.SendAsync(request);
    }

    [GeneratedRegex("(src|href|action)=\"(https?:)?//", RegexOptions.IgnoreCase)]
    private static partial Regex ExternalReference();

    [GeneratedRegex("<script(?![^>]*\\bsrc=)[^>]*>", RegexOptions.IgnoreCase)]
    private static partial Regex InlineScript();
}
