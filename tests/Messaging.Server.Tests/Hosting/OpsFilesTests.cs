using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Messaging.Server.Features.Interviews;
using Messaging.Server.Features.Notices;
using Microsoft.Extensions.Configuration;

namespace Messaging.Server.Tests;

/// <summary>
/// Issue 15: the files in <c>ops/</c> stay consistent with one another — the production settings' management port (where
/// <c>/metrics</c> answers) is among the addresses every way of running the server listens on, Prometheus scrapes it on
/// both compose instances with a pinned image, and nothing but the internal network reaches it. And what a team gets by
/// using them as they are: an image whose unprivileged user owns its data folder, secrets that user can read, email that
/// leaves the host, a database role that is not a superuser, and plain-HTTP ports on loopback outside containers.
/// </summary>
public sealed partial class OpsFilesTests
{
    /// <summary>The repository's root folder (where <c>Messaging.sln</c> is).</summary>
    internal static readonly string Root = FindRoot();

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

    [Fact]
    public void TheContainerImage_GivesItsDataFolderToTheAppUser_OwnerOnly_BeforeDroppingRootAndDeclaringTheVolume()
    {
        var lines = File.ReadAllLines(Path.Combine(Root, "ops", "container", "Containerfile")).Select(l => l.Trim()).ToList();
        var runtime = lines.FindLastIndex(l => l.StartsWith("FROM ", StringComparison.Ordinal));
        var stage = lines.Skip(runtime).ToList();
        var dataDirectory = DataDirectoryVariable().Match(Assert.Single(stage, l => DataDirectoryVariable().IsMatch(l))).Groups["path"].Value;

        var created = stage.FindIndex(l => l.StartsWith("RUN install -d -o app -g app -m 0700 ", StringComparison.Ordinal)
            && l.Split(' ').Contains(dataDirectory));
        var user = stage.FindIndex(l => l == "USER app");
        var volume = stage.FindIndex(l => l == $"VOLUME [\"{dataDirectory}\"]");

        Assert.True(created > 0, $"the runtime stage creates {dataDirectory} owned by app, mode 0700");
        Assert.True(user > created, "the folder is created while the stage still runs as root, before USER app");
        Assert.True(volume > created, "the VOLUME is declared after the folder exists, so a volume mounted there copies its owner");
        Assert.Single(stage, l => l.StartsWith("USER ", StringComparison.Ordinal));
        Assert.Equal(dataDirectory, ProductionSettingsDocument().RootElement.GetProperty("Messaging").GetProperty("Storage").GetProperty("DataDirectory").GetString());
        Assert.Contains(ComposeServices(ComposeLines())["x-server"], l => l.Trim() == $"- attachments:{dataDirectory}");
    }

    [Fact]
    public void TheComposeInstances_ReadTheirSecretsAsTheImageUser_AndStopWithTheRemedyWhenTheyCannot()
    {
        var compose = ComposeLines();
        var server = ComposeServices(compose)["x-server"];
        var readme = File.ReadAllText(Path.Combine(Root, "README.md"));

        // Compose bind-mounts file secrets with their host owner and mode (uid/gid/mode are ignored outside Swarm): the
        // documented remedy gives the two secrets the instances read to the image's uid, for Docker and rootless Podman.
        Assert.Contains("sudo chown 1654:1654 messaging_db messaging_redis", readme, StringComparison.Ordinal);
        Assert.Contains("podman unshare chown 1654:1654", readme, StringComparison.Ordinal);
        Assert.Contains("chmod 0400 messaging_db messaging_redis", readme, StringComparison.Ordinal);
        Assert.DoesNotContain("(mode 0600, never committed)", readme, StringComparison.Ordinal);
        Assert.Contains("uid 1654", File.ReadAllText(Path.Combine(Root, "ops", "container", "Containerfile")), StringComparison.Ordinal);
        Assert.DoesNotContain(server, l => Regex.IsMatch(l, @"^\s+(uid|gid|mode):"));

        // An unreadable secret ends the start with a message, not a start on an empty connection string.
        var script = string.Join(' ', server.SkipWhile(l => !l.Contains("entrypoint:", StringComparison.Ordinal)).TakeWhile(l => !l.Contains("secrets:", StringComparison.Ordinal)));
        Assert.Matches(@"db=""\$\$\(cat /run/secrets/messaging_db\)"" && redis=""\$\$\(cat /run/secrets/messaging_redis\)""\s+\|\| \{", script);
        Assert.Contains("exit 78", script, StringComparison.Ordinal);
    }

