using System.Diagnostics;
using System.Text.Json;

namespace Messaging.Scheduling.Tests.Infrastructure;

/// <summary>
/// Runs ical.js (npm, an independent iCalendar parser) under node over an iCalendar text. Needs <c>node</c> and
/// <c>npm ci</c> in <c>tests/Messaging.Scheduling.Tests/IcalJs</c> (ops/scripts/deps.sh does both): without them the
/// test fails and says so, it never skips.
/// </summary>
internal static class IcalJs
{
    public static async Task<JsonElement> ParseAsync(string ics)
    {
        var folder = Folder();
        var info = new ProcessStartInfo("node", [Path.Combine(folder, "parse.mjs")])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = folder,
        };
        using var process = Process.Start(info) ?? throw new InvalidOperationException("node did not start.");
        await process.StandardInput.WriteAsync(ics);
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(process.ExitCode == 0, $"ical.js refused the object: {await error}");
        return JsonDocument.Parse(await output).RootElement.Clone();
    }

    private static string Folder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "Messaging.Scheduling.Tests", "IcalJs");
            if (File.Exists(Path.Combine(candidate, "parse.mjs")))
            {
                Assert.True(Directory.Exists(Path.Combine(candidate, "node_modules", "ical.js")),
                    $"ical.js is not installed: run `npm ci` in {candidate} (ops/scripts/deps.sh does it).");
                return candidate;
            }
        }

        throw new InvalidOperationException("tests/Messaging.Scheduling.Tests/IcalJs not found above the test binaries.");
    }
}
