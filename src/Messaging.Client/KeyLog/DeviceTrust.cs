using System.Security.Cryptography;
using Messaging.Client.Connection;
using Messaging.Client.Storage;
using Messaging.Contracts;
using Messaging.Crypto;
using Messaging.Crypto.CrossSigning;
using Messaging.Crypto.Keys;

namespace Messaging.Client.KeyLog;

/// <summary>A device of this member waiting for approval, with the code it shows.</summary>
/// <param name="DeviceId">The pending device.</param>
/// <param name="ApprovalCode">The 20 digits the new device shows, in four groups of five; compare before approving.</param>
/// <param name="ApprovalHex">The full hash (what a QR code on the new device carries).</param>
public sealed record PendingDevice(Guid DeviceId, string ApprovalCode, string ApprovalHex);

/// <summary>
/// This device's side of cross-signing: creating the member signing key (first device, and the one-time migration of
/// devices enrolled before cross-signing), receiving it once approved, approving the member's next devices, and
/// resetting it when every device is lost.
/// </summary>
internal sealed class DeviceTrust(DeviceStore store, HubLink hub, KeyDirectory keys, TimeProvider time)
{
    /// <summary>Whether this device holds the member signing key (it is vouched for and can approve others).</summary>
    public bool IsApproved => store.Keys.MemberSigningSeed is { Length: MemberSigningKey.SeedLength };

    private ApprovalCode? _approvalCode;

    /// <summary>The code this device shows while it waits for approval (computed once: 5201 SHA-512 calls, over a
    /// member id and identity key that never change for a device).</summary>
    public ApprovalCode ApprovalCode => _approvalCode ??= ApprovalCode.Compute(store.Keys.MemberId, store.Identity.PublicKey);