    [Fact]
    public void TheProductionSettings_ListenOnLoopbackOnly_AndTheComposeInstancesOnTheirInternalNetwork()
    {
        var (urls, port) = ProductionSettings();
        var environment = ComposeServerEnvironment();

        Assert.All(urls, u => Assert.True(IPAddress.IsLoopback(IPAddress.Parse(u.Host)), $"{u} listens beyond loopback"));
        // The systemd unit uses the settings as they are.
        var unit = File.ReadAllLines(Path.Combine(Root, "ops", "systemd", "messaging.service"))
            .Where(l => l.StartsWith("ExecStart=", StringComparison.Ordinal) || l.StartsWith("Environment=", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(unit);
        Assert.DoesNotContain(unit, l => UrlsArgument().IsMatch(l) || AspNetCoreUrls().IsMatch(l) || l.Contains("Urls=", StringComparison.Ordinal));
        // Inside a container, loopback is the container's own: the compose instances override the addresses, both ports,
        // and publish none of them.
        var composeUrls = environment["Urls"].Split(';').Select(u => new Uri(u.Replace("0.0.0.0", "host", StringComparison.Ordinal))).ToList();
        Assert.Equal(urls.Select(u => u.Port).Order(), composeUrls.Select(u => u.Port).Order());
        Assert.Contains(composeUrls, u => u.Port == port);
    }

    [Fact]
    public void InterviewAndNoticeEmails_GoThroughSmtp_InEveryDeployment_FromSendersTheComposeRelayAccepts()
    {
        var sample = new ConfigurationBuilder().AddJsonFile(ProductionSettingsPath).Build();
        var services = ComposeServices(ComposeLines());
        var compose = new ConfigurationBuilder().AddJsonFile(ProductionSettingsPath)
            .AddInMemoryCollection(ComposeServerEnvironment().ToDictionary(e => e.Key.Replace("__", ":", StringComparison.Ordinal), e => (string?)e.Value))
            .Build();
        var relay = services["smtp"];
        var allowed = EnvironmentOf(relay)["ALLOWED_SENDER_DOMAINS"].Split([',', ' '], StringSplitOptions.RemoveEmptyEntries);

        foreach (var settings in new[] { sample, compose })
        {
            var interviews = Bind<InterviewsOptions>(settings, InterviewsOptions.Section);
            var notices = Bind<NoticesOptions>(settings, NoticesOptions.Section);

            Assert.NotNull(interviews.Smtp);
            Assert.NotNull(notices.Smtp);
            Assert.Null(interviews.PickupDirectory);
            Assert.Null(notices.PickupDirectory);
            foreach (var sender in new[] { interviews.SchedulingMailbox, notices.NotificationMailbox })
            {
                var domain = sender[(sender.LastIndexOf('@') + 1)..];
                Assert.DoesNotContain(".localhost", domain, StringComparison.Ordinal);
                Assert.Contains(domain, allowed);
            }
        }

        // The compose instances reach their own relay, on the port it listens on.
        var composeInterviews = Bind<InterviewsOptions>(compose, InterviewsOptions.Section).Smtp!;
        var composeNotices = Bind<NoticesOptions>(compose, NoticesOptions.Section).Smtp!;
        Assert.Equal(("smtp", 587), (composeInterviews.Host, composeInterviews.Port));
        Assert.Equal(("smtp", 587), (composeNotices.Host, composeNotices.Port));
        // What it relays carries work addresses and case references: onwards with TLS only.
        Assert.Equal("encrypt", EnvironmentOf(relay)["POSTFIX_smtp_tls_security_level"]);
    }

    [Fact]
    public void TheComposeInstances_UseADatabaseRoleThatIsNotTheSuperuser_CreatedByTheInitScript()
    {
        var services = ComposeServices(ComposeLines());
        var postgres = services["postgres"];
        var environment = EnvironmentOf(postgres);
        var role = environment["MESSAGING_DB_USER"];
        var script = File.ReadAllText(Path.Combine(Root, "ops", "compose", "postgres-init", "10-messaging-role.sh"));

        Assert.NotEqual(role, environment["POSTGRES_USER"]);
        Assert.Equal("postgres", environment["POSTGRES_USER"]);
        Assert.Contains(postgres, l => l.Trim() == "- ./postgres-init:/docker-entrypoint-initdb.d:ro");
        Assert.Contains(postgres, l => l.Contains("MESSAGING_DB_PASSWORD=\"$$(cat /run/secrets/messaging_db_password)\" && exec docker-entrypoint.sh postgres", StringComparison.Ordinal));
        Assert.Contains(postgres, l => l.Trim() == "secrets: [postgres_password, messaging_db_password]");
        Assert.Contains("LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE", script, StringComparison.Ordinal);
        Assert.Contains("ALTER DATABASE :\"database\" OWNER TO :\"role\";", script, StringComparison.Ordinal);
        // The instances' connection string (a secret, documented) logs in as that role; they wait for the real server.
        Assert.Contains($"Username={role};Password=<messaging_db_password>", File.ReadAllText(Path.Combine(Root, "README.md")), StringComparison.Ordinal);
        Assert.Contains(postgres, l => l.Contains("pg_isready -h 127.0.0.1", StringComparison.Ordinal));
    }

    private static string ProductionSettingsPath => Path.Combine(Root, "ops", "production", "appsettings.Production.sample.json");

    private static JsonDocument ProductionSettingsDocument() => JsonDocument.Parse(File.ReadAllText(ProductionSettingsPath),
        new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });

    private static string[] ComposeLines() => File.ReadAllLines(Path.Combine(Root, "ops", "compose", "compose.yaml"));

    /// <summary>The instances' environment in the compose file (the <c>x-server</c> block).</summary>
    private static Dictionary<string, string> ComposeServerEnvironment() => EnvironmentOf(ComposeServices(ComposeLines())["x-server"]);

    /// <summary>A block's <c>environment:</c> map (one <c>KEY: value</c> per line, values unquoted).</summary>
    private static Dictionary<string, string> EnvironmentOf(List<string> block)
    {
        var start = block.FindIndex(l => l.Trim() == "environment:");
        Assert.True(start >= 0, "the block has an environment map");
        var indent = block[start + 1].Length - block[start + 1].TrimStart().Length;
        return block.Skip(start + 1).TakeWhile(l => l.Length - l.TrimStart().Length >= indent)
            .Where(l => l.Length - l.TrimStart().Length == indent)
            .Select(l => l.Trim().Split(": ", 2))
            .ToDictionary(kv => kv[0], kv => kv[1].Trim('"'), StringComparer.Ordinal);
    }

    private static T Bind<T>(IConfiguration configuration, string section)
        where T : new()
    {
        var options = new T();
        configuration.GetSection(section).Bind(options);
        return options;
    }

    private static (IReadOnlyList<Uri> Urls, int ManagementPort) ProductionSettings()
    {
        using var settings = ProductionSettingsDocument();
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

    [GeneratedRegex(@"^Messaging__Storage__DataDirectory=(?<path>/\S+)$")]
    private static partial Regex DataDirectoryVariable();
}
