using System.Globalization;
using System.Reflection;
using Messaging.LoadTest;

// messaging-load [--pairs 100] [--payload 1024] [--warmup 10] [--seconds 20] [--only relay|echo] [--storage sqlite|postgres] [--instances 1|2] [--output FILE]
// messaging-load realistic [--devices 2000] [--rate 200] [--payload 1024] [--warmup 10] [--seconds 60] [--storage sqlite|postgres] [--instances 1|2] [--output FILE]
//   [--server-settings KEY=VALUE,…] [--server-env NAME=VALUE,…] [--client-keepalive SECONDS] (also for the peak runs)
//   [--tool-no-gc MB] (realistic: no collection in the tool itself during the window, up to MB allocated in it)
//   [--echo] (realistic: the same devices and rate on the bare SignalR echo hub instead of the server: this machine's floor)
//   [--server-directory PATH] (another build of the server, e.g. an older tree's src/Messaging.Server/bin/Release/net10.0)
// messaging-load capacity [--devices 22000] [--nofile 32768] [--excess 2000] [--addresses 2] [--max-hub N] [--output FILE]   (run under prlimit --nofile=…)
//   [--server-env NAME=VALUE,…] (the server's environment only, e.g. DOTNET_gcServer=0) [--server-settings KEY=VALUE,…]
//   [--http2] (hub connections as WebSockets over HTTP/2, ~100 per TCP connection: past the descriptor limit)
//   [--client-keepalive SECONDS] (the devices' ping interval, instead of the SDK's) [--gcdump FOLDER] (live heap before and after connecting, with dotnet-gcdump on the PATH; changes the RSS that follows)
//   postgres and two instances need the services of tests/Messaging.LoadTest/storage/services.sh
// messaging-load echo-server --urls URL   (the baseline hub, started by the tool itself)
// messaging-load catchup [--sizes 1000,10000,50000] [--held 100000] [--live 300] [--output FILE]
// messaging-load catchup-sender --store PATH --conversation ID --count N --pace-ms MS   (started by catchup)
// messaging-load job-lag [--jobs 200] [--spread 20] [--output FILE]
// messaging-load reminder-lag [--reminders 50] [--spread 20] [--output FILE]   (needs the loopback SMTP of ops/scripts/deps.sh)
// messaging-load allocations TRACE.nettrace [--frames 8] [--top 30] [--messages N]   (a dotnet-trace gc-verbose file: see allocations.sh)
if (args.Length > 0 && args[0] == "echo-server")
{
    return await EchoServer.RunAsync(args[2]);
}

// --server-settings KEY=VALUE,… as the server's command-line configuration.
string[] ServerSettings() => [.. Option("server-settings", "").Split(',', StringSplitOptions.RemoveEmptyEntries)
    .SelectMany(s => new[] { "--" + s[..s.IndexOf('=', StringComparison.Ordinal)], s[(s.IndexOf('=', StringComparison.Ordinal) + 1)..] })];

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

if (args.Length > 0 && args[0] == "allocations")
{
    Console.Write(AllocationReport.Build(args[1], int.Parse(Option("frames", "8"), CultureInfo.InvariantCulture),
        int.Parse(Option("top", "30"), CultureInfo.InvariantCulture), long.Parse(Option("messages", "0"), CultureInfo.InvariantCulture)));
    return 0;
}

if (args.Length > 0 && args[0] == "catchup-sender")
{
    return await CatchUpScenario.SendAsync(Option("store", ""), Guid.Parse(Option("conversation", ""), CultureInfo.InvariantCulture),
        int.Parse(Option("count", "0"), CultureInfo.InvariantCulture), int.Parse(Option("pace-ms", "0"), CultureInfo.InvariantCulture));
}

var setup = new ServerSetup(ServerSetup.ParseStorage(Option("storage", "sqlite")), int.Parse(Option("instances", "1"), CultureInfo.InvariantCulture),
    Settings: ServerSettings(), ServerEnvironment: Option("server-env", "").Split(',', StringSplitOptions.RemoveEmptyEntries));
var realistic = args.Length > 0 && args[0] == "realistic";
var settings = new LoadSettings(
    realistic ? int.Parse(Option("devices", "2000"), CultureInfo.InvariantCulture) / 2 : int.Parse(Option("pairs", "100"), CultureInfo.InvariantCulture),
    int.Parse(Option("payload", "1024"), CultureInfo.InvariantCulture),
    TimeSpan.FromSeconds(int.Parse(Option("warmup", "10"), CultureInfo.InvariantCulture)),
    TimeSpan.FromSeconds(int.Parse(Option("seconds", realistic ? "60" : "20"), CultureInfo.InvariantCulture)),
    Option("client-keepalive", "") is { Length: > 0 } keepAlive ? TimeSpan.FromSeconds(int.Parse(keepAlive, CultureInfo.InvariantCulture)) : null,
    int.Parse(Option("tool-no-gc", "0"), CultureInfo.InvariantCulture));
