using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.WebSockets;
using Messaging.Client;
using Messaging.Contracts;
using Microsoft.AspNetCore.SignalR.Client;

namespace Messaging.LoadTest;

/// <summary>
/// How many idle, connected, authenticated devices one instance holds, and what each costs: the real server (SQLite) under
/// a descriptor limit (<c>prlimit</c>), N enrolled devices each with its own token and hub connection, the server's
/// resident memory read from /proc as they connect, its CPU while they sit idle (keep-alives only), then connections past
/// the ceiling (refused with 503, the server still serving), and a message between two of the devices at the ceiling.
/// With <c>http2</c> the hub connections are WebSockets over HTTP/2 (RFC 8441) on an HTTP/2-only port, about a hundred
/// per TCP connection: each device still has its own hub connection, token and keep-alives, but the sockets, and so the
/// descriptors on both sides, are shared; this is how a process under a descriptor limit below the device count can be
/// measured at that count.
/// </summary>
internal static class CapacityScenario
{
    public static async Task<string> RunAsync(string serverDirectory, int devices, int descriptorLimit, int excess, int addresses, IReadOnlyList<string> settings,
        IReadOnlyList<string> environment, string? gcdumpFolder, TimeSpan? clientKeepAlive, bool http2 = false)
    {
        var needed = http2 ? ((devices + excess) / 50) + 1_000 : devices + excess + 1_000;
        if (OwnDescriptorLimit() is { } own && own < needed)
        {
            throw new InvalidOperationException($"this tool may open {own} descriptors and needs about {needed}: run it under `prlimit --nofile={needed}:{needed}`");
        }

        var setup = new ServerSetup(DescriptorLimit: descriptorLimit, ListenAddresses: addresses,
            Settings: ["--Messaging:Authentication:TokenLifetime", "04:00:00", .. settings], ServerEnvironment: environment, Http2: http2);
        await using var real = await RealServer.StartAsync(serverDirectory, setup);
        var targets = http2 ? real.InstanceHttp2Urls[0] : real.InstanceUrls[0];
        using var invoker = http2 ? RelayScenario.Http2Handler() : null;
        var pid = real.Process.Pid;
        var clock = Stopwatch.StartNew();
        using var api = new ServerApi(real.Url);
        var op = await RelayScenario.EnrolAsync(api, real.OperatorCode);
        var organisation = await api.CreateOrganisationAsync(op.Token, new CreateOrganisationRequest("Service", OrganisationTypes.PreventionService));
        var adminMember = await api.CreateMemberAsync(op.Token, new CreateMemberRequest(organisation.OrganisationId, "Admin", Roles.OrganisationAdmin, "admin@load.example"));
        var admin = await RelayScenario.EnrolAsync(api, (await api.IssueEnrolmentCodeAsync(op.Token, adminMember.MemberId)).Code);
        var enrolled = await RelayScenario.EnrolWorkersAsync(api, admin.Token, organisation.OrganisationId, devices, oneTimePreKeys: 1, parallel: 48);
        var rows = new List<string>
        {
            string.Create(CultureInfo.InvariantCulture, $"enrolled {devices:N0} devices in {clock.Elapsed.TotalSeconds:F0} s; server descriptor limit {descriptorLimit:N0}, {addresses} loopback address(es)"),
            "",
            "| connected devices | server RSS (MB) | RSS added per 1,000 connections (MB) | server descriptors open | connect failures |",
            "|---:|---:|---:|---:|---:|",
        };
        rows[0] += environment.Count > 0 ? $"; server environment {string.Join(' ', environment)}" : "";
        rows[0] += settings.Count > 0 ? $"; server settings {string.Join(' ', settings)}" : "";
        rows[0] += http2 ? "; hub connections as WebSockets over HTTP/2 (RFC 8441), multiplexed on shared TCP connections" : "";
        rows[0] += clientKeepAlive is { } ping ? string.Create(CultureInfo.InvariantCulture, $"; client keep-alive {ping.TotalSeconds:F0} s") : "";
        Console.Error.WriteLine(rows[0]);

        // The server's memory before any hub connection (after enrolment, so the caches enrolment fills are not counted).
        await Task.Delay(TimeSpan.FromSeconds(5));
        var baseRss = Cpu.ResidentBytes(pid);
        rows.Add(Row(0, baseRss, baseRss, pid, 0));
        // The live heap (a heap snapshot forces a full collection, which also changes the RSS that follows: only in runs
        // made for it, with --gcdump).
        var baseHeap = gcdumpFolder is null ? 0 : await LiveHeap.BytesAsync(pid, Path.Combine(gcdumpFolder, "before-connections.gcdump"));
        var measurement = new Measurement();
        var connected = new List<RelayScenario.Device>();
        var failures = 0;
        var firstFailure = "";
        using var gate = new SemaphoreSlim(64);
        var cpuBefore = Cpu.Seconds(pid);
        clock.Restart();
        foreach (var batch in enrolled.Select((d, i) => (d, i)).Chunk(1_000))
        {
            var outcomes = await Task.WhenAll(batch.Select(async x =>
            {
                await gate.WaitAsync();
                try
                {
                    await RelayScenario.ConnectAsync(x.d, targets[x.i % addresses], measurement, invoker);
                    // Another client ping interval than the SDK's (HubKeepAlive), to measure what it would cost.
                    x.d.Hub.KeepAliveInterval = clientKeepAlive ?? x.d.Hub.KeepAliveInterval;
                    return (Device: x.d, Error: (string?)null);
                }
                catch (Exception ex) when (ex is HttpRequestException or WebSocketException or IOException or InvalidOperationException or TimeoutException)
                {
                    return (Device: x.d, Error: ex.Message);
                }
                finally
                {
                    gate.Release();
                }
            }));
            connected.AddRange(outcomes.Where(o => o.Error is null).Select(o => o.Device));
            failures += outcomes.Count(o => o.Error is not null);
            firstFailure = firstFailure.Length > 0 ? firstFailure : outcomes.FirstOrDefault(o => o.Error is not null).Error ?? "";
            if (connected.Count % 5_000 < 1_000 || batch[^1].i == devices - 1)
            {
                rows.Add(Row(connected.Count, Cpu.ResidentBytes(pid), baseRss, pid, failures));
                Console.Error.WriteLine(rows[^1]);
            }
        }

        var connectCpu = Cpu.Seconds(pid) - cpuBefore;
        var connectWall = clock.Elapsed;

        // Idle: nothing but keep-alives (both sides ping every 15 s unless configured otherwise).
        await Task.Delay(TimeSpan.FromSeconds(15));
        var idleCpu = Cpu.Seconds(pid);
        var idleWindow = TimeSpan.FromSeconds(60);
        await Task.Delay(idleWindow);
        idleCpu = Cpu.Seconds(pid) - idleCpu;
        var idleRss = Cpu.ResidentBytes(pid);
        rows.Add("");
        rows.Add(string.Create(CultureInfo.InvariantCulture,
            $"connecting took {connectWall.TotalSeconds:F0} s and {connectCpu:F1} s of server CPU ({connectCpu * 1000 / Math.Max(1, connected.Count):F2} ms per connection); first failure: {(firstFailure.Length == 0 ? "none" : firstFailure)}"));
        rows.Add(string.Create(CultureInfo.InvariantCulture,
            $"idle, {connected.Count:N0} connected: server RSS {idleRss / 1e6:F0} MB ({(idleRss - baseRss) / 1e6 / connected.Count * 1000:F1} MB per 1,000 above the {baseRss / 1e6:F0} MB before any connection; {idleRss / 1e6 / connected.Count * 1000:F1} MB per 1,000 in all); server CPU {idleCpu / idleWindow.TotalSeconds:F3} cores over {idleWindow.TotalSeconds:F0} s = {idleCpu / idleWindow.TotalSeconds / connected.Count * 1000:F4} cores per 1,000"));
        Console.Error.WriteLine(rows[^1]);
        if (gcdumpFolder is not null)
        {
            var idleHeap = await LiveHeap.BytesAsync(pid, Path.Combine(gcdumpFolder, "idle.gcdump"));
            rows.Add(string.Create(CultureInfo.InvariantCulture,
                $"live heap (gcdump): {baseHeap / 1e6:F1} MB before any connection, {idleHeap / 1e6:F1} MB idle with {connected.Count:N0} connected = {(idleHeap - baseHeap) / (double)Math.Max(1, connected.Count) / 1e3:F1} KB per connection; server RSS after the snapshot {Cpu.ResidentBytes(pid) / 1e6:F0} MB"));
            Console.Error.WriteLine(rows[^1]);
        }

        // Past the ceiling: more connections (with tokens of devices already connected; the gate refuses before authentication).
        var (accepted, refused, other, otherMessage) = (0, 0, 0, "");
        var extra = new List<HubConnection>();
        for (var j = 0; j < excess; j++)
        {
            if (j % 250 == 0)
            {
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  excess {j}: {accepted} accepted, {refused} refused, {other} other; server {(real.Process.HasExited ? "EXITED" : $"descriptors {Descriptors(pid):N0} ({DescriptorKinds(pid)})")}"));
            }

            var hub = RelayScenario.Connect(connected[j % connected.Count], targets[j % addresses], invoker);
            try
            {
                await hub.StartAsync();
                accepted++;
                extra.Add(hub);
            }
            catch (Exception ex) when (ex is HttpRequestException or WebSocketException or IOException or InvalidOperationException or TimeoutException)
            {
                await hub.DisposeAsync();
                if (ex is HttpRequestException { StatusCode: HttpStatusCode.ServiceUnavailable } || ex.Message.Contains("503", StringComparison.Ordinal))
                {
                    refused++;
                }
                else
                {
                    other++;
                    otherMessage = otherMessage.Length > 0 ? otherMessage : ex.Message + (ex.GetBaseException() is { } inner && inner != ex ? $" ({inner.GetType().Name}: {inner.Message})" : "");
                }
            }
        }

        using var http = new HttpClient();
        var ready = await http.GetAsync(new Uri(real.Url, "health/ready"));
        rows.Add(string.Create(CultureInfo.InvariantCulture,
            $"{excess:N0} more connections: {accepted:N0} accepted, {refused:N0} refused with 503, {other:N0} other failures{(other > 0 ? $" (first: {otherMessage})" : "")}; then {connected.Count + accepted:N0} hub connections open, server descriptors {Descriptors(pid):N0}, server {(real.Process.HasExited ? "EXITED" : "running")}, /health/ready {(int)ready.StatusCode}"));
        Console.Error.WriteLine(rows[^1]);

        // A message at the ceiling: two of the connected devices, a conversation, an E2E session, 50 messages 100 ms apart.
        var (a, b) = (connected[0], connected[1]);
        (a.Partner, b.Partner) = (b, a);
        await RelayScenario.StartSessionAsync(a, 1024);
        var payload = new byte[1024];
        var cpu = new CpuProbe([pid]);
        cpu.Start();
        measurement.OpenWindow();
        for (var i = 0; i < 50; i++)
        {
            await RelayScenario.SendAsync(i % 2 == 0 ? a : b, payload, measurement);
            await Task.Delay(100);
        }

        await Task.Delay(500);
        measurement.CloseWindow();
        var message = measurement.Summarise(TimeSpan.FromSeconds(5.5), cpu.Stop());
        rows.Add(string.Create(CultureInfo.InvariantCulture,
            $"a message at the ceiling: {message.Samples} of 50 delivered, send to receipt p50 {message.P50Ms:F1} ms, p99 {message.P99Ms:F1} ms"));
        Console.Error.WriteLine(rows[^1]);
        await Task.WhenAll(extra.Select(h => h.DisposeAsync().AsTask()).Concat(connected.Select(d => d.Hub.DisposeAsync().AsTask())));
        return string.Join('\n', rows);
    }

