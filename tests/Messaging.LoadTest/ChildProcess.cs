using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Messaging.LoadTest;

/// <summary>A child process serving HTTP on a loopback port, started and awaited until a ready URL answers.</summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;

    private ChildProcess(Process process) => _process = process;

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Starts <c>dotnet</c> with <paramref name="args"/>; under <c>prlimit --nofile</c> when
    /// <paramref name="descriptorLimit"/> is set (prlimit execs the command, so the PID is dotnet's); with
    /// <paramref name="environment"/> (<c>NAME=VALUE</c>) added to the child's environment only.</summary>
    public static async Task<ChildProcess> StartAsync(string workingDirectory, IEnumerable<string> args, Uri ready, int? descriptorLimit = null,
        IReadOnlyList<string>? environment = null)
    {
        var info = new ProcessStartInfo(descriptorLimit is null ? "dotnet" : "prlimit") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var variable in environment ?? [])
        {
            var equals = variable.IndexOf('=', StringComparison.Ordinal);
            info.Environment[variable[..equals]] = variable[(equals + 1)..];
        }

        if (descriptorLimit is { } limit)
        {
            info.ArgumentList.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"--nofile={limit}:{limit}"));
            info.ArgumentList.Add("dotnet");
        }

        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start a child process");
        // MESSAGING_LOAD_LOGS names a folder that keeps each child's output (the server logs at warning); otherwise it is dropped.
        if (Environment.GetEnvironmentVariable("MESSAGING_LOAD_LOGS") is { Length: > 0 } logs)
        {
            Directory.CreateDirectory(logs);
            var log = TextWriter.Synchronized(new StreamWriter(Path.Combine(logs, $"child-{process.Id}.log")) { AutoFlush = true });
            process.OutputDataReceived += (_, e) => log.WriteLine(e.Data);
            process.ErrorDataReceived += (_, e) => log.WriteLine(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }
        else
        {
            _ = process.StandardOutput.ReadToEndAsync();
            _ = process.StandardError.ReadToEndAsync();
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var waited = Stopwatch.StartNew();
        while (waited.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"the child process exited with {process.ExitCode}");
            }

            try
            {
                if ((await http.GetAsync(ready)).StatusCode == HttpStatusCode.OK)
                {
                    return new ChildProcess(process);
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // Not up yet.
            }

            await Task.Delay(100);
        }

        process.Kill(entireProcessTree: true);
        throw new TimeoutException("the child process did not become ready in 30 s");
    }

    /// <summary>Runs a short command to completion and returns its standard output.</summary>
    public static async Task<string> RunAsync(string workingDirectory, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start a child process");
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0 ? output : throw new InvalidOperationException($"'{args[0]}' failed: {output}");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
