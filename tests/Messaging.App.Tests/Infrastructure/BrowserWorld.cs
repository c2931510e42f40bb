using Messaging.Client.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Messaging.App.Tests.Infrastructure;

/// <summary>
/// One real server process and one headless Chromium (Debian's, never a downloaded one) shared by the browser tests:
/// each test builds its own organisations and members on the platform, and each worker gets their own app process and
/// browser context (own cookies), so tests do not see each other's data.
/// </summary>
public sealed class BrowserWorld : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/lib/chromium/chromium";

    internal Platform Platform { get; private set; } = null!;

    internal IPlaywright Playwright { get; private set; } = null!;

    internal IBrowser Browser { get; private set; } = null!;

    /// <summary>Where screenshots of the main pages go, when asked (MESSAGING_APP_SCREENSHOTS=folder).</summary>
    internal static string? ScreenshotFolder => Environment.GetEnvironmentVariable("MESSAGING_APP_SCREENSHOTS") is { Length: > 0 } folder ? folder : null;

    public async Task InitializeAsync()
    {
        Assert.True(File.Exists(ChromiumPath), $"Chromium is not installed at {ChromiumPath} (apt-get install chromium; ops/scripts/deps.sh does it)");
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
