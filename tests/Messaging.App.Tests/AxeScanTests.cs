using Messaging.App.Tests.Infrastructure;

namespace Messaging.App.Tests;

/// <summary>The scan every page test relies on finds what it must: a page-level rule and an element rule.</summary>
[Collection(BrowserCollection.Name)]
public sealed class AxeScanTests(BrowserWorld world)
{
    [Fact]
    public async Task AScan_OfAPageWithoutLanguageAndWithAnUnlabelledImage_ReportsBoth()
    {
        await using var context = await world.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.SetContentAsync("<!DOCTYPE html><html><head><title>t</title></head><body><main><h1>t</h1><img src=\"data:,\"></main></body></html>");

        var blocking = await AxeScan.BlockingViolationsAsync(page, "a page with two violations");

        Assert.Contains(blocking, v => v.StartsWith("html-has-lang (serious)", StringComparison.Ordinal));
        Assert.Contains(blocking, v => v.StartsWith("image-alt (critical)", StringComparison.Ordinal) && v.Contains("<img", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AScan_OfAPageWithAFrame_IsRefused()
    {
        await using var context = await world.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.SetContentAsync("<!DOCTYPE html><html lang=\"fr\"><head><title>t</title></head><body><main><iframe title=\"f\" srcdoc=\"x\"></iframe></main></body></html>");

        await Assert.ThrowsAnyAsync<Xunit.Sdk.XunitException>(() => AxeScan.BlockingViolationsAsync(page, "a page with a frame"));
    }
}