    private static string Row(int connected, long rss, long baseRss, int pid, int failures) => string.Create(CultureInfo.InvariantCulture,
        $"| {connected:N0} | {rss / 1e6:F0} | {(connected == 0 ? "–" : ((rss - baseRss) / 1e6 / connected * 1000).ToString("F1", CultureInfo.InvariantCulture))} | {Descriptors(pid):N0} ({DescriptorKinds(pid)}) | {failures:N0} |");

    private static int Descriptors(int pid) => Directory.GetFiles($"/proc/{pid}/fd").Length;

    /// <summary>The server's descriptors by kind: sockets, database files (the SQLite file, its WAL and shared memory), the rest.</summary>
    private static string DescriptorKinds(int pid)
    {
        var (sockets, database, other) = (0, 0, 0);
        foreach (var fd in Directory.GetFiles($"/proc/{pid}/fd"))
        {
            try
            {
                var target = new FileInfo(fd).LinkTarget ?? "";
                if (target.StartsWith("socket:", StringComparison.Ordinal))
                {
                    sockets++;
                }
                else if (target.Contains("messaging.db", StringComparison.Ordinal))
                {
                    database++;
                }
                else
                {
                    other++;
                }
            }
            catch (IOException)
            {
                // Closed while being read.
            }
        }

        return string.Create(CultureInfo.InvariantCulture, $"{sockets:N0} sockets, {database:N0} database files, {other:N0} other");
    }

