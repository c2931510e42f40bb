using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using Messaging.Contracts;
using Messaging.Testing;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace Messaging.Server.Tests.Infrastructure;

/// <summary>
/// The built server (<c>dotnet Messaging.Server.dll</c>) as its own process on a free loopback port, under a small
/// file-descriptor limit (<c>prlimit --nofile</c>), with its own data folder: for what only a real process shows
/// (descriptor exhaustion, crashes). Kills the process and deletes the folder on dispose.
/// </summary>
public sealed partial class LimitedServerProcess : IAsyncDisposable
{
    private readonly StringBuilder _logs = new();
    private readonly Process _process;

    private LimitedServerProcess(Process process, string dataDirectory, params int[] ports)
    {
        _process = process;
        DataDirectory = dataDirectory;
        Urls = [.. ports.Select(port => new Uri($"http://127.0.0.1:{port}/"))];
    }

    public string DataDirectory { get; }

    /// <summary>The first address it listens on.</summary>
    public Uri Url => Urls[0];

    /// <summary>Every address it listens on.</summary>
    public IReadOnlyList<Uri> Urls { get; }

    /// <summary>The HTTP/2-only address (<see cref="StartWithHttp2Async"/>), or null.</summary>
    public Uri? Http2Url { get; private init; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

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

    /// <summary>Descriptors the process holds now (from <c>/proc/&lt;pid&gt;/fd</c>).</summary>
    public int OpenDescriptors => Directory.GetFiles($"/proc/{Pid}/fd").Length;

    /// <summary>Bootstraps an operator with a host command, then starts the server under the descriptor limit and waits
    /// until it is ready. Returns the server and the operator's enrolment code.</summary>
    public static Task<(LimitedServerProcess Server, string OperatorCode)> StartAsync(int descriptorLimit, params string[] settings)
        => StartAsync(descriptorLimit, 1, settings);

    /// <summary>As <see cref="StartAsync(int, string[])"/>, listening on <paramref name="addresses"/> loopback ports (a
    /// public and a management address, say).</summary>
    public static Task<(LimitedServerProcess Server, string OperatorCode)> StartAsync(int descriptorLimit, int addresses, params string[] settings)
        => StartAsync(descriptorLimit, addresses, http2: false, settings);

    /// <summary>As <see cref="StartAsync(int, string[])"/>, with a second, HTTP/2-only address (cleartext, prior knowledge:
    /// <see cref="Http2Url"/>) beside the first, for WebSockets over HTTP/2 (RFC 8441).</summary>
    public static Task<(LimitedServerProcess Server, string OperatorCode)> StartWithHttp2Async(int descriptorLimit, params string[] settings)
        => StartAsync(descriptorLimit, 1, http2: true, settings);

    private static async Task<(LimitedServerProcess Server, string OperatorCode)> StartAsync(int descriptorLimit, int addresses, bool http2, string[] settings)
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "messaging-server-process-tests", Guid.NewGuid().ToString("N"));
        var configuration = new List<string> { "--Messaging:Storage:DataDirectory", dataDirectory };
        configuration.AddRange(settings);
        using (var bootstrap = Process.Start(StartInfo(null, ["bootstrap", "--organisation", "Platform", "--operator", "Operator", "--email", "operator@platform.example", .. configuration]))!)
        {
            var output = await bootstrap.StandardOutput.ReadToEndAsync();
            await bootstrap.WaitForExitAsync();
            Assert.True(bootstrap.ExitCode == 0, output);
            var code = output.Split('\n').Single(l => l.StartsWith("enrolment code ", StringComparison.Ordinal)).Split(' ')[2];
            var ports = Enumerable.Range(0, addresses).Select(_ => FreePort()).ToArray();
            var urls = string.Join(';', ports.Select(port => string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}")));
            var http2Port = http2 ? FreePort() : 0;
            // Endpoints from configuration replace --urls, so with HTTP/2 both addresses are named there.
            string[] listen = http2
                ?
                [
                    "--Kestrel:Endpoints:Http1:Url", urls,
                    "--Kestrel:Endpoints:Http2:Url", string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{http2Port}"), "--Kestrel:Endpoints:Http2:Protocols", "Http2",
                ]
                : ["--urls", urls];
            var process = Process.Start(StartInfo(descriptorLimit, [.. listen, .. configuration]))!;
            var server = new LimitedServerProcess(process, dataDirectory, ports)
            {
                Http2Url = http2 ? new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{http2Port}/")) : null,
            };
            process.OutputDataReceived += (_, e) => server.Log(e.Data);
            process.ErrorDataReceived += (_, e) => server.Log(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            await server.WaitReadyAsync();
            return (server, code);
        }
    }

    /// <summary>A client on the server's address, optionally with a bearer token.</summary>
    public HttpClient Client(string? token = null)
    {
        var http = new HttpClient { BaseAddress = Url, Timeout = TimeSpan.FromSeconds(30) };
        if (token is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return http;
    }

    /// <summary>Enrols real keys with a code, then authenticates (challenge, signature, token).</summary>
    public async Task<TestDevice> EnrolAsync(string code, TestMember member)
    {
        using var http = Client();
        var keys = DeviceKeys.Generate(5);
        var enrolled = await (await http.PostAsJsonAsync(ApiRoutes.Enrolment, keys.Request(code))).EnsureSuccessStatusCode().Content.ReadFromJsonAsync<EnrolDeviceResponse>();
        var device = new TestDevice(enrolled!.DeviceId, member with { Id = enrolled.MemberId, OrganisationId = enrolled.OrganisationId }, keys);
        var challenge = await (await http.PostAsJsonAsync(ApiRoutes.AuthChallenge, new ChallengeRequest(device.Id))).EnsureSuccessStatusCode().Content.ReadFromJsonAsync<ChallengeResponse>();
        var token = await (await http.PostAsJsonAsync(ApiRoutes.AuthToken,
            new TokenRequest(device.Id, challenge!.Challenge, keys.Identity.SignChallenge(challenge.Challenge)))).EnsureSuccessStatusCode().Content.ReadFromJsonAsync<TokenResponse>();
        device.Token = token!.AccessToken;
        return device;
    }

    /// <summary>A raw SignalR connection over WebSockets with the device's token.</summary>
    public HubConnection Hub(string token) => new HubConnectionBuilder()
        .WithUrl(new Uri(Url, HubRoutes.Messaging), options =>
        {
            options.Transports = HttpTransportType.WebSockets;
            options.SkipNegotiation = true;
            options.AccessTokenProvider = () => Task.FromResult<string?>(token);
        })
        .Build();

    /// <summary>A raw SignalR connection over a WebSocket carried by HTTP/2 (RFC 8441) to <see cref="Http2Url"/>, through
    /// <paramref name="http2"/> (one handler multiplexes its connections on one TCP connection).</summary>
    public HubConnection Http2Hub(string token, HttpMessageInvoker http2) => new HubConnectionBuilder()
        .WithUrl(new Uri(Http2Url ?? throw new InvalidOperationException("started without HTTP/2"), HubRoutes.Messaging), options =>
        {
            options.Transports = HttpTransportType.WebSockets;
            options.SkipNegotiation = true;
            options.WebSocketFactory = (context, cancellation) => Http2WebSockets.ConnectAsync(context.Uri, http2, token, cancellation);
        })
        .Build();

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
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

    private async Task WaitReadyAsync(int seconds = 30)
    {
        using var http = Client();
        http.Timeout = TimeSpan.FromSeconds(2);
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(seconds))
        {
            Assert.False(_process.HasExited, "the server exited during start-up: " + Logs);
            try
            {
                if ((await http.GetAsync(new Uri("health/ready", UriKind.Relative))).StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"The server did not become ready within {seconds} s.");
    }

    private static ProcessStartInfo StartInfo(int? descriptorLimit, IEnumerable<string> args)
    {
        var dll = ServerAssembly();
        var info = new ProcessStartInfo(descriptorLimit is null ? "dotnet" : "prlimit")
        {
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (descriptorLimit is { } limit)
        {
            // prlimit execs the command: the server is this very process, with the limit set before it starts.
            info.ArgumentList.Add(string.Create(CultureInfo.InvariantCulture, $"--nofile={limit}:{limit}"));
            info.ArgumentList.Add("dotnet");
        }

        info.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        return info;
    }

    /// <summary>The server as built into this test project's output (with its runtimeconfig, deps and appsettings).</summary>
    private static string ServerAssembly() => typeof(Program).Assembly.Location;

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