var tool = Assembly.GetEntryAssembly()!.Location;
var configuration = tool.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
var root = new DirectoryInfo(AppContext.BaseDirectory);
while (root is not null && !File.Exists(Path.Combine(root.FullName, "Messaging.sln")))
{
    root = root.Parent;
}

var serverDirectory = Option("server-directory", "") is { Length: > 0 } otherServer ? Path.GetFullPath(otherServer)
    : Path.Combine(root!.FullName, "src", "Messaging.Server", "bin", configuration, "net10.0");
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

async Task<int> WriteAsync(string text)
{
    Console.WriteLine(text);
    if (Option("output", "") is { Length: > 0 } file)
    {
        await File.WriteAllTextAsync(file, text + "\n");
    }

    return 0;
}

if (args.Length > 0 && args[0] == "capacity")
{
    return await WriteAsync(await CapacityScenario.RunAsync(serverDirectory, int.Parse(Option("devices", "22000"), CultureInfo.InvariantCulture),
        int.Parse(Option("nofile", "32768"), CultureInfo.InvariantCulture), int.Parse(Option("excess", "2000"), CultureInfo.InvariantCulture),
        int.Parse(Option("addresses", "2"), CultureInfo.InvariantCulture),
        [
            .. Option("max-hub", "") is { Length: > 0 } maxHub ? ["--Messaging:Connections:MaxHubConnections", maxHub] : Array.Empty<string>(),
            .. ServerSettings(),
        ],
        Option("server-env", "").Split(',', StringSplitOptions.RemoveEmptyEntries),
        Option("gcdump", "") is { Length: > 0 } gcdump ? gcdump : null,
        Option("client-keepalive", "") is { Length: > 0 } ping ? TimeSpan.FromSeconds(int.Parse(ping, CultureInfo.InvariantCulture)) : null,
        args.Contains("--http2")));
}

if (realistic)
{
    var rate = double.Parse(Option("rate", "200"), CultureInfo.InvariantCulture);
    if (args.Contains("--echo"))
    {
        Console.Error.WriteLine($"{settings.Pairs * 2} devices, {rate} messages/s in aggregate, {settings.PayloadBytes} B, on the bare SignalR echo hub");
        var bare = await EchoScenario.RunAsync(tool, settings, rate);
        return await WriteAsync(string.Join('\n', Result.FullHeader, bare.FullRow(string.Create(CultureInfo.InvariantCulture,
            $"realistic: {settings.Pairs * 2} devices, {rate:F0}/s offered, bare SignalR echo hub (no storage, no E2E, no acks)"))));
    }

    Console.Error.WriteLine($"{settings.Pairs * 2} devices, {rate} messages/s in aggregate, {settings.PayloadBytes} B, on {setup.Describe()}");
    var paced = await RelayScenario.RunAsync(serverDirectory, settings, setup, rate);
    return await WriteAsync(string.Join('\n', Result.FullHeader, paced.FullRow(string.Create(CultureInfo.InvariantCulture,
        $"realistic: {settings.Pairs * 2} devices, {rate:F0}/s offered, {setup.Describe()}"))));
}

Console.Error.WriteLine($"{setup.Describe()}: {settings.Pairs * 2} devices in {settings.Pairs} pairs, {settings.PayloadBytes} B, {settings.WarmUp.TotalSeconds} s warm-up + {settings.Window.TotalSeconds} s measured per scenario");
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
    relay = await RelayScenario.RunAsync(serverDirectory, settings, setup);
}

var rows = new List<string> { Result.FullHeader };
if (relay is not null)
{
    rows.Add(relay.FullRow($"(A) durable relay: {setup.Describe()}, E2E sessions, acks"));
}

if (echo is not null)
{
    rows.Add(echo.FullRow("(B) bare SignalR echo hub"));
}

if (relay is not null && echo is not null)
{
    rows.Add(string.Create(CultureInfo.InvariantCulture, $"\nthroughput A/B = {relay.PerSecond / echo.PerSecond:F2}; p99 A = {relay.P99Ms:F1} ms"));
}

return await WriteAsync(string.Join('\n', rows));