    private static long? OwnDescriptorLimit()
    {
        var line = File.ReadLines("/proc/self/limits").FirstOrDefault(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        var fields = line?["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields is { Length: > 0 } && long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var soft) ? soft : null;
    }
}

/// <summary>
/// The live managed heap of a process, from a heap snapshot taken with <c>dotnet-gcdump</c> (a .NET tool: <c>dotnet tool
/// install --tool-path DIR dotnet-gcdump</c>, then DIR on the PATH). Collecting forces a full, compacting collection and
/// counts the objects still reachable; the snapshot file is kept for <c>dotnet-gcdump report</c> (types by size).
/// </summary>
internal static class LiveHeap
{
    public static async Task<long> BytesAsync(int pid, string file)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
        await RunAsync("collect", "-p", pid.ToString(CultureInfo.InvariantCulture), "-o", file);
        var report = await RunAsync("report", file);
        // The report starts with the totals: "   12,345,678  GC Heap bytes".
        var total = report.Split('\n').Select(l => l.Trim()).First(l => l.EndsWith("GC Heap bytes", StringComparison.Ordinal));
        return long.Parse(total.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0], NumberStyles.AllowThousands, CultureInfo.InvariantCulture);
    }

    private static async Task<string> RunAsync(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet-gcdump") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start dotnet-gcdump");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0 ? await output : throw new InvalidOperationException($"dotnet-gcdump {args[0]} failed: {await output}{await error}");
    }
}
