using Deque.AxeCore.Commons;
using Microsoft.Playwright;

namespace Messaging.App.Tests.Infrastructure;

/// <summary>
/// An axe-core scan of a page, every rule axe runs by default over the whole document, in the page itself.
/// </summary>
/// <remarks>The package's <c>RunAxe</c> follows the protocol made for frames of other origins: per scan it also opens a
/// page of its own, injects axe there a second time and merges the frames' results in it, which took about half of each
/// scan. The app's pages have no frames (checked, so that none goes unscanned), and only the violations' details are
/// brought back.</remarks>
internal static class AxeScan
{
    /// <summary>axe-core as the package bundles it.</summary>
    private static readonly string Script = new BundledAxeScriptProvider().GetScript();

    /// <summary>The serious and critical violations on <paramref name="page"/>, one line each with the elements.</summary>
    public static async Task<IReadOnlyList<string>> BlockingViolationsAsync(IPage page, string what)
    {
        Assert.True(await page.Locator("iframe, frame").CountAsync() == 0, $"{what}: a frame, which this scan does not enter");
        await page.EvaluateAsync(Script);
        return await page.EvaluateAsync<string[]>("""
            async () => (await axe.run(document, { resultTypes: ['violations'] })).violations
                .filter(v => v.impact === 'serious' || v.impact === 'critical')
                .map(v => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map(n => n.html).join(', ')}`)
            """);
    }
}
