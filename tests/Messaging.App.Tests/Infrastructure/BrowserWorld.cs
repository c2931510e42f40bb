using Messaging.Client.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Messaging.App.Tests.Infrastructure;

/// <summary>
/// One real server process and one headless Chromium shared by the browser tests: each test builds its own
/// organisations and members on the platform, and each worker gets their own app process and browser context (own
/// cookies), so tests do not see each other's data.
/// The browser is Debian's <c>chromium-headless-shell</c>, never a downloaded one: the same Blink engine and DevTools
/// protocol as the full <c>chromium</c>, without the full browser's own interface, and what Playwright itself launches
/// for a headless run. With the full binary the browser used twice the CPU (docs/performance.md, "The test suite").
/// </summary>
public sealed class BrowserWorld : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/lib/chromium/chromium-headless-shell";

    internal Platform Platform { get; private set; } = null!;

    internal IPlaywright Playwright { get; private set; } = null!;

    internal IBrowser Browser { get; private set; } = null!;

    /// <summary>Where screenshots of the main pages go, when asked (MESSAGING_APP_SCREENSHOTS=folder).</summary>
    internal static string? ScreenshotFolder => Environment.GetEnvironmentVariable("MESSAGING_APP_SCREENSHOTS") is { Length: > 0 } folder ? folder : null;

    public async Task InitializeAsync()
    {
        Assert.True(File.Exists(ChromiumPath), $"Chromium is not installed at {ChromiumPath} (apt-get install chromium-headless-shell; ops/scripts/deps.sh does it)");
        Platform = await Platform.StartAsync();
        Playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        Browser = await Playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = ChromiumPath, Headless = true });
    }

    public async Task DisposeAsync()
    {
        await Browser.DisposeAsync();
        Playwright.Dispose();
        await Platform.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<BrowserWorld>
{
    public const string Name = "browser";
}
