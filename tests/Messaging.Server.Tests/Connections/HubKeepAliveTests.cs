using Messaging.Contracts;
using Messaging.Server.Features.Connections;
using Messaging.Server.Hubs;
using Messaging.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Tests;

/// <summary>
/// Issue 15 (what an idle connection costs): the server's side of the keep-alive agreement with the SDK
/// (<see cref="HubKeepAlive"/>). It waits for an idle device as long as the agreement says (not SignalR's 30 s, which
/// would drop an SDK that pings every 30 s), pings every 15 s unless configured (what SDKs before 2026-11-28 need), and
/// refuses to start with an interval the SDK's timeout does not cover.
/// </summary>
public sealed class HubKeepAliveTests
{
    [Fact]
    public async Task TheHub_WaitsForAnIdleDeviceAsTheAgreementSays_AndPingsEvery15SecondsByDefault()
    {
        await using var app = new MessagingApp();
        var hub = app.Services.GetRequiredService<IOptions<HubOptions<MessagingHub>>>().Value;

        Assert.Equal(TimeSpan.FromSeconds(60), hub.ClientTimeoutInterval);
        Assert.Equal(HubKeepAlive.ClientTimeout, hub.ClientTimeoutInterval);
        Assert.True(hub.ClientTimeoutInterval >= 2 * HubKeepAlive.ClientInterval);
        Assert.Equal(TimeSpan.FromSeconds(15), hub.KeepAliveInterval);
    }

    [Fact]
    public async Task TheHubsPingInterval_ComesFromConfiguration()
    {
        await using var app = new MessagingApp(new Dictionary<string, string?> { ["Messaging:Connections:HubKeepAliveInterval"] = "00:00:30" });
        var hub = app.Services.GetRequiredService<IOptions<HubOptions<MessagingHub>>>().Value;

        Assert.Equal(TimeSpan.FromSeconds(30), hub.KeepAliveInterval);
        Assert.True(hub.KeepAliveInterval * 2 <= HubKeepAlive.ServerTimeout);
    }

    [Theory]
    [InlineData("00:00:30", true)]
    [InlineData("00:00:31", false)]
    [InlineData("00:00:00", false)]
    public void APingIntervalLongerThanHalfTheSdksTimeout_IsRefused(string interval, bool accepted)
    {
        Assert.Equal(TimeSpan.FromSeconds(30), HubKeepAlive.MaxServerInterval);
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Messaging:Connections:HubKeepAliveInterval"] = interval }).Build());
        services.AddOptions<ConnectionLimitsOptions>().BindConfiguration(ConnectionLimitsOptions.Section).ValidateDataAnnotations();
        using var provider = services.BuildServiceProvider();
        var read = () => provider.GetRequiredService<IOptions<ConnectionLimitsOptions>>().Value;

        if (accepted)
        {
            Assert.Equal(TimeSpan.Parse(interval, System.Globalization.CultureInfo.InvariantCulture), read().HubKeepAliveInterval);
        }
        else
        {
            Assert.Contains(nameof(ConnectionLimitsOptions.HubKeepAliveInterval), Assert.Throws<OptionsValidationException>(read).Message, StringComparison.Ordinal);
        }
    }
}
