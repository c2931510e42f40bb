using Messaging.Server.Features.Devices;
using Messaging.Server.Features.Envelopes;
using Messaging.Server.Hubs;
using Messaging.Contracts;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Messaging.Server.Features.Scaleout;

/// <summary>
/// What one instance tells the others, over two Redis channels (under <see cref="ScaleoutOptions.ChannelPrefix"/>):
/// <list type="bullet">
/// <item><c>revoked</c> — a device id: every instance refuses the device from now on and closes its connections at
/// once (the SignalR backplane alone would only forward the <c>DeviceRevoked</c> message to the client, which a hostile
/// client ignores).</item>
/// <item><c>catch-up</c> — sent by an instance whose subscriptions came back after Redis was lost: every instance that
/// receives it (its subscriptions work again) pushes to each device connected to it what is still pending, since the
/// pushes made meanwhile could not pass. Clients drop what they already had by envelope id.</item>
/// </list>
/// </summary>
internal sealed partial class ScaleoutChannels(
    RedisLink link,
    ConnectionRegistry registry,
    IDatabaseDeviceCheck deviceCheck,
    EnvelopeService envelopes,
    Persistence.IDatabase database,
    IHubContext<MessagingHub, IMessagingClient> hub,
    IOptions<ScaleoutOptions> options,
    IHostApplicationLifetime lifetime,
    ILogger<ScaleoutChannels> logger) : IHostedService, IDisposable
{
    public static readonly RedisChannel Revoked = RedisChannel.Literal("revoked");
    private static readonly RedisChannel CatchUp = RedisChannel.Literal("catch-up");
    private readonly SemaphoreSlim _sweeping = new(1, 1);
    private int _catchUpRequests;
    private int _catchUpRunning;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.Enabled)
        {
            return;
        }

        var redis = await link.ConnectAsync();
        var subscriber = redis.GetSubscriber();
        // Registered even while Redis is down: the connection restores its subscriptions when Redis returns.
        try
        {
            await subscriber.SubscribeAsync(Revoked, (_, message) => RevokeInBackground(message));
            await subscriber.SubscribeAsync(CatchUp, (_, _) => RequestCatchUp());
        }
        catch (RedisException ex)
        {
            LogSubscribeFailed(logger, ex);
        }

        link.SubscriptionsRestored += AnnounceCatchUp;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        link.SubscriptionsRestored -= AnnounceCatchUp;
        return Task.CompletedTask;
    }

    public void Dispose() => _sweeping.Dispose();

    private void RevokeInBackground(RedisValue message) => _ = RevokeHereAsync(message);

    /// <summary>Redis is not trusted with the decision: a message anyone with access to Redis could publish must not
    /// lock an active device out, so the database is asked first (the revoking instance committed before publishing).</summary>
    private async Task RevokeHereAsync(RedisValue message)
    {
        if (!Guid.TryParseExact(message.ToString(), "D", out var deviceId))
        {
            return;
        }

        try
        {
            if (await database.ReadAsync(s => DeviceRepository.IsActiveAsync(s, deviceId), lifetime.ApplicationStopping))
            {
                LogRevocationIgnored(logger, deviceId);
                return;
            }
        }
        catch (Exception ex) when (ex is System.Data.Common.DbException or InvalidOperationException or OperationCanceledException)
        {
            // Unknown: the per-call check refuses the device within DatabaseDeviceCheck.ActiveFor once the database answers.
            return;
        }

        deviceCheck.Revoked(deviceId);
        var closed = registry.AbortAll(deviceId);
        if (closed > 0)
        {
            LogRevokedHere(logger, deviceId, closed);
        }
    }

    /// <summary>
    /// This instance's subscriptions are back: it sweeps its own devices itself (it does not count on hearing its own
    /// announcement: the publish can fail while the command connection still reconnects), and tells the others, again
    /// until the publish passes — an instance whose subscriptions came back first hears only a later one.
    /// </summary>
    private void AnnounceCatchUp()
    {
        RequestCatchUp();
        _ = Task.Run(async () =>
        {
            var cancellationToken = lifetime.ApplicationStopping;
            var published = 0;
            for (var attempt = 0; attempt < AnnounceAttempts && published < 2 && !cancellationToken.IsCancellationRequested; attempt++)
            {
                try
                {
                    if (attempt > 0)
                    {
                        await Task.Delay(AnnounceRetry, cancellationToken);
                    }

                    var redis = await link.ConnectAsync();
                    await redis.GetSubscriber().PublishAsync(CatchUp, RedisValue.EmptyString);
                    published++;
                }
                catch (RedisException ex)
                {
                    LogPublishFailed(logger, ex);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        });
    }

    /// <summary>An announcement is published twice (a second later), each retried every second for at most a minute.</summary>
    private const int AnnounceAttempts = 60;

    private static readonly TimeSpan AnnounceRetry = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Sweeps at once, then again as the SignalR backplane's and the other instances' subscriptions come back: each is
    /// restored on its own schedule, and a live push sent through Redis before that is lost — each later sweep pushes
    /// whatever is still pending (clients drop repeats by envelope id). Requests that arrive meanwhile (this instance's
    /// own, every other instance's announcements) restart the one running sequence instead of starting their own, so a
    /// deployment of many instances does not multiply the sweeps. Only after a loss of Redis: nothing in normal operation.
    /// </summary>
    private void RequestCatchUp()
    {
        Interlocked.Increment(ref _catchUpRequests);
        if (Interlocked.CompareExchange(ref _catchUpRunning, 1, 0) == 0)
        {
            _ = CatchUpLoopAsync();
        }
    }

    private async Task CatchUpLoopAsync()
    {
        var gaps = SweepGaps();
        var seen = -1;
        var step = 0;
        while (true)
        {
            var requests = Volatile.Read(ref _catchUpRequests);
            if (requests != seen)
            {
                (seen, step) = (requests, 0);
            }

            if (step == gaps.Length)
            {
                Volatile.Write(ref _catchUpRunning, 0);
                if (Volatile.Read(ref _catchUpRequests) == seen || Interlocked.CompareExchange(ref _catchUpRunning, 1, 0) != 0)
                {
                    return;
                }

                continue;
            }

            try
            {
                await Task.Delay(gaps[step], lifetime.ApplicationStopping);
            }
            catch (OperationCanceledException)
            {
                Volatile.Write(ref _catchUpRunning, 0);
                return;
            }

            if (Volatile.Read(ref _catchUpRequests) != seen)
            {
                continue; // a newer request: start its sequence with a sweep at once
            }

            await SweepAsync();
            step++;
        }
    }

    /// <summary>The waits before each sweep of a sequence: at once, after <see cref="ScaleoutOptions.CatchUpDelay"/> (two
    /// seconds at least), then five and ten seconds after the first.</summary>
    private TimeSpan[] SweepGaps()
    {
        var second = options.Value.CatchUpDelay > TimeSpan.FromSeconds(2) ? options.Value.CatchUpDelay : TimeSpan.FromSeconds(2);
        return [TimeSpan.Zero, second, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(5)];
    }

    /// <summary>Pushes what is pending to every device connected here; closes those revoked meanwhile.</summary>
    private async Task SweepAsync()
    {
        var cancellationToken = lifetime.ApplicationStopping;
        try
        {
            await _sweeping.WaitAsync(cancellationToken);
            try
            {
                var swept = 0;
                foreach (var (deviceId, connectionIds) in registry.Snapshot())
                {
                    if (!await deviceCheck.IsActiveAsync(deviceId, cancellationToken))
                    {
                        registry.AbortAll(deviceId);
                        continue;
                    }

                    foreach (var connectionId in connectionIds)
                    {
                        await envelopes.PushPendingAsync(deviceId, e => hub.Clients.Client(connectionId).ReceiveEnvelope(e), cancellationToken);
                        swept++;
                    }
                }

                LogSwept(logger, swept);
            }
            finally
            {
                _sweeping.Release();
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException && cancellationToken.IsCancellationRequested)
        {
            // Shutting down.
        }
        catch (Exception ex)
        {
            LogSweepFailed(logger, ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Subscribing to the scale-out channels failed; they are restored when Redis is back")]
    private static partial void LogSubscribeFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Announcing the catch-up to the other instances failed")]
    private static partial void LogPublishFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Device {DeviceId} revoked on another instance: {Connections} live connections closed here")]
    private static partial void LogRevokedHere(ILogger logger, Guid deviceId, int connections);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A revocation of device {DeviceId} came through Redis but the database has it active: ignored")]
    private static partial void LogRevocationIgnored(ILogger logger, Guid deviceId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Redis is back: pending envelopes pushed again to {Connections} connections")]
    private static partial void LogSwept(ILogger logger, int connections);

    [LoggerMessage(Level = LogLevel.Error, Message = "The catch-up sweep failed; clients still fetch what is pending when they reconnect")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
