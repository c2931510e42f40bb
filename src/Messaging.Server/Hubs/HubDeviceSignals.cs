using Messaging.Contracts;
using Messaging.Server.Features.Devices;
using Messaging.Server.Persistence;
using Microsoft.AspNetCore.SignalR;

namespace Messaging.Server.Hubs;

/// <summary>The per-call device check, kept behind an interface so a cache can be added without touching the hub.</summary>
internal interface IDatabaseDeviceCheck
{
    Task<bool> IsActiveAsync(Guid deviceId, CancellationToken cancellationToken);
}

internal sealed class DatabaseDeviceCheck(IDatabase database) : IDatabaseDeviceCheck
{
    public Task<bool> IsActiveAsync(Guid deviceId, CancellationToken cancellationToken)
        => database.ReadAsync(s => DeviceRepository.IsActiveAsync(s, deviceId), cancellationToken);
}

/// <summary>Pushes through the hub context (group <c>device:&lt;id&gt;</c>, which a backplane fans out across
/// instances). A failed push is logged and dropped: the envelope stays pending in the database.</summary>
internal sealed partial class HubDeviceSignals(
    IHubContext<MessagingHub, IMessagingClient> hub,
    ConnectionRegistry registry,
    ILogger<HubDeviceSignals> logger) : IDeviceSignals
{
    public async Task DeviceRevokedAsync(Guid deviceId)
    {
        try
        {
            await hub.Clients.Group(MessagingHub.DeviceGroup(deviceId)).DeviceRevoked();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogPushFailed(logger, deviceId, ex);
        }

        var closed = registry.AbortAll(deviceId);
        LogDisconnected(logger, deviceId, closed);
    }

    public async Task PreKeysLowAsync(Guid deviceId, int remaining)
    {
        try
        {
            await hub.Clients.Group(MessagingHub.DeviceGroup(deviceId)).PreKeysLow(remaining);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogPushFailed(logger, deviceId, ex);
        }
    }

    public async Task PushEnvelopeAsync(Guid deviceId, EnvelopeDelivery envelope)
    {
        try
        {
            await hub.Clients.Group(MessagingHub.DeviceGroup(deviceId)).ReceiveEnvelope(envelope);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogPushFailed(logger, deviceId, ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Push to device {DeviceId} failed; it stays pending in the database")]
    private static partial void LogPushFailed(ILogger logger, Guid deviceId, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Device {DeviceId} revoked: {Connections} live connections closed")]
    private static partial void LogDisconnected(ILogger logger, Guid deviceId, int connections);
}
