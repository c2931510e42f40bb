using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Messaging.Server.Tests.Scaleout;

/// <summary>
/// The Redis the test script starts (<c>ops/scripts/deps.sh</c>, address in <see cref="Variable"/>); each test takes a
/// channel prefix of its own, so tests never hear each other. Without the variable the tests fail with the remedy.
/// </summary>
public static class TestRedis
{
    public const string Variable = "MESSAGING_TEST_REDIS";

    public static string Address => Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } value
        ? value
        : throw new InvalidOperationException(
            $"{Variable} is not set: the scale-out tests need the Redis server that the test script starts. "
            + "Run the tests with `bash ops/scripts/test.sh` (it installs and starts PostgreSQL and Redis).");

    /// <summary>The scale-out settings of one instance on <paramref name="redis"/>, under a fresh channel prefix
    /// unless one is given (two instances of one deployment share it).</summary>
    public static Dictionary<string, string?> Settings(string redis, string prefix) => new(StringComparer.Ordinal)
    {
        ["Messaging:Scaleout:Redis"] = redis,
        ["Messaging:Scaleout:ChannelPrefix"] = prefix,
        ["Messaging:Scaleout:CatchUpDelay"] = "00:00:00",
    };

    public static string NewPrefix() => "test-" + Guid.NewGuid().ToString("N");
}

/// <summary>A redis-server of the test's own on a free loopback port, which the test can stop and start again on the
/// same port (faults during traffic). Nothing is persisted; the process is killed on dispose.</summary>
public sealed class PrivateRedis : IDisposable
{
    private Process? _process;

    public PrivateRedis()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        Start();
    }

    public int Port { get; }

    public string Address => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{Port}");

    public void Start()
    {
        var info = new ProcessStartInfo("redis-server") { UseShellExecute = false, RedirectStandardOutput = true };
        foreach (var arg in new[] { "--bind", "127.0.0.1", "--port", Port.ToString(CultureInfo.InvariantCulture), "--save", "", "--appendonly", "no" })
        {
            info.ArgumentList.Add(arg);
        }

        _process = Process.Start(info)!;
        _process.BeginOutputReadLine();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                Thread.Sleep(50);
            }
        }

        throw new TimeoutException("redis-server did not start.");
    }

    /// <summary>Kills the server (SIGKILL): every connection to it breaks at once.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            process.WaitForExit();
        }

        _process?.Dispose();
        _process = null;
    }

    public void Dispose() => Kill();
}
