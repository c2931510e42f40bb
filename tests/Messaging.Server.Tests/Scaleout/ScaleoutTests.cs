using System.Diagnostics;
using System.Net;
using Messaging.Contracts;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Messaging.Server.Tests.Scaleout;

/// <summary>
/// Two server instances on one PostgreSQL database and one Redis (the backplane), as a scaled-out deployment runs. The
/// instances are two in-process hosts, each with its own container, connection registry, device cache and Redis
/// connection; they share only the database and Redis. Everything is counted from the client side.
/// </summary>
public sealed class ScaleoutTests
{
    private static readonly TimeSpan AtOnce = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task AnEnvelopeSentThroughOneInstance_ReachesItsRecipientConnectedToTheOther()
    {
        await using var instances = await TwoInstances.StartAsync(TestRedis.Address);
        var (a, b) = (instances.A, instances.B);
        var (_, sender, recipient, conversation) = await PairAsync(a, b);

        var sent = await MessagingApp.SendAsync(sender, conversation);
        var back = await MessagingApp.SendAsync(recipient, conversation);

        Assert.Equal(SendOutcome.Accepted, sent.Outcome);
        Assert.Equal(sent.Sequence, (await recipient.ReceiveAsync(1))[0].Sequence);
        Assert.Equal(back.Sequence, (await sender.ReceiveAsync(1))[0].Sequence);
    }

    [Fact]
    public async Task ARevocationOnOneInstance_ClosesTheDeviceConnectedToTheOther_AtOnce()
    {
        await using var instances = await TwoInstances.StartAsync(TestRedis.Address);
        var (a, b) = (instances.A, instances.B);
        var (organisation, _, recipient, _) = await PairAsync(a, b);
        var admin = await a.ClientAsync(organisation.Admin);

        (await admin.PostAsync(ApiRoutes.RevokeDeviceFor(recipient.Device.Id), null)).EnsureSuccessStatusCode();

        // Closed by instance B itself, not by the client's goodwill and not at the next call: no call is made.
        var closed = await Task.WhenAny(recipient.Closed, Task.Delay(AtOnce));
        Assert.Same(recipient.Closed, closed);
    }

    [Fact]
    public async Task ARevocationForgedOnRedis_DoesNotLockOutAnActiveDevice()
    {
        await using var instances = await TwoInstances.StartAsync(TestRedis.Address);
        var (_, sender, recipient, conversation) = await PairAsync(instances.A, instances.B);

        // Anyone with access to Redis can publish on the channel; the instances ask the database before acting.
        await using (var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(TestRedis.Address))
        {
            await redis.GetSubscriber().PublishAsync(
                StackExchange.Redis.RedisChannel.Literal(instances.Prefix + ":revoked"), recipient.Device.Id.ToString("D"));
        }

        await Task.Delay(500);
        var sent = await MessagingApp.SendAsync(sender, conversation);

        Assert.Equal(sent.Sequence, (await recipient.ReceiveAsync(1))[0].Sequence);
        Assert.False(recipient.Closed.IsCompleted);
        Assert.Equal(recipient.Device.Id, (await recipient.Hub.InvokeAsync<WhoAmIResult>(nameof(IMessagingHub.WhoAmI))).DeviceId);
    }

    [Fact]
    public async Task ADeviceThatReconnectsToTheOtherInstance_GetsEverythingStillPending()
    {
        await using var instances = await TwoInstances.StartAsync(TestRedis.Address);
        var (a, b) = (instances.A, instances.B);
        var (_, sender, recipient, conversation) = await PairAsync(a, b);
        var first = await MessagingApp.SendAsync(sender, conversation);
        var acknowledged = (await recipient.ReceiveAsync(1))[0].Sequence;
        await recipient.AcknowledgeAsync(acknowledged);
        await recipient.DisposeAsync();

        var pending = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            pending.Add((await MessagingApp.SendAsync(sender, conversation)).Sequence);
        }

        await using var moved = await a.ConnectAsync(recipient.Device);
        var received = await moved.ReceiveAsync(5);

