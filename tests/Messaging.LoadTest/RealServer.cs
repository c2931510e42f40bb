namespace Messaging.LoadTest;

/// <summary>The real server process on a free loopback port with its own data folder, bootstrapped with a platform
/// operator, per-device rate limits lifted (the load is the point) and logging at warning.</summary>
internal sealed class RealServer : IAsyncDisposable
{
    private readonly DirectoryInfo _data;

    private RealServer(DirectoryInfo data, ChildProcess process, Uri url, string operatorCode)
    {
        _data = data;
        Process = process;
        Url = url;
        OperatorCode = operatorCode;
    }

    public ChildProcess Process { get; }

    public Uri Url { get; }

    /// <summary>The platform operator's one-time enrolment code.</summary>
    public string OperatorCode { get; }

    public static async Task<RealServer> StartAsync(string serverDirectory)
    {
        var data = Directory.CreateTempSubdirectory("messaging-load-");
        try
        {
            var bootstrap = await ChildProcess.RunAsync(serverDirectory, "Messaging.Server.dll", "bootstrap", "--organisation", "Plateforme", "--type", Messaging.Contracts.OrganisationTypes.Operator,
                "--operator", "Load operator", "--email", "operator@load.example", "--Messaging:Storage:DataDirectory", data.FullName);
            var operatorCode = bootstrap.Split('\n').Single(l => l.StartsWith("enrolment code ", StringComparison.Ordinal)).Split(' ')[2].Trim();
            var url = new Uri($"http://127.0.0.1:{ChildProcess.FreePort()}/");
            var process = await ChildProcess.StartAsync(serverDirectory,
            [
                "Messaging.Server.dll", "--urls", url.ToString().TrimEnd('/'), "--Messaging:Storage:DataDirectory", data.FullName,
                "--Messaging:RateLimits:SendsPerWindow", "1000000",
                "--Messaging:RateLimits:PreKeyBundleFetchesPerWindow", "1000000",
                "--Messaging:RateLimits:AuthenticationAttemptsPerWindow", "1000000",
                "--Messaging:RateLimits:ConversationChangesPerWindow", "1000000",
                "--Logging:LogLevel:Default", "Warning",
            ], new Uri(url, "health/ready"));
            return new RealServer(data, process, url, operatorCode);
        }
        catch
        {
            data.Delete(recursive: true);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Process.DisposeAsync();
        _data.Delete(recursive: true);
    }
}
