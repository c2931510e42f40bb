using System.Text.Json;
using System.Text.RegularExpressions;

namespace Messaging.Server.Tests;

/// <summary>
/// Issue 15: the files in <c>ops/</c> stay consistent with one another — the production settings' management port (where
/// <c>/metrics</c> answers) is among the addresses every way of running the server listens on, Prometheus scrapes it on
/// both compose instances with a pinned image, and nothing but the internal network reaches it.
/// </summary>
public sealed partial class OpsFilesTests
{
    private static readonly string Root = FindRoot();

    [Fact]
    public void TheProductionSettings_ListenOnTheManagementPort_WithMetricsEnabled()
    {
        var (urls, port) = ProductionSettings();

        Assert.Contains(urls, u => u.Port == port);
        Assert.Contains(urls, u => u.Port != port);
    }

    [Fact]
    public void TheSystemdUnit_ListensOnTheManagementPortOfTheProductionSettings()
    {
        var (_, port) = ProductionSettings();
        var unit = File.ReadAllLines(Path.Combine(Root, "ops", "systemd", "messaging.service"));
        var execStart = Assert.Single(unit, l => l.StartsWith("ExecStart=", StringComparison.Ordinal));
        var environment = string.Join('\n', unit.Where(l => l.StartsWith("Environment=", StringComparison.Ordinal)));

        // Either the unit leaves the addresses to the settings file, or the ones it gives include the management port.
        foreach (var overriding in new[] { UrlsArgument().Match(execStart), AspNetCoreUrls().Match(environment) }.Where(m => m.Success))
        {
            Assert.Contains(overriding.Groups["urls"].Value.Split(';'), u => new Uri(u.Replace("0.0.0.0", "host", StringComparison.Ordinal)).Port == port);
        }
    }

    [Fact]
    public void TheComposeDeployment_ScrapesBothInstancesManagementPort_WithAPinnedPrometheus_AndPublishesNothingButTheProxy()
    {
        var (_, port) = ProductionSettings();
        var services = ComposeServices(File.ReadAllLines(Path.Combine(Root, "ops", "compose", "compose.yaml")));
        var prometheus = Assert.Single(services, s => s.Value.Any(l => l.Contains("image: docker.io/prom/prometheus:", StringComparison.Ordinal))).Value;
        var image = prometheus.Single(l => l.Contains("image:", StringComparison.Ordinal));
        var scrape = File.ReadAllText(Path.Combine(Root, "ops", "compose", "prometheus.yml"));
        var nginx = File.ReadAllText(Path.Combine(Root, "ops", "compose", "nginx.conf"));

        Assert.Matches(@"prometheus:v[0-9]+\.[0-9]+\.[0-9]+$", image.Trim());
        Assert.Contains(prometheus, l => l.Contains("./prometheus.yml:/etc/prometheus/prometheus.yml", StringComparison.Ordinal));
        Assert.Contains("metrics_path: /metrics", scrape, StringComparison.Ordinal);
        foreach (var instance in services.Keys.Where(k => k.StartsWith("messaging-", StringComparison.Ordinal)))
        {
            Assert.Contains($"\"{instance}:{port}\"", scrape, StringComparison.Ordinal);
        }

        Assert.Equal(2, services.Keys.Count(k => k.StartsWith("messaging-", StringComparison.Ordinal)));
        // Published ports: the proxy's 443, and otherwise the host's loopback only.
        foreach (var (name, lines) in services.Where(s => s.Key != "proxy"))
        {
            foreach (var published in lines.Where(l => l.TrimStart().StartsWith("ports:", StringComparison.Ordinal)))
            {
                Assert.All(QuotedPorts().Matches(published), m => Assert.StartsWith("127.0.0.1:", m.Groups[1].Value, StringComparison.Ordinal));
            }
        }

        Assert.DoesNotContain(services["x-server"], l => l.TrimStart().StartsWith("ports:", StringComparison.Ordinal));
        Assert.DoesNotContain(port.ToString(System.Globalization.CultureInfo.InvariantCulture), nginx, StringComparison.Ordinal);
        Assert.Contains("location /metrics { deny all; }", nginx, StringComparison.Ordinal);
    }

    [Fact]
    public void EveryImageTheComposeDeploymentPulls_IsPinnedToARelease()
    {
        var lines = File.ReadAllLines(Path.Combine(Root, "ops", "compose", "compose.yaml"));
        // Images pulled from a registry; the server's own image is built from the Containerfile beside it.
        var pulled = lines.Select(l => l.Trim()).Where(l => l.StartsWith("image: docker.io/", StringComparison.Ordinal)).ToList();

        Assert.True(pulled.Count >= 5, $"expected PostgreSQL, Redis, SMTP, Prometheus and nginx images, found {pulled.Count}");
        Assert.All(pulled, image => Assert.Matches(@"^image: docker\.io/[a-z0-9./-]+:v?[0-9]+(\.[0-9]+)*(-[a-z0-9]+)?$", image));
    }

    private static (IReadOnlyList<Uri> Urls, int ManagementPort) ProductionSettings()
    {
        using var settings = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, "ops", "production", "appsettings.Production.sample.json")),
            new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        var telemetry = settings.RootElement.GetProperty("Messaging").GetProperty("Telemetry");
        Assert.True(telemetry.GetProperty("MetricsEnabled").GetBoolean());
        var urls = settings.RootElement.GetProperty("Urls").GetString()!.Split(';')
            .Select(u => new Uri(u.Replace("0.0.0.0", "host", StringComparison.Ordinal))).ToList();
        return (urls, telemetry.GetProperty("ManagementPort").GetInt32());
    }

    /// <summary>The compose file's top-level blocks and services (<c>x-server</c> among them), each with its lines: enough
    /// of YAML for a file written with two-space indentation.</summary>
    private static Dictionary<string, List<string>> ComposeServices(string[] lines)
    {
        var blocks = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        List<string>? current = null;
        var inServices = false;
        foreach (var line in lines)
        {
            if (line.Length == 0 || line.TrimStart().StartsWith('#'))
            {
                continue;
            }

            if (!char.IsWhiteSpace(line[0]))
            {
                inServices = line.StartsWith("services:", StringComparison.Ordinal);
                current = line.StartsWith("x-server:", StringComparison.Ordinal) ? blocks["x-server"] = [] : null;
                continue;
            }

            if (inServices && line.StartsWith("  ", StringComparison.Ordinal) && !char.IsWhiteSpace(line[2]))
            {
                current = blocks[line.Trim().Split(':')[0]] = [line];
                continue;
            }

            current?.Add(line);
        }

        return blocks;
    }

    private static string FindRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Messaging.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new DirectoryNotFoundException("Messaging.sln not found above the test's folder.");
    }

    [GeneratedRegex(@"--urls[ =](?<urls>\S+)")]
    private static partial Regex UrlsArgument();

    [GeneratedRegex(@"ASPNETCORE_URLS=(?<urls>\S+)")]
    private static partial Regex AspNetCoreUrls();

    [GeneratedRegex("\"([^\"]+)\"")]
    private static partial Regex QuotedPorts();
}