    /// <summary>
    /// Makes sure this device holds the member key when it can: if the verified log names no key for the member, this
    /// device creates one and certifies itself and the member's other active devices in the log (the migration of devices
    /// enrolled before cross-signing: they become the member's first signed set); if it names one, fetches the key an
    /// approving device sealed to this device. A device nobody approved yet stays pending.
    /// </summary>
    public async Task EnsureAsync(CancellationToken cancellationToken)
    {
        if (IsApproved)
        {
            return;
        }

        await keys.SyncAsync(cancellationToken).ConfigureAwait(false);
        var (logged, others) = await store.UnderLockAsync(() => (
            store.Keys.MemberKeys.GetValueOrDefault(store.Keys.MemberId)?.Logged,
            store.LoggedDevices.Where(d => d.Value.MemberId == store.Keys.MemberId && d.Value.Active && d.Key != store.Keys.DeviceId)
                .Select(d => (d.Key, d.Value.IdentityKey)).ToList()), cancellationToken).ConfigureAwait(false);
        if (logged is null)
        {
            try
            {
                await PublishAsync(others, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (ServerRefusedException ex) when (ex.Code == ErrorCodes.MemberKeyExists)
            {
                await keys.SyncAsync(cancellationToken).ConfigureAwait(false); // Another device of the member published first.
            }
        }

        await TryOpenGrantAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Publishes a fresh member key right after enrolment, when the server said the member has none.</summary>
    public Task PublishFirstAsync(CancellationToken cancellationToken) => PublishAsync([], cancellationToken);

    /// <summary>Replaces the member key (every device of the member lost): the server revokes the member's other devices,
    /// and every contact sees a blocking warning until they confirm the new key.</summary>
    public Task ResetAsync(CancellationToken cancellationToken) => PublishAsync([], cancellationToken);

    /// <summary>The member's devices waiting for approval (active in the verified log, not vouched for under this
    /// member's key), with the code each shows.</summary>
    public async Task<IReadOnlyList<PendingDevice>> PendingAsync(CancellationToken cancellationToken)
        => [.. (await PendingCodesAsync(cancellationToken).ConfigureAwait(false)).Select(p => new PendingDevice(p.DeviceId, p.Code.Digits, p.Code.Hex))];

    /// <summary>Approves the one pending device whose code is <paramref name="code"/>, every digit of it: signs its
    /// certificate and seals the member key to it.</summary>
    /// <exception cref="MessagingClientException">The code is not 20 digits, this device is not approved itself, no
    /// pending device shows this code, or several do (never guess: one of them was made to collide).</exception>
    public async Task<Guid> ApproveAsync(string code, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(code);
        if (!ApprovalCode.IsWellFormed(code))
        {
            throw new MessagingClientException($"An approval code is {ApprovalCode.DigitCount} digits (spaces are ignored): type every digit the new device shows.");
        }

        if (!IsApproved)
        {
            throw new MessagingClientException("This device is not approved itself: approve it from another device of yours first.");
        }

        // The pending list comes from the key log, which the server writes: only the full code ties the approval to the
        // device the user holds (docs/crypto.md §11).
        var matching = (await PendingCodesAsync(cancellationToken).ConfigureAwait(false)).Where(p => p.Code.Matches(code)).ToList();
        if (matching.Count == 0)
        {
            throw new MessagingClientException("No device of yours waiting for approval shows this code.");
        }

        if (matching.Count > 1)
        {
            throw new MessagingClientException("Several devices waiting for approval show this code: none was approved. Revoke the devices you do not know.");
        }

        var device = matching[0].DeviceId;
        var identity = IdentityOf(device);
        using var memberKey = MemberSigningKey.FromSeed(store.Keys.MemberId, store.Keys.MemberSigningSeed!);
        var certificate = memberKey.Certify(device, identity, time.GetUtcNow());
        var token = await hub.GetAccessTokenAsync(cancellationToken).ConfigureAwait(false);
        await hub.Api.ApproveDeviceAsync(token, new ApproveDeviceRequest(certificate.ToBytes(), memberKey.SealTo(identity)), cancellationToken).ConfigureAwait(false);
        await keys.SyncAsync(cancellationToken).ConfigureAwait(false);
        return device;
    }

    private async Task<IReadOnlyList<(Guid DeviceId, ApprovalCode Code)>> PendingCodesAsync(CancellationToken cancellationToken)
    {
        await keys.SyncAsync(cancellationToken).ConfigureAwait(false);
        var pending = await store.UnderLockAsync<IReadOnlyList<(Guid DeviceId, byte[] IdentityKey)>>(() => [.. store.LoggedDevices
            .Where(d => d.Value.MemberId == store.Keys.MemberId && d.Value.Active && d.Key != store.Keys.DeviceId
                && keys.Check(d.Key, store.Keys.MemberId) != Vouch.Vouched && IdentityPublicKey.TryParse(d.Value.IdentityKey, out _))
            .Select(d => (d.Key, d.Value.IdentityKey))], cancellationToken).ConfigureAwait(false);

        // Each code is 5201 SHA-512 calls: computed outside the store's lock.
        return [.. pending.Select(p => (p.DeviceId, ApprovalCode.Compute(store.Keys.MemberId, IdentityPublicKey.Parse(p.IdentityKey))))];
    }

    private IdentityPublicKey IdentityOf(Guid deviceId)
        => store.TryGetLoggedDevice(deviceId, out var device) ? IdentityPublicKey.Parse(device.IdentityKey) : throw new MessagingClientException($"Device {deviceId} is not in the key log.");

    /// <summary>Checks whether an approving device sealed the member key to this device, and takes it if so.</summary>
    public async Task<bool> RefreshAsync(CancellationToken cancellationToken)
    {
        if (!IsApproved)
        {
            await keys.SyncAsync(cancellationToken).ConfigureAwait(false);
            await TryOpenGrantAsync(cancellationToken).ConfigureAwait(false);
        }

        return IsApproved;
    }

    private async Task PublishAsync(List<(Guid Device, byte[] IdentityKey)> others, CancellationToken cancellationToken)
    {
        using var memberKey = MemberSigningKey.Generate(store.Keys.MemberId);
        var now = time.GetUtcNow();
        var certificates = new List<CertifiedDevice> { new(memberKey.Certify(store.Keys.DeviceId, store.Identity.PublicKey, now).ToBytes(), null) };
        foreach (var (device, identityKey) in others)
        {
            if (IdentityPublicKey.TryParse(identityKey, out var identity))
            {
                certificates.Add(new CertifiedDevice(memberKey.Certify(device, identity!, now).ToBytes(), memberKey.SealTo(identity!)));
            }
        }

        var token = await hub.GetAccessTokenAsync(cancellationToken).ConfigureAwait(false);
        await hub.Api.PublishMemberKeyAsync(token, new PublishMemberKeyRequest(memberKey.Announce(now).ToBytes(), certificates), cancellationToken).ConfigureAwait(false);
        await StoreAsync(memberKey, cancellationToken).ConfigureAwait(false);
    }

    private async Task TryOpenGrantAsync(CancellationToken cancellationToken)
    {
        MemberKeyGrant grant;
        try
        {
            grant = await hub.Api.GetMemberKeyGrantAsync(await hub.GetAccessTokenAsync(cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        }
        catch (TargetNotFoundException)
        {
            return; // Not approved yet.
        }

        MemberSigningKey memberKey;
        try
        {
            memberKey = MemberSigningKey.OpenGrant(store.Identity, store.Keys.MemberId, grant.SealedMemberKey);
        }
        catch (CryptoException)
        {
            return; // Not sealed to this device: the server's answer is ignored, the device stays pending.
        }

        using (memberKey)
        {
            // Only the key the verified log names for this member, and only if it vouched for this very device.
            var valid = await store.UnderLockAsync(() =>
                store.Keys.MemberKeys.GetValueOrDefault(store.Keys.MemberId)?.Logged is { } logged
                && CryptographicOperations.FixedTimeEquals(logged, memberKey.PublicKey)
                && store.TryGetLoggedDevice(store.Keys.DeviceId, out var self) && self.Certificate is { } certificate
                && DeviceCertificate.TryParse(certificate, out var parsed)
                && parsed!.Vouches(store.Keys.MemberId, store.Keys.DeviceId, store.Identity.PublicKey.ToBytes(), memberKey.PublicKey), cancellationToken).ConfigureAwait(false);
            if (valid)
            {
                await StoreAsync(memberKey, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task StoreAsync(MemberSigningKey memberKey, CancellationToken cancellationToken)
    {
        await store.LockAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            store.Keys.MemberSigningSeed = memberKey.ExportSeed();
            var trust = store.Keys.MemberKeys.GetValueOrDefault(store.Keys.MemberId) ?? new MemberKeyTrust(null, null);
            store.Keys.MemberKeys[store.Keys.MemberId] = trust with { Pinned = memberKey.PublicKey, Logged = memberKey.PublicKey };
            store.KeysChanged();
            await store.SaveAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            store.Release();
        }
    }
}
