using System.Globalization;
using System.Reflection;
using Messaging.LoadTest;

// messaging-load [--pairs 100] [--payload 1024] [--warmup 5] [--seconds 20] [--output FILE]
// messaging-load echo-server --urls URL   (the baseline hub, started by the tool itself)
if (args.Length > 0 && args[0] == "echo-server")
{
    return await EchoServer.RunAsync(args[2]);
}

string Option(string name, string fallback)
{
    var index = Array.IndexOf(args, $"--{name}");
    return index >= 0 && index + 1 < args.Length ? args[index + 1] : fallback;
}

var settings = new LoadSettings(
    int.Parse(Option("pairs", "100"), CultureInfo.InvariantCulture),
    int.Parse(Option("payload", "1024"), CultureInfo.InvariantCulture),
    TimeSpan.FromSeconds(int.Parse(Option("warmup", "5"), CultureInfo.InvariantCulture)),
    TimeSpan.FromSeconds(int.Parse(Option("seconds", "20"), CultureInfo.InvariantCulture)));
var tool = Assembly.GetEntryAssembly()!.Location;
var configuration = tool.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
var root = new DirectoryInfo(AppContext.BaseDirectory);
while (root is not null && !File.Exists(Path.Combine(root.FullName, "Messaging.sln")))
{
    root = root.Parent;
}

var serverDirectory = Path.Combine(root!.FullName, "src", "Messaging.Server", "bin", configuration, "net10.0");
Console.Error.WriteLine($"{settings.Pairs * 2} devices in {settings.Pairs} pairs, {settings.PayloadBytes} B, {settings.WarmUp.TotalSeconds} s warm-up + {settings.Window.TotalSeconds} s measured per scenario");
Console.Error.WriteLine("(B) bare SignalR echo hub…");
var echo = await EchoScenario.RunAsync(tool, settings);
Console.Error.WriteLine("(A) durable relay…");
var relay = await RelayScenario.RunAsync(serverDirectory, settings);

var table = string.Join('\n',
    "| scenario | delivered/s | p50 ms | p99 ms | samples | server CPU (cores) | load CPU (cores) |",
    "|---|---:|---:|---:|---:|---:|---:|",
    relay.Row("(A) durable relay: SQLite, E2E sessions, acks"),
    echo.Row("(B) bare SignalR echo hub"),
    string.Create(CultureInfo.InvariantCulture, $"\nthroughput A/B = {relay.PerSecond / echo.PerSecond:F2} (goal ≥ 0.50); p99 A = {relay.P99Ms:F1} ms (goal < 50 ms)"));
Console.WriteLine(table);
if (Option("output", "") is { Length: > 0 } output)
{
    await File.WriteAllTextAsync(output, table + "\n");
}

return 0;
