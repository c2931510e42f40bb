using Messaging.Client.Connection;
using Messaging.Client.KeyLog;
using Messaging.Client.Storage;
using Messaging.Contracts;
using Messaging.Crypto;
using Messaging.Crypto.Keys;
using Messaging.Crypto.Ratchet;

namespace Messaging.Client.Sessions;

/// <summary>
/// The pairwise sessions of this device: starting them from verified prekey bundles, encrypting per recipient device,
/// and decrypting what arrives under the replay rules:
/// <list type="bullet">
/// <item>a prekey message that continues a stored session is decrypted by that session only — if it cannot (a replay
/// whose keys are long gone), it is refused, never accepted as a new session;</item>
/// <item>every session start accepted is remembered by (signed prekey id, initiator's ephemeral key) for the life of
/// the signed prekey, so the same start is refused even after its session was dropped;</item>
/// <item>nothing is recorded for a message that does not authenticate.</item>
/// </list>
/// </summary>
/// <remarks>Every session is created and read with the client's clock (<see cref="MessagingClientOptions.Time"/>), so
/// skipped message keys expire by the same clock as everything else the client does.</remarks>
internal sealed class SessionBook(DeviceStore store, HubLink hub, KeyDirectory keys, TimeProvider time) : IDisposable
{
    private readonly SemaphoreSlim _establishGate = new(1, 1);

    /// <summary>A device whose bundle was unusable (for example a low-order key): skipped by this send.</summary>
    public event EventHandler<UnreachableDevice>? DeviceUnreachable;

