using System.Net;
using Messaging.Server.Tests.Infrastructure;

namespace Messaging.Server.Tests.Telemetry;

/// <summary>Who may read <c>/metrics</c>: nobody unless enabled; then loopback without a proxy header, or only the
/// management port when one is configured. Everyone else gets 404, as for a path that does not exist.</summary>
public sealed class MetricsAccessTests
{
    private static readonly IPAddress Public = IPAddress.Parse("203.0.113.7");

    [Fact]
    public async Task Metrics_AreOffByDefault_EvenForLoopback()
    {
        await using var app = new MessagingApp();
        Assert.Equal(HttpStatusCode.NotFound, (await MetricsTests.GetMetricsAsync(app, IPAddress.Loopback)).Status);
    }

    [Fact]
    public async Task WhenEnabled_OnlyALoopbackClientThatNoProxySpeaksFor_MayScrape()
    {
        await using var app = new MessagingApp(new Dictionary<string, string?> { ["Messaging:Telemetry:MetricsEnabled"] = "true" });

        Assert.Equal(HttpStatusCode.OK, (await MetricsTests.GetMetricsAsync(app, IPAddress.Loopback)).Status);
        Assert.Equal(HttpStatusCode.OK, (await MetricsTests.GetMetricsAsync(app, IPAddress.IPv6Loopback)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await MetricsTests.GetMetricsAsync(app, Public)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await MetricsTests.GetMetricsAsync(app, IPAddress.Parse("10.0.0.8"))).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await MetricsTests.GetMetricsAsync(app, null)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await MetricsTests.GetMetricsAsync(app, IPAddress.Loopback, forwardedFor: "203.0.113.7")).Status);
    }

    [Fact]
    public async Task WithAManagementPort_OnlyConnectionsToThatPort_MayScrape_LoopbackElsewhereIncluded()
    {
        await using var app = new MessagingApp(new Dictionary<string, string?>
        {
            ["Messaging:Telemetry:MetricsEnabled"] = "true",
            ["Messaging:Telemetry:ManagementPort"] = "9464",
        });

        Assert.Equal(HttpStatusCode.OK, (await MetricsTests.GetMetricsAsync(app, IPAddress.Parse("10.0.0.8"), localPort: 9464)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await MetricsTests.GetMetricsAsync(app, IPAddress.Loopback, localPort: 8080)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await MetricsTests.GetMetricsAsync(app, Public, localPort: 443)).Status);
    }
}
