using System.Security.Cryptography;
using Messaging.Client.Connection;
using Messaging.Client.Storage;
using Messaging.Contracts;
using Messaging.Crypto.Keys;
using Messaging.Crypto.SafetyNumbers;

namespace Messaging.Client.KeyLog;

/// <summary>
/// The verified key log and identity pinning: fetches the server's append-only, hash-chained key log from the last
/// verified entry, refuses a chain that does not continue, and checks every identity the server hands out (in a
/// prekey bundle or a session start) against it and against the identity pinned on first use.
/// </summary>
internal sealed class KeyDirectory(DeviceStore store, HubLink hub)
{
    private const int PageSize = 500;

    /// <exception cref="KeyLogTamperedException">The chain does not continue from the recorded head.</exception>
    public async Task SyncAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var from = await store.UnderLockAsync(() => store.KeyLogNextIndex, cancellationToken).ConfigureAwait(false);
            var page = await hub.InvokeAsync<KeyLogPage>(nameof(IMessagingHub.GetKeyLog), new GetKeyLogRequest(from, PageSize), cancellationToken).ConfigureAwait(false);
            await store.LockAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (store.KeyLogNextIndex != from)
                {
                    continue; // Another caller verified this page meanwhile.
                }

                if (KeyLogHash.FindFirstBroken(page.Entries, from, store.KeyLogHead) is { } broken)
                {
                    throw new KeyLogTamperedException(broken);
                }

                foreach (var entry in page.Entries)
                {
                    store.RecordLoggedDevice(entry.DeviceId, new KeyLogDevice(entry.MemberId, entry.IdentityKey, entry.Action == KeyLogAction.Added));
                    store.SetKeyLogHead(entry.Index + 1, entry.Hash);
                }

                if (page.Entries.Count > 0)
                {
                    await store.SaveAsync(cancellationToken).ConfigureAwait(false);
                }
            }
            finally
            {
                store.Release();
            }

            if (!page.HasMore)
            {
                return;
            }
        }
    }

    /// <summary>Syncs the key log unless it already records every device of <paramref name="deviceIds"/>.</summary>
    public async Task SyncIfUnknownAsync(IEnumerable<Guid> deviceIds, CancellationToken cancellationToken)
    {
        var known = await store.UnderLockAsync(() => deviceIds.All(d => store.TryGetLoggedDevice(d, out _)), cancellationToken).ConfigureAwait(false);
        if (!known)
        {
            await SyncAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Checks an identity the server handed out against the verified key log and the pinned identity, and pins
    /// it on first use. Caller holds the store's lock.</summary>
    /// <exception cref="MessagingClientException">The key log does not record this key for this device.</exception>
    /// <exception cref="IdentityKeyChangedException">The device's identity differs from the pinned one.</exception>
    public IdentityPublicKey Verify(Guid deviceId, Guid memberId, byte[] identityKey)
    {
        if (!store.TryGetLoggedDevice(deviceId, out var logged) || !logged.Active || logged.MemberId != memberId
            || !CryptographicOperations.FixedTimeEquals(logged.IdentityKey, identityKey))
        {
            throw new MessagingClientException($"The server presented a key for device {deviceId} that its verified key log does not record.");
        }

        if (store.TryGetPinned(deviceId, out var pinned) && !CryptographicOperations.FixedTimeEquals(pinned, identityKey))
        {
            throw new IdentityKeyChangedException(deviceId, memberId);
        }

        store.Pin(deviceId, identityKey);
        return IdentityPublicKey.Parse(identityKey);
    }

    public async Task<IReadOnlyList<(Guid DeviceId, string SafetyNumber)>> SafetyNumbersAsync(Guid memberId, CancellationToken cancellationToken)
    {
        await SyncAsync(cancellationToken).ConfigureAwait(false);
        var self = store.Keys;
        var identity = store.Identity.PublicKey;
        return await store.UnderLockAsync<IReadOnlyList<(Guid, string)>>(() => [.. store.LoggedDevices
            .Where(d => d.Value.MemberId == memberId && d.Value.Active && d.Key != self.DeviceId)
            .Select(d => (d.Key, SafetyNumber.Compute(self.MemberId.ToString("D"), identity, memberId.ToString("D"), IdentityPublicKey.Parse(d.Value.IdentityKey)).Displayable))],
            cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<(Guid DeviceId, bool Active)>> DevicesAsync(Guid memberId, CancellationToken cancellationToken)
    {
        await SyncAsync(cancellationToken).ConfigureAwait(false);
        return await store.UnderLockAsync<IReadOnlyList<(Guid, bool)>>(() => [.. store.LoggedDevices.Where(d => d.Value.MemberId == memberId).Select(d => (d.Key, d.Value.Active))],
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Pins the identity the verified log now records for <paramref name="deviceId"/> and drops its sessions.</summary>
    public async Task TrustAsync(Guid deviceId, CancellationToken cancellationToken)
    {
        await SyncAsync(cancellationToken).ConfigureAwait(false);
        await store.LockAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!store.TryGetLoggedDevice(deviceId, out var device) || !device.Active)
            {
                throw new MessagingClientException($"Device {deviceId} is not an active device in the key log.");
            }

            store.Pin(deviceId, device.IdentityKey);
            store.RemoveSessions(deviceId);
            await store.SaveAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            store.Release();
        }
    }
}
