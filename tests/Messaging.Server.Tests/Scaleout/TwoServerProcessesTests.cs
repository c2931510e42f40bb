using Messaging.Contracts;
using Messaging.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;
using Xunit.Abstractions;

namespace Messaging.Server.Tests.Scaleout;

/// <summary>One deployment of two real server processes on one PostgreSQL database and one Redis channel prefix, shared by
/// the tests of <see cref="TwoServerProcessesTests"/> (each test takes organisations and devices of its own).</summary>
public sealed class TwoServerProcesses : IAsyncLifetime
{
    public ProcessDeployment Deployment { get; private set; } = null!;

    public LimitedServerProcess A => Deployment.Instances[0];

    public LimitedServerProcess B => Deployment.Instances[1];

    public async Task InitializeAsync() => Deployment = await ProcessDeployment.StartAsync(2, TestRedis.Address);

    public async Task DisposeAsync() => await Deployment.DisposeAsync();
}

/// <summary>
/// Cross-instance behaviour between two OS processes of the built server (not two hosts in one test process): nothing
/// is shared but the database and Redis. Everything is counted by the clients, by envelope id.
/// </summary>
public sealed class TwoServerProcessesTests(TwoServerProcesses processes, ITestOutputHelper output) : IClassFixture<TwoServerProcesses>
{
    [Fact]
    public async Task EnvelopesSentThroughEachProcess_ReachTheirRecipientsOnTheOther_EachOnce()
    {
        var (deployment, a, b) = (processes.Deployment, processes.A, processes.B);
        var organisation = await deployment.CreateOrganisationAsync(a);
        await using var aToB = await Pair.StartAsync(deployment, organisation, a, b);
        await using var bToA = await Pair.StartAsync(deployment, organisation, b, a);

        await Task.WhenAll(aToB.SendAsync(40), bToA.SendAsync(40));
        var figures = await TrafficFigures.CountAsync([aToB, bToA], output, "two processes, A→B and B→A");

        Assert.Equal(80, figures.Acknowledged);
        Assert.Equal(80, figures.Delivered);
        Assert.Equal(0, figures.Lost);
        Assert.Equal(0, figures.Duplicated);
        Assert.Equal((a, b), (aToB.Sender.Instance, aToB.Recipient.Instance)); // nobody moved: it went across
    }

    [Fact]
    public async Task ARevocationThroughOneProcess_ClosesTheDeviceConnectedToTheOther_AtOnce()
    {
        var (deployment, a, b) = (processes.Deployment, processes.A, processes.B);
        var organisation = await deployment.CreateOrganisationAsync(a);
        var worker = await deployment.EnrolWorkerAsync(a, organisation);
        await using var connected = new ConnectedDevice(worker, b.Hub(worker.Token!));
        await connected.Hub.StartAsync();
        await connected.Hub.InvokeAsync<WhoAmIResult>(nameof(IMessagingHub.WhoAmI));

        using (var admin = a.Client(organisation.Admin.Token))
        {
            (await admin.PostAsync(new Uri(ApiRoutes.RevokeDeviceFor(worker.Id), UriKind.Relative), null)).EnsureSuccessStatusCode();
        }

        // Closed by process B on its own, at once: the client makes no call that could find out.
        Assert.Same(connected.Closed, await Task.WhenAny(connected.Closed, Task.Delay(TimeSpan.FromSeconds(3))));
        using var again = b.Client(worker.Token);
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized,
            (await again.PostAsync(new Uri(ApiRoutes.EnrolmentCodesFor(worker.Member.Id), UriKind.Relative), null)).StatusCode);
    }

    [Fact]
    public async Task ADeviceThatReconnectsToTheOtherProcess_GetsEverythingStillPending()
    {
        var (deployment, a, b) = (processes.Deployment, processes.A, processes.B);
        var organisation = await deployment.CreateOrganisationAsync(a);
        await using var pair = await Pair.StartAsync(deployment, organisation, a, b);
        await pair.SendAsync(10);
        await pair.Recipient.WaitForAsync(pair.Sender.Accepted);
        await pair.Recipient.DisconnectAsync();

        await pair.SendAsync(25); // pending in the database while the recipient is offline
        await pair.Recipient.MoveToAsync(a);
        var figures = await TrafficFigures.CountAsync([pair], output, "recipient offline on B, back on A");

        Assert.Equal(35, figures.Acknowledged);
        Assert.Equal(0, figures.Lost);
        Assert.Equal(0, figures.Duplicated);
        Assert.Equal(0, figures.Repeats);
        Assert.Same(a, pair.Recipient.Instance);
    }
}
