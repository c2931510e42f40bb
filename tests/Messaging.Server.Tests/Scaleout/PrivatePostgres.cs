using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Messaging.Server.Tests.Scaleout;

/// <summary>
/// A PostgreSQL cluster of the test's own, made the way <c>ops/scripts/deps.sh</c> makes the shared one (the Debian
/// binaries, <c>initdb</c> as the <c>postgres</c> user into a private folder under <c>/tmp/messaging-test-postgres.*</c>,
/// password authentication, loopback only, no durability), so that a test can stop and start it during traffic without
/// disturbing the tests that share the script's cluster — and without ever touching a system cluster. Stopped and deleted
/// on dispose.
/// </summary>
public sealed class PrivatePostgres : IDisposable
{
    private readonly string _bin;
    private readonly string _data;

    public PrivatePostgres()
    {
        _bin = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin"))
                .Where(d => File.Exists(Path.Combine(d, "initdb")))
                .OrderBy(d => Version.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out var v) ? v : new Version(0, 0))
                .LastOrDefault() ?? throw new InvalidOperationException("No PostgreSQL server binaries under /usr/lib/postgresql: run `bash ops/scripts/test.sh`, which installs them.")
            : throw new InvalidOperationException("No PostgreSQL server binaries under /usr/lib/postgresql: run `bash ops/scripts/test.sh`, which installs them.");
        _data = Directory.CreateTempSubdirectory("messaging-test-postgres.").FullName;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        var password = "pg-" + Guid.NewGuid().ToString("N");
        var passwordFile = Path.Combine(_data, "..", Path.GetFileName(_data) + ".pw");
        try
        {
            File.WriteAllText(passwordFile, password + "\n");
            Run("chown", "postgres:postgres", _data, passwordFile);
            Run("chmod", "0700", _data);
            RunAsPostgres("initdb", "-D", _data, "-U", "postgres", "--pwfile=" + passwordFile, "--auth=scram-sha-256",
                "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync");
        }
        finally
        {
            File.Delete(passwordFile);
        }

        AdminConnectionString = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = Port,
            Username = "postgres",
            Password = password,
            Database = "postgres",
        }.ConnectionString;
        Start();
    }

    public int Port { get; }

    /// <summary>The superuser connection string (database <c>postgres</c>).</summary>
    public string AdminConnectionString { get; }

    public void Start()
        => RunAsPostgres("pg_ctl", "-D", _data, "-l", Path.Combine(_data, "server.log"), "-w", "-t", "60", "-o",
            string.Create(CultureInfo.InvariantCulture,
                $"-c listen_addresses=127.0.0.1 -c port={Port} -c unix_socket_directories={_data} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"),
            "start");

    /// <summary>Stops the server at once (<c>-m immediate</c>: every connection breaks, as in a crash; it recovers from its
    /// log when started again).</summary>
    public void Stop() => RunAsPostgres("pg_ctl", "-D", _data, "-m", "immediate", "-w", "stop");

    public void Dispose()
    {
        if (File.Exists(Path.Combine(_data, "postmaster.pid")))
        {
            try
            {
                Stop();
            }
            catch (InvalidOperationException)
            {
                // Already stopped: the folder goes anyway.
            }
        }

        Directory.Delete(_data, recursive: true);
    }

    private void RunAsPostgres(string program, params string[] args)
        => Run("runuser", ["-u", "postgres", "--", Path.Combine(_bin, program), .. args]);

    private static void Run(string program, params string[] args)
    {
        var info = new ProcessStartInfo(program) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} failed ({process.ExitCode}): {output.Result} {errors}");
        }
    }
}
