using Messaging.Contracts;
using Messaging.Server.Features.Devices;
using Messaging.Server.Hubs;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Messaging.Server.Features.Scaleout;

/// <summary>The hub's device signals, plus — when scaled out — the revocation told to every other instance
/// (<see cref="ScaleoutChannels"/>), which close the device's connections they hold. Pushes need nothing more: the
/// backplane fans group messages out.</summary>
internal sealed partial class ScaleoutDeviceSignals(
    HubDeviceSignals local, RedisLink link, IOptions<ScaleoutOptions> options, ILogger<ScaleoutDeviceSignals> logger) : IDeviceSignals
{
    public async Task DeviceRevokedAsync(Guid deviceId)
    {
        await local.DeviceRevokedAsync(deviceId);
        if (!options.Value.Enabled)
        {
            return;
        }

        try
        {
            var redis = await link.ConnectAsync();
            await redis.GetSubscriber().PublishAsync(ScaleoutChannels.Revoked, deviceId.ToString("D"));
        }
        catch (RedisException ex)
        {
            // The other instances refuse the device's next call within DatabaseDeviceCheck.ActiveFor, and their catch-up
            // sweep closes its connections when Redis is back.
            LogPublishFailed(logger, deviceId, ex);
        }
    }

    public Task PreKeysLowAsync(Guid deviceId, int remaining) => local.PreKeysLowAsync(deviceId, remaining);

    public Task PushEnvelopeAsync(Guid deviceId, EnvelopeDelivery envelope) => local.PushEnvelopeAsync(deviceId, envelope);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Telling the other instances that device {DeviceId} was revoked failed")]
    private static partial void LogPublishFailed(ILogger logger, Guid deviceId, Exception exception);
}
