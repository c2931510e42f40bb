using Messaging.Contracts;

namespace Messaging.Server.Features.Devices;

/// <summary>Real-time signals to a device's live connections; implemented by the hub layer. Best effort: the database
/// stays the source of truth.</summary>
internal interface IDeviceSignals
{
    /// <summary>Tells the device it was revoked, then closes all its connections at once.</summary>
    Task DeviceRevokedAsync(Guid deviceId);

    /// <summary>Tells the device to replenish its one-time prekeys.</summary>
    Task PreKeysLowAsync(Guid deviceId, int remaining);

    /// <summary>Pushes one envelope to the device's connections.</summary>
    Task PushEnvelopeAsync(Guid deviceId, EnvelopeDelivery envelope);
}
