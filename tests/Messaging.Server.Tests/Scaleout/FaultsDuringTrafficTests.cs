using System.Diagnostics;
using Messaging.Contracts;
using Xunit.Abstractions;

namespace Messaging.Server.Tests.Scaleout;

/// <summary>
/// PostgreSQL stopped and started again under two server processes during traffic. It runs on a PostgreSQL cluster of
/// its own (<see cref="PrivatePostgres"/>), so that the other tests, running meanwhile on the script's cluster, see
/// nothing of it. Counted by the clients: sends refused while the database is down are retried with the same envelope
/// id; nothing the server acknowledged may be lost or delivered twice.
/// </summary>
public sealed class PostgresRestartDuringTrafficTests(ITestOutputHelper output)
{
    [Fact]
    public async Task PostgresRestartedDuringTraffic_LosesNothingAcknowledged_AndDeliversNothingTwice()
    {
        using var postgres = new PrivatePostgres();
        await using var deployment = await ProcessDeployment.StartAsync(2, TestRedis.Address, postgres.AdminConnectionString);
        var (a, b) = (deployment.Instances[0], deployment.Instances[1]);
        var organisation = await deployment.CreateOrganisationAsync(a);
        await using var aToB = await Pair.StartAsync(deployment, organisation, a, b);
        await using var bToA = await Pair.StartAsync(deployment, organisation, b, a);

        var traffic = Task.WhenAll(aToB.SendAsync(60, TimeSpan.FromMilliseconds(25)), bToA.SendAsync(60, TimeSpan.FromMilliseconds(25)));
        await Faults.WhenAsync(() => aToB.Sender.Accepted.Count >= 10 && bToA.Sender.Accepted.Count >= 10, traffic);
        postgres.Stop();
        await Task.Delay(TimeSpan.FromSeconds(2));
        postgres.Start();
        await traffic;
        var figures = await TrafficFigures.CountAsync([aToB, bToA], output, "PostgreSQL stopped 2 s and started during traffic", deployment);

        Assert.Equal(120, figures.Acknowledged);
        Assert.Equal(0, figures.Lost);
        Assert.Equal(0, figures.Duplicated);
        Assert.True(figures.Refused > 0, "no send met the outage: the fault did not happen during traffic");
        // Refused with a typed, retryable error (or, at worst, a connection that broke), never a generic failure.
        Assert.All(aToB.Sender.Refusals.Concat(bToA.Sender.Refusals), r => Assert.Contains(r.Key, new[] { ErrorCodes.ServerBusy, "connection broken" }));
        Assert.False(a.HasExited || b.HasExited, "an instance died with the database");
    }
}

/// <summary>
/// One of two server processes killed (SIGKILL) during traffic: the clients connected to it reconnect to the survivor
/// and get everything pending; the survivor keeps serving. Counted by the clients.
/// </summary>
public sealed class InstanceKilledDuringTrafficTests(ITestOutputHelper output)
{
    [Fact]
    public async Task AnInstanceKilledDuringTraffic_ItsClientsGetEverythingFromTheSurvivor_WhichKeepsServing()
    {
        await using var deployment = await ProcessDeployment.StartAsync(2, TestRedis.Address);
        var (a, b) = (deployment.Instances[0], deployment.Instances[1]);
        var organisation = await deployment.CreateOrganisationAsync(a);
        await using var aToB = await Pair.StartAsync(deployment, organisation, a, b);
        await using var bToA = await Pair.StartAsync(deployment, organisation, b, a);
        await using var bToB = await Pair.StartAsync(deployment, organisation, b, b);
        Pair[] pairs = [aToB, bToA, bToB];

        var traffic = Task.WhenAll(pairs.Select(p => p.SendAsync(60, TimeSpan.FromMilliseconds(25))));
        await Faults.WhenAsync(() => pairs.All(p => p.Sender.Accepted.Count >= 15), traffic);
        await b.KillAsync();
        var acceptedAtKill = pairs.Sum(p => p.Sender.Accepted.Count);
        await traffic;
        var figures = await TrafficFigures.CountAsync(pairs, output, "instance B killed (SIGKILL) during traffic", deployment);

        Assert.Equal(180, figures.Acknowledged);
        Assert.Equal(0, figures.Lost);
        Assert.Equal(0, figures.Duplicated);
        Assert.True(figures.Acknowledged - acceptedAtKill > 0, "nothing was sent after the kill");
        Assert.False(a.HasExited);
        Assert.All(pairs.SelectMany(p => new[] { p.Sender, p.Recipient }), d => Assert.Same(a, d.Instance));
        Assert.True(pairs.Sum(p => p.Sender.Reconnections + p.Recipient.Reconnections) >= 4, "the clients of B did not reconnect");
    }
}

internal static class Faults
{
    /// <summary>Waits for <paramref name="condition"/> (traffic under way) before a fault is injected; fails if the traffic
    /// ends or fails first.</summary>
    public static async Task WhenAsync(Func<bool> condition, Task traffic)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.False(traffic.IsCompleted, "the traffic ended before the fault");
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "the traffic did not start");
            await Task.Delay(20);
        }
    }
}
