using Microsoft.Playwright;

namespace Messaging.App.Tests.Infrastructure;

/// <summary>
/// A worker at their machine: their own app process (their own device) and their own browser context, opened with the
/// launch link as the app would open it. Every URL the browser requested and every title it showed is recorded, for the
/// test that a person's name never appears there.
/// </summary>
internal sealed class AppWorker : IAsyncDisposable
{
    public const string Passphrase = "une phrase secrète de test";

    private readonly List<string> _urls = [];
    private readonly List<Task<string>> _titles = [];

    private AppWorker(string name, AppProcess app, IBrowserContext context, IPage page)
    {
        Name = name;
        App = app;
        Context = context;
        Page = page;
    }

    public string Name { get; }

    public AppProcess App { get; }

    public IBrowserContext Context { get; }

    public IPage Page { get; }

    public IReadOnlyList<string> Urls
    {
        get
        {
            lock (_urls)
            {
                return [.. _urls];
            }
        }
    }

    /// <summary>Starts the app on <paramref name="storePath"/> and opens its launch link in a fresh browser context.</summary>
    public static async Task<AppWorker> StartAsync(BrowserWorld world, string name, string storePath, params string[] args)
    {
        var app = await AppProcess.StartAsync(storePath, args);
        var context = await world.Browser.NewContextAsync(new BrowserNewContextOptions { Locale = "fr-BE", TimezoneId = "Europe/Brussels" });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(20_000);
        var worker = new AppWorker(name, app, context, page);
        context.Request += (_, request) =>
        {
            lock (worker._urls)
            {
                worker._urls.Add(request.Url);
            }
        };
        page.DOMContentLoaded += (_, loaded) =>
        {
            lock (worker._titles)
            {
                worker._titles.Add(loaded.TitleAsync());
            }
        };
        await page.GotoAsync(app.LaunchUrl.ToString());
        return worker;
    }

    /// <summary>Opens the app on the store of a device the SDK enrolled (the client releases it first) and unlocks it, as
    /// on any day after enrolment.</summary>
    public static async Task<AppWorker> OpenAsync(BrowserWorld world, string name, Client.MessagingClient device)
        => await OpenStoreAsync(world, name, await world.Platform.ReleaseAsync(device));

    /// <summary>Starts the app on an enrolled device's store (again, e.g. after it stopped) and unlocks it.</summary>
    public static async Task<AppWorker> OpenStoreAsync(BrowserWorld world, string name, string storePath)
    {
        var worker = await StartAsync(world, name, storePath);
        try
        {
            await worker.UnlockAsync(Client.Tests.Infrastructure.Platform.Passphrase);
            return worker;
        }
        catch
        {
            await worker.DisposeAsync();
            throw;
        }
    }

    /// <summary>The titles the pages showed (those still readable).</summary>
    public async Task<IReadOnlyList<string>> TitlesAsync()
    {
        Task<string>[] pending;
        lock (_titles)
        {
            pending = [.. _titles];
        }

        var titles = new List<string>();
        foreach (var title in pending)
        {
            try
            {
                titles.Add(await title);
            }
            catch (PlaywrightException)
            {
                // The page navigated on before its title was read; the next page's title is recorded too.
            }
        }

        return titles;
    }

    public Task GoAsync(string path) => Page.GotoAsync(new Uri(App.BaseUrl, path).ToString());

    /// <summary>Enrolment in the browser: the server's address, the one-time code, the passphrase twice.</summary>
    public async Task EnrolAsync(Uri server, string code)
    {
        await Assertions.Expect(Page).ToHaveURLAsync(new Uri(App.BaseUrl, "enrol").ToString());
        await Page.GetByLabel("Adresse du serveur").FillAsync(server.ToString());
        await Page.GetByLabel("Code d'enregistrement").FillAsync(code);
        await Page.Locator("#passphrase").FillAsync(Passphrase);
        await Page.Locator("#confirmation").FillAsync(Passphrase);
        await Page.Locator("#enrol").ClickAsync();
        await Assertions.Expect(Page).ToHaveURLAsync(new Uri(App.BaseUrl, "conversations").ToString());
    }

    /// <summary>The unlock page, as on any day after enrolment: the passphrase, then the conversations.</summary>
    public async Task UnlockAsync(string passphrase)
    {
        await Assertions.Expect(Page).ToHaveURLAsync(new Uri(App.BaseUrl, "unlock").ToString());
        await Page.Locator("#passphrase").FillAsync(passphrase);
        await Page.Locator("#unlock").ClickAsync();
        await Assertions.Expect(Page).ToHaveURLAsync(new Uri(App.BaseUrl, "conversations").ToString());
    }

    /// <summary>An axe scan of the page as it is: no serious or critical violation.</summary>
    public async Task ScanAsync(string what)
    {
        var blocking = await AxeScan.BlockingViolationsAsync(Page, what);
        Assert.True(blocking.Count == 0, $"{what}: " + string.Join("; ", blocking));
    }

    /// <summary>A screenshot for the README, when MESSAGING_APP_SCREENSHOTS names a folder.</summary>
    public async Task ScreenshotAsync(string name)
    {
        if (BrowserWorld.ScreenshotFolder is { } folder)
        {
            Directory.CreateDirectory(folder);
            await Page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(folder, $"{name}.png"), FullPage = true });
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Context.DisposeAsync();
        await App.DisposeAsync();
    }
}
