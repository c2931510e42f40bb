using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Messaging.Client.Tests.Infrastructure;

/// <summary>The real server, run as a separate process (`dotnet Messaging.Server.dll`) on a free loopback port,
/// with its own data folder. It can be killed with SIGKILL and restarted on the same port and data.</summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private readonly System.Text.StringBuilder _logs = new();
    private readonly IReadOnlyList<string> _settings;
    private Process? _process;

    private ServerProcess(string dataDirectory, int port, IReadOnlyList<string> settings)
    {
        DataDirectory = dataDirectory;
        Port = port;
        _settings = settings;
    }

    public string DataDirectory { get; }

    public int Port { get; }

    public Uri Url => new($"http://127.0.0.1:{Port}/");

    public string DatabasePath => Path.Combine(DataDirectory, "messaging.db");

    /// <summary>Everything the server process wrote to stdout and stderr so far (every start included).</summary>
    public string Logs
    {
        get
        {
            lock (_logs)
            {
                return _logs.ToString();
            }
        }
    }

    private void Log(string? line)
    {
        if (line is not null)
        {
            lock (_logs)
            {
                _logs.AppendLine(line);
            }
        }
    }

    /// <param name="dataDirectory">The server's data folder.</param>
    /// <param name="settings">More configuration, as command-line pairs (<c>--Messaging:Storage:Provider</c>, <c>Postgres</c>…).</param>
    public static async Task<ServerProcess> StartAsync(string dataDirectory, IReadOnlyList<string>? settings = null)
    {
        var server = new ServerProcess(dataDirectory, FreePort(), settings ?? []);
        try
        {
            await server.StartAsync();
        }
        catch
        {
            await server.KillAsync();
            throw;
        }

        return server;
    }

    /// <summary>Runs a host command (bootstrap, issue-code…) against the same data folder and returns its output.</summary>
    public static Task<string> RunCommandAsync(string dataDirectory, params string[] args) => RunCommandAsync(dataDirectory, [], args);

    /// <summary>As <see cref="RunCommandAsync(string, string[])"/>, with more configuration (see <see cref="StartAsync(string, IReadOnlyList{string})"/>).</summary>
    public static async Task<string> RunCommandAsync(string dataDirectory, IReadOnlyList<string> settings, params string[] args)
    {
        using var process = Process.Start(StartInfo([.. args, "--Messaging:Storage:DataDirectory", dataDirectory, .. settings]))!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"host command {args[0]} failed: {output}");
        return output;
    }

    public async Task StartAsync()
    {
        _process = Process.Start(StartInfo(["--urls", Url.ToString().TrimEnd('/'), "--Messaging:Storage:DataDirectory", DataDirectory, .. _settings]))!;
        // Keep the logs (tests search them for what must never be logged); reading also keeps the pipes from filling.
        _process.OutputDataReceived += (_, e) => Log(e.Data);
        _process.ErrorDataReceived += (_, e) => Log(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        using var http = new HttpClient { BaseAddress = Url, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            Assert.False(_process.HasExited, "the server process exited during start-up");
            try
            {
                if ((await http.GetAsync(new Uri("health/ready", UriKind.Relative))).StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException)
            {
                // Not answering yet.
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"The server did not become ready within 60 s. Its last output:\n{string.Join('\n', Logs.Split('\n').TakeLast(30))}");
    }

    /// <summary>SIGKILL: no shutdown, no flush — what the server acknowledged must already be on disk.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
        _process = null;
    }

    /// <summary>SIGTERM, as systemd or an orchestrator stops a service: the server drains (refusing new calls with
    /// <c>server.stopping</c>), closes its connections and exits; waits for the exit (SIGKILL after 60 s).</summary>
    public async Task StopGracefullyAsync()
    {
        if (_process is not { HasExited: false } process)
        {
            return;
        }

        using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            // Did not stop in time: as a service manager would, end it.
        }

        await KillAsync();
    }

    public async ValueTask DisposeAsync() => await KillAsync();

    private static ProcessStartInfo StartInfo(IEnumerable<string> args)
    {
        var dll = ServerAssembly();
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        return info;
    }

    private static string ServerAssembly()
    {
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Messaging.sln")))
        {
            directory = directory.Parent;
        }

        var dll = Path.Combine(directory!.FullName, "src", "Messaging.Server", "bin", configuration, "net10.0", "Messaging.Server.dll");
        Assert.True(File.Exists(dll), $"server not built at {dll}");
        return dll;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
