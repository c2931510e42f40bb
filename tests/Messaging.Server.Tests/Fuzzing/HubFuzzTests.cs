using System.Globalization;
using Xunit.Abstractions;

namespace Messaging.Server.Tests.Fuzzing;

/// <summary>
/// The fuzzing harness (issue 11). A short run is part of the normal test suite; the long run is the same test with
/// more calls:
/// <code>MESSAGING_FUZZ_CALLS=1000000 dotnet test tests/Messaging.Server.Tests -c Release --filter "FullyQualifiedName~HubFuzzTests"</code>
/// <c>MESSAGING_FUZZ_PROGRESS=/path/file</c> appends a progress line every 10,000 calls. <c>MESSAGING_FUZZ_SEED</c> replays the run CsCheck reported on a failure.
/// </summary>
public sealed class HubFuzzTests(ITestOutputHelper output)
{
    private const long ShortRun = 3000;

    [Fact]
    public async Task RandomAndMutatedCalls_AreAnsweredOrRefusedWithACode_StoreNothingWhenRefused_AndLogNothingAboveWarning()
    {
        var calls = long.TryParse(Environment.GetEnvironmentVariable("MESSAGING_FUZZ_CALLS"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : ShortRun;
        var seed = Environment.GetEnvironmentVariable("MESSAGING_FUZZ_SEED");
        await using var fuzzer = await HubFuzzer.StartAsync();
        var started = System.Diagnostics.Stopwatch.StartNew();

        await fuzzer.RunAsync(calls, string.IsNullOrEmpty(seed) ? null : seed);

        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{fuzzer.Calls_} calls ({fuzzer.HttpCalls} HTTP) in {started.Elapsed.TotalSeconds:0.0} s: {fuzzer.Succeeded} succeeded, {fuzzer.Refused} refused with a code, {fuzzer.Closed} connections closed by a broken frame"));
        Assert.True(fuzzer.Calls_ >= calls);
        Assert.True(fuzzer.Refused > 0 && fuzzer.Succeeded > 0);
    }
}
