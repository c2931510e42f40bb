using System.Globalization;
using System.Reflection;
using Messaging.LoadTest;

// messaging-load [--pairs 100] [--payload 1024] [--warmup 10] [--seconds 20] [--only relay|echo] [--output FILE]
// messaging-load echo-server --urls URL   (the baseline hub, started by the tool itself)
// messaging-load catchup [--sizes 1000,10000,50000] [--held 100000] [--live 300] [--output FILE]
// messaging-load catchup-sender --store PATH --conversation ID --count N --pace-ms MS   (started by catchup)
// messaging-load job-lag [--jobs 200] [--spread 20] [--output FILE]
// messaging-load reminder-lag [--reminders 50] [--spread 20] [--output FILE]   (needs the loopback SMTP of ops/scripts/deps.sh)
if (args.Length > 0 && args[0] == "echo-server")
{
    return await EchoServer.RunAsync(args[2]);
}

string Option(string name, string fallback)
{
    var index = Array.IndexOf(args, $"--{name}");
    return index >= 0 && index + 1 < args.Length ? args[index + 1] : fallback;
}

if (args.Length > 0 && args[0] == "job-lag")
{
    var lag = await JobLagScenario.RunAsync(int.Parse(Option("jobs", "200"), CultureInfo.InvariantCulture),
        TimeSpan.FromSeconds(int.Parse(Option("spread", "20"), CultureInfo.InvariantCulture)));
    Console.WriteLine(lag);
    if (Option("output", "") is { Length: > 0 } lagOutput)
    {
        await File.WriteAllTextAsync(lagOutput, lag + "\n");
    }

    return 0;
}

if (args.Length > 0 && args[0] == "reminder-lag")
{
    var reminders = await ReminderLagScenario.RunAsync(int.Parse(Option("reminders", "50"), CultureInfo.InvariantCulture),
        TimeSpan.FromSeconds(int.Parse(Option("spread", "20"), CultureInfo.InvariantCulture)));
    Console.WriteLine(reminders);
    if (Option("output", "") is { Length: > 0 } remindersOutput)
    {
        await File.WriteAllTextAsync(remindersOutput, reminders + "\n");
    }

    return 0;
}

if (args.Length > 0 && args[0] == "catchup-sender")
{
    return await CatchUpScenario.SendAsync(Option("store", ""), Guid.Parse(Option("conversation", ""), CultureInfo.InvariantCulture),
        int.Parse(Option("count", "0"), CultureInfo.InvariantCulture), int.Parse(Option("pace-ms", "0"), CultureInfo.InvariantCulture));
}

var settings = new LoadSettings(
    int.Parse(Option("pairs", "100"), CultureInfo.InvariantCulture),
    int.Parse(Option("payload", "1024"), CultureInfo.InvariantCulture),
    TimeSpan.FromSeconds(int.Parse(Option("warmup", "10"), CultureInfo.InvariantCulture)),
    TimeSpan.FromSeconds(int.Parse(Option("seconds", "20"), CultureInfo.InvariantCulture)));
var tool = Assembly.GetEntryAssembly()!.Location;
var configuration = tool.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
var root = new DirectoryInfo(AppContext.BaseDirectory);
while (root is not null && !File.Exists(Path.Combine(root.FullName, "Messaging.sln")))
{
    root = root.Parent;
}

var serverDirectory = Path.Combine(root!.FullName, "src", "Messaging.Server", "bin", configuration, "net10.0");
if (args.Length > 0 && args[0] == "catchup")
{
    var catchUp = await CatchUpScenario.RunAsync(tool, serverDirectory,
        [.. Option("sizes", "1000,10000,50000").Split(',').Select(n => int.Parse(n, CultureInfo.InvariantCulture))],
        int.Parse(Option("held", "100000"), CultureInfo.InvariantCulture), int.Parse(Option("live", "300"), CultureInfo.InvariantCulture));
    Console.WriteLine(catchUp);
    if (Option("output", "") is { Length: > 0 } catchUpOutput)
    {
        await File.WriteAllTextAsync(catchUpOutput, catchUp + "\n");
    }

    return 0;
}

Console.Error.WriteLine($"{settings.Pairs * 2} devices in {settings.Pairs} pairs, {settings.PayloadBytes} B, {settings.WarmUp.TotalSeconds} s warm-up + {settings.Window.TotalSeconds} s measured per scenario");
// --only runs one scenario (to iterate on one side); the figures that count come from a run of both.
var only = Option("only", "");
Result? echo = null, relay = null;
if (only != "relay")
{
    Console.Error.WriteLine("(B) bare SignalR echo hub…");
    echo = await EchoScenario.RunAsync(tool, settings);
}

if (only != "echo")
{
    Console.Error.WriteLine("(A) durable relay…");
    relay = await RelayScenario.RunAsync(serverDirectory, settings);
}

var rows = new List<string>
{
    "| scenario | delivered/s | p50 ms | p99 ms | samples | server CPU (cores) | load CPU (cores) | DB writer on CPU (cores) | DB writer waiting for a CPU (cores) |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
};
if (relay is not null)
{
    rows.Add(relay.Row("(A) durable relay: SQLite, E2E sessions, acks"));
}

if (echo is not null)
{
    rows.Add(echo.Row("(B) bare SignalR echo hub"));
}

if (relay is not null && echo is not null)
{
    rows.Add(string.Create(CultureInfo.InvariantCulture, $"\nthroughput A/B = {relay.PerSecond / echo.PerSecond:F2} (goal ≥ 0.50); p99 A = {relay.P99Ms:F1} ms (goal < 50 ms)"));
}

var table = string.Join('\n', rows);
Console.WriteLine(table);
if (Option("output", "") is { Length: > 0 } output)
{
    await File.WriteAllTextAsync(output, table + "\n");
}

return 0;
