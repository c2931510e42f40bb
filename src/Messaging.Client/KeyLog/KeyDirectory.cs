using System.Security.Cryptography;
using Messaging.Client.Connection;
using Messaging.Client.Storage;
using Messaging.Contracts;
using Messaging.Crypto.CrossSigning;
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

    // Certificates already checked, by device (see CertificateVouches); guarded by the store's lock like the log itself.
    private readonly Dictionary<Guid, VerifiedCertificate> _verified = [];

    /// <summary>The key log now names a signing key for a member that differs from the one this device pinned (a
    /// reset): sends to that member are refused until <see cref="ConfirmMemberKeyAsync"/>.</summary>
    public event EventHandler<Guid>? MemberKeyChanged;

    /// <summary>A device of a member this device pinned was vouched for by that member (a certificate that verifies).</summary>
    public event EventHandler<MemberDevice>? DeviceVouched;

    /// <summary>Applies entries whose chain was already verified (the property tests drive the rules through it).
    /// Caller holds the store's lock.</summary>
    internal void ApplyVerified(IEnumerable<KeyLogEntry> entries)
    {
        foreach (var entry in entries)
        {
            Apply(entry, [], []);
        }
    }

    /// <summary>
    /// Applies one verified entry. A device id is added once: a second "added" entry for it (a revoked device put back,
    /// or a key swapped under the same id) changes nothing. A member-key entry that does not parse or names another
    /// member is ignored. A certificate is kept as logged and checked against the pinned member key whenever it is used.
    /// </summary>
    private void Apply(KeyLogEntry entry, List<Guid> changedMembers, List<MemberDevice> vouched)
    {
        var known = store.TryGetLoggedDevice(entry.DeviceId, out var device);
        switch (entry.Action)
        {
            case KeyLogAction.Added when !known:
                store.RecordLoggedDevice(entry.DeviceId, new KeyLogDevice(entry.MemberId, entry.IdentityKey, Active: true));
                break;
            case KeyLogAction.Revoked:
                store.RecordLoggedDevice(entry.DeviceId, known ? device with { Active = false } : new KeyLogDevice(entry.MemberId, entry.IdentityKey, Active: false));
                break;
            case KeyLogAction.MemberKey when MemberKeyAnnouncement.TryParse(entry.IdentityKey, out var announcement) && announcement!.MemberId == entry.MemberId:
                var trust = store.Keys.MemberKeys.GetValueOrDefault(entry.MemberId) ?? new MemberKeyTrust(null, null);
                var key = announcement.PublicKey.ToArray();
                store.Keys.MemberKeys[entry.MemberId] = trust.Logged is { } previous && !CryptographicOperations.FixedTimeEquals(previous, key)
                    ? trust with { Logged = key, Earlier = [.. trust.Earlier ?? [], previous] }
                    : trust with { Logged = key };
                store.KeysChanged();
                if (trust.Pinned is { } pinned && !CryptographicOperations.FixedTimeEquals(pinned, key))
                {
                    changedMembers.Add(entry.MemberId);
                }

                break;
            case KeyLogAction.DeviceCertified when known && device.MemberId == entry.MemberId:
                store.RecordLoggedDevice(entry.DeviceId, device with { Certificate = entry.IdentityKey });
                if (entry.DeviceId != store.Keys.DeviceId && store.Keys.MemberKeys.GetValueOrDefault(entry.MemberId)?.Pinned is not null
                    && Check(entry.DeviceId, entry.MemberId) == Vouch.Vouched)
                {
                    vouched.Add(new MemberDevice(entry.MemberId, entry.DeviceId));
                }

                break;
            default:
                break; // An entry this client does not use (or a malformed one): the chain still covers it.
        }
    }

    /// <summary>
    /// The member signing key this device trusts for <paramref name="memberId"/>: the pinned one, or — on first use — the
    /// first key the verified key log named for the member, pinned now (the caller saves). When the log has named a later
    /// key since (a reset made before this device first needed the member), that later key is a change to confirm like
    /// any other: <see cref="IsUnconfirmed"/> holds and sends to the member wait for the user (outside review 2026-11-29,
    /// crypto finding 5: pinning the latest key made a reset silent for every later contact). Null when the member has
    /// none. Caller holds the lock.
    /// </summary>
    public byte[]? PinnedMemberKey(Guid memberId)
    {
        var trust = store.Keys.MemberKeys.GetValueOrDefault(memberId);
        if (trust?.Pinned is { } pinned)
        {
            return pinned;
        }

        if (trust?.Logged is { } logged)
        {
            var first = trust.Earlier is [var earliest, ..] ? earliest : logged;
            store.Keys.MemberKeys[memberId] = trust with { Pinned = first };
            store.KeysChanged();
            return first;
        }

        return null;
    }

    /// <summary>
    /// The keys this device trusts for <paramref name="memberId"/>'s membership statements: the pinned key (pinned now on
    /// first use) and every key the verified key log named for the member before it (older statements are signed with
    /// the key of their time). A key the log named after the pinned one — a reset not confirmed — is not among them.
    /// Caller holds the lock.
    /// </summary>
    public IEnumerable<byte[]> TrustedMemberKeys(Guid memberId)
    {
        if (PinnedMemberKey(memberId) is not { } pinned)
        {
            return [];
        }

        var trust = store.Keys.MemberKeys[memberId];
        List<byte[]> named = [.. trust.Earlier ?? [], .. trust.Logged is { } logged ? [logged] : Array.Empty<byte[]>()];
        var at = named.FindLastIndex(k => CryptographicOperations.FixedTimeEquals(k, pinned));
        return at < 0 ? [pinned] : named[..(at + 1)];
    }

    /// <summary>Whether the log names a different key for the member than the pinned one (a reset not yet confirmed).
    /// Caller holds the lock.</summary>
    public bool IsUnconfirmed(Guid memberId)
        => store.Keys.MemberKeys.GetValueOrDefault(memberId) is { Logged: { } logged, Pinned: { } pinned } && !CryptographicOperations.FixedTimeEquals(logged, pinned);

    /// <summary>
    /// Whether <paramref name="deviceId"/> may receive what this device sends to <paramref name="memberId"/>: an active
    /// device of that member in the verified key log whose logged certificate names this member, this device and its
    /// logged identity key, and verifies under the member key this device pinned. Caller holds the lock.
    /// </summary>
    public Vouch Check(Guid deviceId, Guid memberId)
    {
        // Pinned first: on first use the first key the log named is pinned, and a later one is a change to confirm.
        var memberKey = PinnedMemberKey(memberId);
        if (IsUnconfirmed(memberId))
        {
            return Vouch.MemberKeyUnconfirmed;
        }

        return memberKey is not null && TryGetCertified(deviceId, memberId, requireActive: true, out var certificate, out var identityKey)
            && CertificateVouches(deviceId, memberId, certificate, identityKey, memberKey)
            ? Vouch.Vouched
            : Vouch.NotVouched;
    }

    /// <summary>
    /// Whether a message that names <paramref name="deviceId"/> as its sender may be taken as <paramref name="memberId"/>'s:
    /// the verified key log records the device under that member, active or revoked since (what a vouched-for device sent
    /// before its revocation is still the member's), with a certificate that verifies under the pinned member key — or,
    /// while a reset is not confirmed, under the key the log now names (the reset member's new device). A reset opens
    /// nothing more: a device without such a certificate, or another member's, is refused as before. Caller holds the lock.
    /// </summary>
    public bool VouchesForSender(Guid deviceId, Guid memberId)
    {
        if (PinnedMemberKey(memberId) is not { } first
            || !TryGetCertified(deviceId, memberId, requireActive: false, out var certificate, out var identityKey))
        {
            return false;
        }

        var second = IsUnconfirmed(memberId) ? store.Keys.MemberKeys[memberId].Logged : null;
        if (second is not null && _verified.TryGetValue(deviceId, out var known) && known.MemberKey.AsSpan().SequenceEqual(second))
        {
            // The key that answered for this device last time first: a new device's messages check one signature, not two.
            (first, second) = (second, first);
        }

        return CertificateVouches(deviceId, memberId, certificate, identityKey, first)
            || (second is not null && CertificateVouches(deviceId, memberId, certificate, identityKey, second));
    }

    /// <summary>The logged certificate and identity key of <paramref name="deviceId"/> when the log records it under
    /// <paramref name="memberId"/> with a certificate (and, if <paramref name="requireActive"/>, not revoked).</summary>
    private bool TryGetCertified(Guid deviceId, Guid memberId, bool requireActive, out byte[] certificate, out byte[] identityKey)
    {
        if (store.TryGetLoggedDevice(deviceId, out var device) && (!requireActive || device.Active) && device.MemberId == memberId
            && device.Certificate is { } logged)
        {
            (certificate, identityKey) = (logged, device.IdentityKey);
            return true;
        }

        (certificate, identityKey) = ([], []);
        return false;
    }

    /// <summary>
    /// Whether the logged certificate vouches for the device under the member key. Checked for every delivery and
    /// every send target, so the answer is kept for exactly these bytes (certificate, identity key, member key): the
    /// two signature checks run once per device and key, not once per message. Any change of those bytes checks again.
    /// Caller holds the store's lock.
    /// </summary>
    private bool CertificateVouches(Guid deviceId, Guid memberId, byte[] certificateBytes, byte[] identityKey, byte[] memberKey)
    {
        if (_verified.TryGetValue(deviceId, out var known) && known.MemberId == memberId
            && known.Certificate.AsSpan().SequenceEqual(certificateBytes) && known.IdentityKey.AsSpan().SequenceEqual(identityKey)
            && known.MemberKey.AsSpan().SequenceEqual(memberKey))
        {
            return known.Vouches;
        }

        var vouches = DeviceCertificate.TryParse(certificateBytes, out var certificate) && certificate!.Vouches(memberId, deviceId, identityKey, memberKey);
        _verified[deviceId] = new VerifiedCertificate(memberId, [.. certificateBytes], [.. identityKey], [.. memberKey], vouches);
        return vouches;
    }

    private sealed record VerifiedCertificate(Guid MemberId, byte[] Certificate, byte[] IdentityKey, byte[] MemberKey, bool Vouches);

    /// <summary>
    /// Splits a send's devices into those vouched for by their member and the others (reported, sent nothing). Syncs the
    /// key log first when <paramref name="synced"/> asks for it (a device list fresh from the server), or else when a
    /// device is not vouched for (it may have been approved since). A member whose key changed and is not confirmed
    /// blocks the whole send.
    /// </summary>
    /// <exception cref="MemberKeyChangedException">A recipient member's signing key changed and the user has not confirmed it.</exception>
    public async Task<(List<DeviceAddress> Vouched, List<UnreachableDevice> NotVouched)> PartitionAsync(IReadOnlyList<DeviceAddress> targets, bool synced, CancellationToken cancellationToken)
    {
        if (synced)
        {
            await SyncAsync(cancellationToken).ConfigureAwait(false);
        }

        for (var attempt = synced ? 1 : 0; ; attempt++)
        {
            await store.LockAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var vouched = new List<DeviceAddress>();
                var others = new List<UnreachableDevice>();
                foreach (var target in targets)
                {
                    switch (Check(target.DeviceId, target.MemberId))
                    {
                        case Vouch.Vouched:
                            vouched.Add(target);
                            break;
                        case Vouch.MemberKeyUnconfirmed when attempt > 0:
                            await store.SaveAsync(cancellationToken).ConfigureAwait(false);
                            throw new MemberKeyChangedException(target.MemberId);
                        default:
                            others.Add(new UnreachableDevice(target.DeviceId, target.MemberId, UnreachableDevice.NotVouchedReason));
                            break;
                    }
                }

                await store.SaveAsync(cancellationToken).ConfigureAwait(false);
                if (others.Count == 0 || attempt > 0)
                {
                    return (vouched, others);
                }
            }
            finally
            {
                store.Release();
            }

            await SyncAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Accepts the signing key the verified log now names for <paramref name="memberId"/> (after the user compared
    /// the new safety number) and drops the sessions with that member's devices.</summary>
    /// <exception cref="MessagingClientException">The key log names no key for this member.</exception>
    public async Task ConfirmMemberKeyAsync(Guid memberId, CancellationToken cancellationToken)
    {
        await SyncAsync(cancellationToken).ConfigureAwait(false);
        await store.LockAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var trust = store.Keys.MemberKeys.GetValueOrDefault(memberId);
            if (trust?.Logged is not { } logged)
            {
                throw new MessagingClientException($"The key log names no signing key for member {memberId}.");
            }

            store.Keys.MemberKeys[memberId] = trust with { Pinned = logged };
            store.KeysChanged();
            foreach (var device in store.LoggedDevices.Where(d => d.Value.MemberId == memberId).Select(d => d.Key).ToList())
            {
                store.RemoveSessions(device);
            }

            await store.SaveAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            store.Release();
        }
    }

    /// <summary>The safety number between this member and <paramref name="memberId"/> over the two member signing keys
    /// (the pinned ones, or the newly logged one for a reset awaiting confirmation); null when either has none yet.</summary>
    public async Task<string?> MemberSafetyNumberAsync(Guid memberId, CancellationToken cancellationToken)
    {
        await SyncAsync(cancellationToken).ConfigureAwait(false);
        return await store.UnderLockAsync(() =>
        {
            var own = PinnedMemberKey(store.Keys.MemberId);
            var trust = store.Keys.MemberKeys.GetValueOrDefault(memberId);
            var other = trust?.Logged ?? trust?.Pinned;
            return own is null || other is null
                ? null
                : SafetyNumber.ComputeForMembers(store.Keys.MemberId.ToString("D"), own, memberId.ToString("D"), other).Displayable;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <exception cref="KeyLogTamperedException">The chain does not continue from the recorded head.</exception>
    public async Task SyncAsync(CancellationToken cancellationToken)
    {
        var changedMembers = new List<Guid>();
        var vouched = new List<MemberDevice>();
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
                    Apply(entry, changedMembers, vouched);
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

            foreach (var member in changedMembers)
            {
                MemberKeyChanged?.Invoke(this, member);
            }

            foreach (var device in vouched)
            {
                DeviceVouched?.Invoke(this, device);
            }

            changedMembers.Clear();
            vouched.Clear();

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
    /// it on first use. A sender passes <paramref name="requireActive"/> true (a revoked device gets nothing); a receiver
    /// false, since a session start a device sent before its revocation is still its member's (the key is checked all
    /// the same). Caller holds the store's lock.</summary>
    /// <exception cref="MessagingClientException">The key log does not record this key for this device (or, if
    /// <paramref name="requireActive"/>, records it revoked).</exception>
    /// <exception cref="IdentityKeyChangedException">The device's identity differs from the pinned one.</exception>
    public IdentityPublicKey Verify(Guid deviceId, Guid memberId, byte[] identityKey, bool requireActive)
    {
        if (!store.TryGetLoggedDevice(deviceId, out var logged) || (requireActive && !logged.Active) || logged.MemberId != memberId
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

/// <summary>Whether a device may receive what this device sends.</summary>
internal enum Vouch
{
    /// <summary>Its member's pinned key signed it.</summary>
    Vouched,

    /// <summary>No valid chain to the member's pinned key (pending, forged, revoked, another member's, unknown).</summary>
    NotVouched,

    /// <summary>Its member's key changed and the user has not confirmed the new one.</summary>
    MemberKeyUnconfirmed,
}