    /// <summary>
    /// Encrypts <paramref name="frame"/> for each target, starting the sessions that are missing. The advanced ratchets
    /// are committed before the ciphertexts are returned, so a restart never reuses a message key. Targets whose prekey
    /// bundle is unusable are left out and listed in <c>Unreachable</c>.
    /// </summary>
    public async Task<(List<RecipientCiphertext> Recipients, List<UnreachableDevice> Unreachable)> EncryptForAsync(
        IReadOnlyList<DeviceAddress> targets, byte[] frame, byte[] associatedData, CancellationToken cancellationToken)
    {
        var unreachable = await EnsureSessionsAsync(targets, cancellationToken).ConfigureAwait(false);
        await store.LockAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var recipients = new List<RecipientCiphertext>(targets.Count);
            foreach (var target in targets)
            {
                if (unreachable.Exists(u => u.DeviceId == target.DeviceId))
                {
                    continue;
                }

                var sessions = store.SessionsOf(target.DeviceId);
                if (sessions.Count == 0)
                {
                    throw new SendNotCompletedException($"No session could be established with device {target.DeviceId}.");
                }

                using var session = Session.Deserialize(sessions[0].State, time);
                recipients.Add(new RecipientCiphertext(target.DeviceId, session.Encrypt(frame, associatedData)));
                sessions[0] = sessions[0] with { State = session.Serialize() };
                store.ReplaceSessions(target.DeviceId, sessions);
            }

            await store.SaveAsync(cancellationToken).ConfigureAwait(false);
            return (recipients, unreachable);
        }
        finally
        {
            store.Release();
        }
    }

    /// <summary>
    /// Starts a session with every target that has none. Establishment is serialised: concurrent sends that both found
    /// no session would otherwise each start one (each consuming a one-time prekey), and a surplus of parallel sessions
    /// pushes the one still in use out of the receiver's bounded session list.
    /// </summary>
    private async Task<List<UnreachableDevice>> EnsureSessionsAsync(IReadOnlyList<DeviceAddress> targets, CancellationToken cancellationToken)
    {
        var unreachable = new List<UnreachableDevice>();
        await _establishGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var missing = await store.UnderLockAsync(() => targets.Where(t => !store.HasSession(t.DeviceId)).ToList(), cancellationToken).ConfigureAwait(false);
            if (missing.Count == 0)
            {
                return unreachable;
            }

            await keys.SyncAsync(cancellationToken).ConfigureAwait(false);
            foreach (var member in missing.Select(m => m.MemberId).Distinct())
            {
                var bundles = await hub.InvokeAsync<PreKeyBundles>(nameof(IMessagingHub.GetPreKeyBundles), new GetPreKeyBundlesRequest(member), cancellationToken).ConfigureAwait(false);
                await store.LockAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    foreach (var bundle in bundles.Bundles.Where(b => missing.Exists(m => m.DeviceId == b.DeviceId)))
                    {
                        var identity = keys.Verify(bundle.DeviceId, member, bundle.IdentityKey, requireActive: true);
                        try
                        {
                            var signedPreKey = SignedPreKeyPublic.Create(bundle.SignedPreKey.Id, bundle.SignedPreKey.PublicKey, bundle.SignedPreKey.Signature, identity);
                            var oneTimePreKey = bundle.OneTimePreKey is { } o ? OneTimePreKeyPublic.Create(o.Id, o.PublicKey) : null;
                            using var session = Session.Initiate(store.Identity, new PreKeyBundle(identity, signedPreKey, oneTimePreKey), time);
                            store.PromoteSession(bundle.DeviceId, new StoredSession(member, session.Serialize()));
                        }
                        catch (CryptoException ex)
                        {
                            // An unusable bundle (a low-order key, a bad signature) makes that one device unreachable,
                            // not the whole send.
                            var skipped = new UnreachableDevice(bundle.DeviceId, member, ex.GetType().Name);
                            unreachable.Add(skipped);
                            DeviceUnreachable?.Invoke(this, skipped);
                        }
                    }

                    await store.SaveAsync(cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    store.Release();
                }
            }

            return unreachable;
        }
        finally
        {
            _establishGate.Release();
        }
    }

    /// <summary>
    /// Decrypts with one of the sender device's sessions (promoting the one that worked to current), or starts the
    /// session a new prekey message carries. A failed attempt changes nothing. Caller holds the store's lock, and
    /// calls <see cref="DecryptionPage.Complete"/> before saving: the sessions a page reads stay deserialised across its
    /// messages and are serialised once, at the end of the page.
    /// </summary>
    /// <exception cref="DuplicateMessageException">Already read, or a replayed session start.</exception>
    /// <exception cref="CryptoException">Does not authenticate, or malformed.</exception>
    /// <exception cref="IdentityKeyChangedException">A session start from a device whose identity changed.</exception>
    /// <exception cref="SenderMemberMismatchException">The delivery names another member than the one this device's
    /// sessions with the sending device were started with.</exception>
    /// <exception cref="MessagingClientException">No session, or a key the log does not record.</exception>
    public byte[] Decrypt(DecryptionPage page, EnvelopeDelivery delivery, PreKeyMessageInfo? info, byte[] associatedData)
    {
        var sessions = store.SessionsOf(delivery.SenderDeviceId);

        // The associated data binds the sending device, not its member: the server could otherwise relabel a message of
        // one member's device as another member's, and the session would still open it.
        if (sessions.Exists(s => s.MemberId != delivery.SenderMemberId))
        {
            throw new SenderMemberMismatchException(delivery.SenderDeviceId, delivery.SenderMemberId);
        }

        CryptoException? failure = null;
        for (var i = 0; i < sessions.Count; i++)
        {
            var stored = sessions[i];
            var session = page.Live(stored, time);
            if (info is not null && !session.Continues(info))
            {
                continue;
            }

            try
            {
                var plaintext = session.Decrypt(delivery.Ciphertext, associatedData);
                page.Advanced(stored);
                page.Touched(delivery.SenderDeviceId);
                sessions.RemoveAt(i);
                store.PromoteSession(delivery.SenderDeviceId, stored);
                return plaintext;
            }
            catch (DuplicateMessageException)
            {
                throw; // The message belongs to this session and was already read.
            }
            catch (CryptoException ex) when (info is not null)
            {
                // The session this prekey message started is still here but can no longer read it: a replay whose
                // keys are gone. Never start a second session from it.
                throw new DuplicateMessageException($"A replayed session start ({ex.GetType().Name}).");
            }
            catch (CryptoException ex)
            {
                failure = ex; // Not this session's message: try the next one.
            }
        }

        if (info is null)
        {
            throw failure is null ? new MessagingClientException("No session with the sending device.") : failure;
        }

        if (store.HasSeenPreKeyMessage(info.SignedPreKeyId, info.EphemeralKey))
        {
            throw new DuplicateMessageException("A replayed session start: this device accepted it before.");
        }

        var initiator = keys.Verify(delivery.SenderDeviceId, delivery.SenderMemberId, info.Initiator.ToBytes(), requireActive: false);
        var signedPreKey = store.Keys.SignedPreKeys.FirstOrDefault(s => s.Id == info.SignedPreKeyId)
            ?? throw new MessagingClientException("The message names a signed prekey this device no longer has.");
        byte[]? oneTimeSecret = null;
        if (info.OneTimePreKeyId is { } oneTimeId && !store.Keys.OneTimePreKeys.TryGetValue(oneTimeId, out oneTimeSecret))
        {
            throw new DuplicateMessageException("The one-time prekey the message names was already used.");
        }

        using var signed = SignedPreKeyPair.FromSecret(store.Identity, signedPreKey.Id, signedPreKey.Secret);
        using var oneTime = oneTimeSecret is null ? null : OneTimePreKeyPair.FromSecret(info.OneTimePreKeyId!.Value, oneTimeSecret);
        using var accepted = Session.AcceptPreKeyMessage(store.Identity, signed, oneTime, delivery.Ciphertext, associatedData, time, out var first);
        if (!accepted.RemoteIdentity.Equals(initiator))
        {
            throw new MessagingClientException("The session's identity does not match the key log.");
        }

        if (info.OneTimePreKeyId is { } used)
        {
            store.Keys.OneTimePreKeys.Remove(used);
            store.KeysChanged();
        }

        store.RememberPreKeyMessage(info.SignedPreKeyId, info.EphemeralKey);
        store.PromoteSession(delivery.SenderDeviceId, new StoredSession(delivery.SenderMemberId, accepted.Serialize()));
        return first;
    }

    /// <summary>Forgets the sessions with devices the server says are no longer in the conversation.</summary>
    public async Task DropAsync(IReadOnlyList<Guid> devices, CancellationToken cancellationToken)
    {
        if (devices.Count == 0)
        {
            return;
        }

        await store.LockAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            foreach (var device in devices)
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

    public void Dispose() => _establishGate.Dispose();
}

