using System.Diagnostics;
using System.Globalization;

namespace Messaging.Server.Tests.Infrastructure;

/// <summary>
/// Instances of one scaled-out deployment as real processes: settings come as environment variables (the connection
/// strings hold passwords: never on a command line that <c>ps</c> shows), each instance has its own data folder and port,
/// and a test can kill one (SIGKILL) or stop it the way a service manager does (SIGTERM).
/// </summary>
public sealed partial class LimitedServerProcess
{
    /// <summary>Runs the <c>bootstrap</c> host command on the deployment's settings (it migrates the database) and returns
    /// the platform operator's enrolment code.</summary>
    public static async Task<string> BootstrapAsync(IReadOnlyDictionary<string, string> environment)
    {
        var dataDirectory = NewDataDirectory();
        try
        {
            var info = StartInfo(null, ["bootstrap", "--organisation", "Platform", "--operator", "Operator", "--email", "operator@platform.example",
                "--Messaging:Storage:DataDirectory", dataDirectory]);
            AddEnvironment(info, environment);
            using var bootstrap = Process.Start(info)!;
            var output = bootstrap.StandardOutput.ReadToEndAsync();
            var errors = bootstrap.StandardError.ReadToEndAsync();
            await bootstrap.WaitForExitAsync();
            Assert.True(bootstrap.ExitCode == 0, await output + await errors);
            return (await output).Split('\n').Single(l => l.StartsWith("enrolment code ", StringComparison.Ordinal)).Split(' ')[2];
        }
        finally
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
    }

    /// <summary>Starts one instance (no descriptor limit) on a free loopback port and waits until it is ready.</summary>
    public static async Task<LimitedServerProcess> StartInstanceAsync(IReadOnlyDictionary<string, string> environment)
    {
        var dataDirectory = NewDataDirectory();
        var port = FreePort();
        var info = StartInfo(null, ["--urls", $"http://127.0.0.1:{port}", "--Messaging:Storage:DataDirectory", dataDirectory]);
        AddEnvironment(info, environment);
        var server = new LimitedServerProcess(Process.Start(info)!, dataDirectory, port);
        server._process.OutputDataReceived += (_, e) => server.Log(e.Data);
        server._process.ErrorDataReceived += (_, e) => server.Log(e.Data);
        server._process.BeginOutputReadLine();
        server._process.BeginErrorReadLine();
        try
        {
            // Several instances start at once on two shared cores, with other test runs: give them longer than one alone.
            await server.WaitReadyAsync(180);
        }
        catch (TimeoutException ex)
        {
            var logs = server.Logs.Split('\n');
            await server.DisposeAsync();
            throw new TimeoutException(ex.Message + " Its last log lines:\n" + string.Join('\n', logs.TakeLast(30)), ex);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        return server;
    }

    /// <summary>SIGKILL: the process ends at once, mid-call, without a shutdown of any kind.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(); // SIGKILL on Linux
            await _process.WaitForExitAsync();
        }
    }

    /// <summary>SIGTERM, as systemd or an orchestrator stops a service; waits for the process to end (SIGKILL after
    /// <paramref name="grace"/>, as they would).</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (_process.HasExited)
        {
            return;
        }

        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        using var timeout = new CancellationTokenSource(grace);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            await KillAsync();
        }
    }

    private static void AddEnvironment(ProcessStartInfo info, IReadOnlyDictionary<string, string> environment)
    {
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }
    }

    private static string NewDataDirectory()
    {
        var directory = Path.Combine(Path.GetTempPath(), "messaging-server-process-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        return directory;
    }
}
