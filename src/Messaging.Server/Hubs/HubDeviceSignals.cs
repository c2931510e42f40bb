using System.Collections.Concurrent;
using Messaging.Contracts;
using Messaging.Server.Features.Authentication;
using Messaging.Server.Features.Devices;
using Messaging.Server.Persistence;
using Microsoft.AspNetCore.SignalR;

namespace Messaging.Server.Hubs;

/// <summary>The per-call device check.</summary>
internal interface IDatabaseDeviceCheck
{
    Task<bool> IsActiveAsync(Guid deviceId, CancellationToken cancellationToken);

    /// <summary>Where the device stands: revoked, awaiting approval, or trusted to act for its member.</summary>
    Task<DeviceStanding> StandingAsync(Guid deviceId, CancellationToken cancellationToken);

    /// <summary>Whether this process already knows the device is revoked: no database read. For the hub methods that read
    /// the device's status inside their own unit of work (<see cref="ChecksCallerInUnitAttribute"/>).</summary>
    bool IsKnownRevoked(Guid deviceId);

    /// <summary>The device was revoked in this process: refuse it from now on, without waiting for any cached answer.</summary>
    void Revoked(Guid deviceId);
}

/// <summary>
/// Reads the device's standing from the database, and remembers a "trusted" answer for <see cref="ActiveFor"/> so that a
/// busy device does not cost a database read on every hub call. A revocation in this process takes effect at once
/// (<see cref="Revoked"/>, called before the device's connections are closed), and revocation is final, so a revoked
/// device is remembered for good. A revocation made by another process (a host command, another instance) is seen
/// within <see cref="ActiveFor"/> — at the very next call by the hub methods that read the status in their own unit of work
/// (<see cref="ChecksCallerInUnitAttribute"/>: sends and acknowledgements).
/// </summary>
internal sealed class DatabaseDeviceCheck(IDatabase database, TimeProvider time) : IDatabaseDeviceCheck
{
    public static readonly TimeSpan ActiveFor = TimeSpan.FromSeconds(1);
    private readonly ConcurrentDictionary<Guid, DateTimeOffset> _activeUntil = new();
    private readonly ConcurrentDictionary<Guid, bool> _revoked = new();

    public async Task<bool> IsActiveAsync(Guid deviceId, CancellationToken cancellationToken)
        => await StandingAsync(deviceId, cancellationToken) != DeviceStanding.Revoked;

    public async Task<DeviceStanding> StandingAsync(Guid deviceId, CancellationToken cancellationToken)
    {
        if (_revoked.ContainsKey(deviceId))
        {
            return DeviceStanding.Revoked;
        }

        if (_activeUntil.TryGetValue(deviceId, out var until) && time.GetUtcNow() < until)
        {
            return DeviceStanding.Trusted;
        }

        var checkedAt = time.GetUtcNow();
        var standing = await database.ReadAsync(s => DeviceRepository.StandingAsync(s, deviceId), cancellationToken);
        if (standing != DeviceStanding.Trusted)
        {
            // Neither answer is kept: a revocation is remembered by Revoked, and a device awaiting approval may be
            // approved at any moment (by another instance too).
            _activeUntil.TryRemove(deviceId, out _);
            return standing;
        }

        _activeUntil[deviceId] = checkedAt + ActiveFor;
        // A revocation that landed while the read ran wins over the answer just cached.
        return _revoked.ContainsKey(deviceId) ? DeviceStanding.Revoked : DeviceStanding.Trusted;
    }

    public bool IsKnownRevoked(Guid deviceId) => _revoked.ContainsKey(deviceId);

    public void Revoked(Guid deviceId)
    {
        _revoked[deviceId] = true;
        _activeUntil.TryRemove(deviceId, out _);
    }
}

/// <summary>Pushes through the hub context (group <c>device:&lt;id&gt;</c>, which a backplane fans out across
/// instances). A failed push is logged and dropped: the envelope stays pending in the database.</summary>
internal sealed partial class HubDeviceSignals(
    IHubContext<MessagingHub, IMessagingClient> hub,
    ConnectionRegistry registry,
    IDatabaseDeviceCheck deviceCheck,
    ILogger<HubDeviceSignals> logger) : IDeviceSignals
{
    public async Task DeviceRevokedAsync(Guid deviceId)
    {
        deviceCheck.Revoked(deviceId);
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