/// <summary>
/// The sessions one page of deliveries has read, kept deserialised across its messages (a catch-up page is mostly many
/// messages of a few sessions): each is deserialised once, and each one that advanced is serialised once, into the
/// store, by <see cref="Complete"/> — before the page's save. Used under the store's lock only.
/// </summary>
internal sealed class DecryptionPage(DeviceStore store) : IDisposable
{
    private readonly Dictionary<StoredSession, Session> _live = new(ReferenceEqualityComparer.Instance);
    private readonly HashSet<StoredSession> _advanced = new(ReferenceEqualityComparer.Instance);
    private readonly HashSet<Guid> _devices = [];

    public Session Live(StoredSession stored, TimeProvider time)
    {
        if (!_live.TryGetValue(stored, out var session))
        {
            session = Session.Deserialize(stored.State, time);
            _live.Add(stored, session);
        }

        return session;
    }

    /// <summary>Notes that <paramref name="stored"/>'s live session moved on: its row is rewritten at the end of the page.</summary>
    public void Advanced(StoredSession stored) => _advanced.Add(stored);

    /// <summary>Notes a device whose session list the page changed (a session promoted).</summary>
    public void Touched(Guid deviceId) => _devices.Add(deviceId);

    /// <summary>Writes each advanced session's state back into the store's lists (once per session per page).</summary>
    public void Complete()
    {
        foreach (var device in _devices)
        {
            var sessions = store.SessionsOf(device);
            for (var i = 0; i < sessions.Count; i++)
            {
                if (_advanced.Contains(sessions[i]))
                {
                    sessions[i] = sessions[i] with { State = _live[sessions[i]].Serialize() };
                }
            }

            store.ReplaceSessions(device, sessions);
        }

        _advanced.Clear();
        _devices.Clear();
    }

    public void Dispose()
    {
        foreach (var session in _live.Values)
        {
            session.Dispose();
        }

        _live.Clear();
    }
}

/// <summary>A delivery names another member than the one this device's sessions with its sending device belong to (see
/// <see cref="DeliveryFailure.SenderMemberMismatchReason"/>).</summary>
internal sealed class SenderMemberMismatchException(Guid deviceId, Guid memberId)
    : MessagingClientException($"A message from device {deviceId} is labelled as member {memberId}'s, but its session is with another member.");
