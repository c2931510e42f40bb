using System.Diagnostics;
using System.Text;

namespace Messaging.App.Tests.Infrastructure;

/// <summary>The worker's app as the worker runs it: the built <c>messaging-app</c> in its own process, on a free loopback
/// port, printing its launch link. Its output is kept (tests search it for what must never be logged).</summary>
internal sealed class AppProcess : IAsyncDisposable
{
    private readonly StringBuilder _logs = new();
    private readonly TaskCompletionSource<Uri> _launch = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Process _process;

    private AppProcess(Process process) => _process = process;

    /// <summary>The link with this launch's secret, as printed.</summary>
    public Uri LaunchUrl { get; private set; } = null!;

    public Uri BaseUrl => new($"http://127.0.0.1:{LaunchUrl.Port}/");

    public int Port => LaunchUrl.Port;

    /// <summary>The app's TMPDIR, a folder of its own, removed with the process.</summary>
    public string TempDirectory { get; private init; } = null!;

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

    public static async Task<AppProcess> StartAsync(string storePath, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(AppAssembly());
        foreach (var arg in (string[])["--store", storePath, "--no-browser", .. args])
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["MESSAGING_KEYSTORE_COST"] = "interactive";
        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        // A temporary folder of its own, where a test can see whether the app writes anything (ASP.NET spills large
        // request bodies to TMPDIR).
        var temp = Directory.CreateTempSubdirectory("messaging-app-tmp-");
        info.Environment["TMPDIR"] = temp.FullName;
        var app = new AppProcess(Process.Start(info)!) { TempDirectory = temp.FullName };
        app._process.OutputDataReceived += (_, e) => app.Log(e.Data);
        app._process.ErrorDataReceived += (_, e) => app.Log(e.Data);
        app._process.BeginOutputReadLine();
        app._process.BeginErrorReadLine();
        try
        {
            app.LaunchUrl = await app._launch.Task.WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException)
        {
            await app.DisposeAsync();
            throw new TimeoutException($"The app printed no launch link within 60 s:\n{app.Logs}");
        }

        return app;
    }

    private void Log(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_logs)
        {
            _logs.AppendLine(line);
        }

        const string Prefix = "Messaging app: ";
        if (line.StartsWith(Prefix, StringComparison.Ordinal))
        {
            _launch.TrySetResult(new Uri(line[Prefix.Length..].Trim()));
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        Directory.Delete(TempDirectory, recursive: true);
    }

    /// <summary>The app as built beside these tests (the project reference copies it, with its runtime configuration).</summary>
    private static string AppAssembly()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "messaging-app.dll");
        Assert.True(File.Exists(dll), $"app not built at {dll}");
        return dll;
    }
}