        Assert.Equal(first.Sequence, acknowledged);
        Assert.Equal(pending, received.Select(e => e.Sequence));
        Assert.True(await moved.NothingMoreAsync());
    }

    [Fact]
    public async Task RedisKilledAndRestartedDuringTraffic_LosesNoAcknowledgedEnvelope_AndDeliveryResumes()
    {
        using var redis = new PrivateRedis();
        await using var instances = await TwoInstances.StartAsync(redis.Address);
        var (a, b) = (instances.A, instances.B);
        var (_, sender, recipient, conversation) = await PairAsync(a, b);
        using var probe = a.CreateClient();
        var acknowledged = new HashSet<Guid>();

        async Task SendSomeAsync(int count)
        {
            for (var i = 0; i < count; i++)
            {
                var request = await MessagingApp.BuildSendAsync(sender, conversation);
                if ((await sender.SendAsync(request)).Outcome == SendOutcome.Accepted)
                {
                    acknowledged.Add(request.EnvelopeId);
                }
            }
        }

        await SendSomeAsync(20);
        redis.Kill();
        await WaitForAsync(async () => (await probe.GetAsync(new Uri("/health/ready", UriKind.Relative))).StatusCode == HttpStatusCode.ServiceUnavailable,
            "readiness turns unready while Redis is down");
        await SendSomeAsync(20); // accepted: the database holds them; their pushes cannot pass
        redis.Start();
        await WaitForAsync(async () => (await probe.GetAsync(new Uri("/health/ready", UriKind.Relative))).StatusCode == HttpStatusCode.OK,
            "readiness comes back with Redis");
        await SendSomeAsync(20);

        // The recipient (on the other instance, never reconnected) drops repeats by id, as clients do, and acknowledges.
        var delivered = new HashSet<Guid>();
        var clock = Stopwatch.StartNew();
        while (!delivered.IsSupersetOf(acknowledged) && clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            EnvelopeDelivery next;
            try
            {
                next = (await recipient.ReceiveAsync(1))[0];
            }
            catch (OperationCanceledException)
            {
                break; // nothing more comes: the assertions below count what is missing
            }

            delivered.Add(next.EnvelopeId);
            await recipient.AcknowledgeAsync(next.Sequence);
        }

        Assert.Equal(60, acknowledged.Count);
        Assert.Empty(acknowledged.Except(delivered));
        Assert.Empty(delivered.Except(acknowledged));
    }

    /// <summary>A sender connected to <paramref name="a"/> and a recipient to <paramref name="b"/>, in one conversation.</summary>
    private static async Task<(TestOrganisation Organisation, ConnectedDevice Sender, ConnectedDevice Recipient, Guid Conversation)> PairAsync(MessagingApp a, MessagingApp b)
    {
        var organisation = await a.CreateOrganisationAsync();
        var alice = await a.EnrolDeviceAsync(await a.CreateMemberAsync(organisation));
        var bob = await a.EnrolDeviceAsync(await a.CreateMemberAsync(organisation));
        var sender = await a.ConnectAsync(alice);
        var recipient = await b.ConnectAsync(bob);
        var conversation = await MessagingApp.CreateConversationAsync(sender, false, bob.Member);
        return (organisation, sender, recipient, conversation.ConversationId);
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (await condition())
            {
                return;
            }

            await Task.Delay(100);
        }

        Assert.Fail(what + " (not within 30 s)");
    }

    /// <summary>Two instances of one deployment (same database, same Redis channel prefix).</summary>
    private sealed class TwoInstances(MessagingApp a, MessagingApp b, string prefix) : IAsyncDisposable
    {
        public string Prefix => prefix;

        public MessagingApp A => a;

        public MessagingApp B => b;

        public static async Task<TwoInstances> StartAsync(string redis)
        {
            var prefix = TestRedis.NewPrefix();
            var settings = TestRedis.Settings(redis, prefix);
            var a = new MessagingApp(StorageProvider.Postgres, settings);
            await a.OperatorAsync(); // shared by both instances: created once, in the one database
            var b = a.SiblingInstance(settings);
            _ = b.Server;
            return new TwoInstances(a, b, prefix);
        }

        public async ValueTask DisposeAsync()
        {
            await b.DisposeAsync();
            await a.DisposeAsync(); // drops the database
        }
    }
}

public sealed class StoppingHealthCheckTests
{
    [Fact]
    public async Task AnInstanceThatStartsStopping_ReportsItselfUnready()
    {
        using var stopping = new CancellationTokenSource();
        var check = new Messaging.Server.Features.Scaleout.StoppingHealthCheck(new Lifetime(stopping.Token), new Messaging.Server.Features.Shutdown.DrainGate());
        var before = await check.CheckHealthAsync(new Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckContext());

        await stopping.CancelAsync();
        var after = await check.CheckHealthAsync(new Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckContext());

        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy, before.Status);
        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Unhealthy, after.Status);
    }

    [Fact]
    public async Task AnInstanceThatStartsDraining_ReportsItselfUnready_BeforeTheHostStops()
    {
        var drain = new Messaging.Server.Features.Shutdown.DrainGate();
        var check = new Messaging.Server.Features.Scaleout.StoppingHealthCheck(new Lifetime(CancellationToken.None), drain);
        var before = await check.CheckHealthAsync(new Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckContext());

        await drain.BeginAsync();
        var after = await check.CheckHealthAsync(new Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckContext());

        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy, before.Status);
        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Unhealthy, after.Status);
    }

    private sealed class Lifetime(CancellationToken stopping) : Microsoft.Extensions.Hosting.IHostApplicationLifetime
    {
        public CancellationToken ApplicationStarted => CancellationToken.None;

        public CancellationToken ApplicationStopping => stopping;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication()
        {
        }
    }
}
