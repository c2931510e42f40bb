using System.Security.Cryptography;
using Messaging.Contracts;
using Messaging.Crypto.KeyStore;
using Messaging.Crypto.Keys;

namespace Messaging.Client.Storage;

/// <summary>
/// The one owner of a device's state: the unlocked key store (<see cref="DeviceKeys"/>, saved only when they change)
/// and the local database (per-session, per-device and per-message rows). Every read and change of the state happens
/// under <see cref="LockAsync"/>; changes are collected and written by <see cref="SaveAsync"/> in one database
/// transaction — a page of deliveries, the ratchets advanced by a send — and the key store is rewritten only when the
/// keys themselves changed. The database is opened only while the key store is unlocked by this process.
/// </summary>
internal sealed class DeviceStore : IAsyncDisposable
{
    public const int MaxSessionsPerDevice = 4;

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly UnlockedKeyStore _keyStore;
    private readonly LocalDatabase _db;
    private readonly TimeProvider _time;
    private readonly Dictionary<Guid, List<StoredSession>> _sessions;
    private readonly Dictionary<Guid, byte[]> _pinned;
    private readonly Dictionary<Guid, KeyLogDevice> _keyLog;
    private readonly HashSet<Guid> _dirtySessions = [];
    private readonly HashSet<Guid> _dirtyPinned = [];
    private readonly HashSet<Guid> _dirtyKeyLog = [];
    private readonly List<InboxMessage> _newMessages = [];
    private readonly List<(uint SignedPreKeyId, byte[] EphemeralKey)> _newPreKeyMessages = [];
    private bool _keyLogHeadDirty;
    private bool _keysDirty;

    private DeviceStore(UnlockedKeyStore keyStore, DeviceKeys keys, LocalDatabase db, TimeProvider time)
    {
        _keyStore = keyStore;
        Keys = keys;
        _db = db;
        _time = time;
        Identity = IdentityKeyPair.FromSecrets(keys.IdentitySeed, keys.IdentityAgreementSecret);
        _sessions = db.LoadSessions();
        _pinned = db.LoadPinned();
        _keyLog = db.LoadKeyLog();
        var head = db.LoadKeyLogHead();
        KeyLogNextIndex = head?.NextIndex ?? 0;
        KeyLogHead = head?.Head ?? KeyLogHash.Genesis();
    }

    /// <summary>The key-store part of the state. Change it under the lock, then call <see cref="KeysChanged"/>.</summary>
    public DeviceKeys Keys { get; }

    public IdentityKeyPair Identity { get; }

    public string KeyStorePath => _keyStore.FilePath;

    public long KeyLogNextIndex { get; private set; }

    public byte[] KeyLogHead { get; private set; }

    public IEnumerable<KeyValuePair<Guid, KeyLogDevice>> LoggedDevices => _keyLog;

    /// <summary>The database, for reads (messages) and tests. Writes go through <see cref="SaveAsync"/>.</summary>
    internal LocalDatabase Database => _db;

    /// <summary>Creates a new device's store (key store and empty database).</summary>
    public static async Task<DeviceStore> CreateAsync(EncryptedKeyStore store, DeviceKeys keys, Passphrase passphrase, TimeProvider time, CancellationToken cancellationToken)
    {
        var unlocked = await store.CreateAsync(keys.Serialize(), passphrase, cancellationToken).ConfigureAwait(false);
        return OpenDatabase(unlocked, keys, time, fresh: true);
    }

    /// <summary>Unlocks the key store (the one-owner lock is taken there), then opens the database; a format-1 store
    /// (everything in one JSON document) is migrated first.</summary>
    public static async Task<DeviceStore> OpenAsync(EncryptedKeyStore store, Passphrase passphrase, TimeProvider time, CancellationToken cancellationToken)
    {
        var unlocked = await store.UnlockAsync(passphrase, cancellationToken).ConfigureAwait(false);
        try
        {
            using var payload = await unlocked.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (DeviceKeys.ReadVersion(payload.Span) == LegacyDeviceState.CurrentVersion)
            {
                return await MigrateAsync(unlocked, LegacyDeviceState.Deserialize(payload.Span), time, cancellationToken).ConfigureAwait(false);
            }

            return OpenDatabase(unlocked, DeviceKeys.Deserialize(payload.Span), time, fresh: false);
        }
        catch
        {
            unlocked.Dispose();
            throw;
        }
    }

    private static DeviceStore OpenDatabase(UnlockedKeyStore unlocked, DeviceKeys keys, TimeProvider time, bool fresh)
    {
        var path = LocalDatabase.PathFor(unlocked.FilePath);
        if (fresh)
        {
            DeleteDatabase(path);
        }

        var sealer = new RowSealer(keys.StorageKey);
        try
        {
            return new DeviceStore(unlocked, keys, LocalDatabase.Open(path, sealer), time);
        }
        catch
        {
            sealer.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Moves a format-1 state into the database (sessions, pins, key log, inbox: one transaction), then rewrites the key
    /// store as format 2. A crash in between leaves the format-1 store, and the half-written database is discarded by
    /// the next attempt (it is sealed under a storage key that was never saved).
    /// </summary>
    private static async Task<DeviceStore> MigrateAsync(UnlockedKeyStore unlocked, LegacyDeviceState legacy, TimeProvider time, CancellationToken cancellationToken)
    {
        var keys = new DeviceKeys
        {
            Server = legacy.Server,
            DeviceId = legacy.DeviceId,
            MemberId = legacy.MemberId,
            OrganisationId = legacy.OrganisationId,
            Role = legacy.Role,
            IdentitySeed = legacy.IdentitySeed,
            IdentityAgreementSecret = legacy.IdentityAgreementSecret,
            StorageKey = RandomNumberGenerator.GetBytes(32),
            SignedPreKeys = [.. legacy.SignedPreKeys.Select(k => k with { CreatedAt = k.CreatedAt ?? time.GetUtcNow() })],
            OneTimePreKeys = legacy.OneTimePreKeys,
            NextOneTimePreKeyId = legacy.NextOneTimePreKeyId,
            AccessToken = legacy.AccessToken,
            SentReferrals = legacy.SentReferrals,
        };
        var store = OpenDatabase(unlocked, keys, time, fresh: true);
        await store.LockAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            foreach (var (device, sessions) in legacy.Sessions)
            {
                store.ReplaceSessions(device, sessions);
            }

            foreach (var (device, identity) in legacy.PinnedIdentities)
            {
                store.Pin(device, identity);
            }

            foreach (var (device, logged) in legacy.KeyLogDevices)
            {
                store.RecordLoggedDevice(device, logged);
            }

            store.SetKeyLogHead(legacy.KeyLogNextIndex, legacy.KeyLogHead);
            foreach (var message in legacy.Inbox)
            {
                store.AddMessage(message);
            }

            store.KeysChanged();
            await store.SaveAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            store.Release();
            await store.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        store.Release();
        return store;
    }

    /// <summary>Serialises every use of the state (the only lock around it).</summary>
    public Task LockAsync(CancellationToken cancellationToken) => _gate.WaitAsync(cancellationToken);

    public void Release() => _gate.Release();

    public async Task<T> UnderLockAsync<T>(Func<T> read, CancellationToken cancellationToken)
    {
        await LockAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return read();
        }
        finally
        {
            Release();
        }
    }

    // --- sessions (caller holds the lock) ---

    public List<StoredSession> SessionsOf(Guid deviceId) => _sessions.TryGetValue(deviceId, out var sessions) ? sessions : [];

    public bool HasSession(Guid deviceId) => _sessions.TryGetValue(deviceId, out var sessions) && sessions.Count > 0;

    public void ReplaceSessions(Guid deviceId, List<StoredSession> sessions)
    {
        _sessions[deviceId] = sessions;
        _dirtySessions.Add(deviceId);
    }

    public void RemoveSessions(Guid deviceId)
    {
        if (_sessions.Remove(deviceId))
        {
            _dirtySessions.Add(deviceId);
        }
    }

    /// <summary>Makes <paramref name="session"/> the device's current session, keeping a few older ones.</summary>
    public void PromoteSession(Guid deviceId, StoredSession session)
    {
        var sessions = SessionsOf(deviceId);
        sessions.Insert(0, session);
        if (sessions.Count > MaxSessionsPerDevice)
        {
            sessions.RemoveRange(MaxSessionsPerDevice, sessions.Count - MaxSessionsPerDevice);
        }

        ReplaceSessions(deviceId, sessions);
    }

    // --- identities and key log (caller holds the lock) ---

    public bool TryGetPinned(Guid deviceId, out byte[] identityKey) => _pinned.TryGetValue(deviceId, out identityKey!);

    public void Pin(Guid deviceId, byte[] identityKey)
    {
        if (!_pinned.TryGetValue(deviceId, out var current) || !current.AsSpan().SequenceEqual(identityKey))
        {
            _pinned[deviceId] = identityKey;
            _dirtyPinned.Add(deviceId);
        }
    }

    public bool TryGetLoggedDevice(Guid deviceId, out KeyLogDevice device) => _keyLog.TryGetValue(deviceId, out device!);

    public void RecordLoggedDevice(Guid deviceId, KeyLogDevice device)
    {
        _keyLog[deviceId] = device;
        _dirtyKeyLog.Add(deviceId);
    }

    public void SetKeyLogHead(long nextIndex, byte[] head)
    {
        (KeyLogNextIndex, KeyLogHead) = (nextIndex, head);
        _keyLogHeadDirty = true;
    }

    // --- messages and replay rules (caller holds the lock) ---

    /// <summary>Which of <paramref name="messages"/> are stored already, or added since the last save.</summary>
    public HashSet<(Guid SenderDeviceId, Guid EnvelopeId)> StoredMessages(IReadOnlyCollection<(Guid SenderDeviceId, Guid EnvelopeId)> messages)
    {
        var stored = _db.StoredMessages(messages);
        foreach (var message in _newMessages)
        {
            stored.Add((message.SenderDeviceId, message.EnvelopeId));
        }

        return stored;
    }

    public void AddMessage(InboxMessage message) => _newMessages.Add(message);

    public bool HasSeenPreKeyMessage(uint signedPreKeyId, byte[] ephemeralKey)
        => _newPreKeyMessages.Exists(s => s.SignedPreKeyId == signedPreKeyId && s.EphemeralKey.AsSpan().SequenceEqual(ephemeralKey))
            || _db.HasSeenPreKeyMessage(signedPreKeyId, ephemeralKey);

    /// <summary>Remembers a session start (signed prekey id, initiator's ephemeral key) for the signed prekey's life.</summary>
    public void RememberPreKeyMessage(uint signedPreKeyId, byte[] ephemeralKey) => _newPreKeyMessages.Add((signedPreKeyId, ephemeralKey));

    /// <summary>Erases a retired signed prekey's replay records together with the key (caller saves the keys).</summary>
    public void ForgetPreKeyMessages(uint signedPreKeyId) => _db.ForgetPreKeyMessages(signedPreKeyId);

    public void KeysChanged() => _keysDirty = true;

    /// <summary>
    /// Writes every change since the last save: the database rows in one transaction, then the key store if the keys
    /// changed. A session started from a one-time prekey is committed before the prekey's erasure is saved, so a crash
    /// in between leaves an unused secret, never a lost session. Caller holds the lock.
    /// </summary>
    public async Task SaveAsync(CancellationToken cancellationToken)
    {
        if (_dirtySessions.Count + _dirtyPinned.Count + _dirtyKeyLog.Count + _newMessages.Count + _newPreKeyMessages.Count > 0 || _keyLogHeadDirty)
        {
            using (var batch = _db.Begin())
            {
                foreach (var device in _dirtySessions)
                {
                    batch.PutSessions(device, SessionsOf(device));
                }

                foreach (var device in _dirtyPinned)
                {
                    batch.PutPinned(device, _pinned[device]);
                }

                foreach (var device in _dirtyKeyLog)
                {
                    batch.PutKeyLog(device, _keyLog[device]);
                }

                if (_keyLogHeadDirty)
                {
                    batch.PutKeyLogHead(KeyLogNextIndex, KeyLogHead);
                }

                var receivedAt = _time.GetUtcNow();
                foreach (var message in _newMessages)
                {
                    batch.AddMessage(message, receivedAt);
                }

                foreach (var (id, key) in _newPreKeyMessages)
                {
                    batch.RememberPreKeyMessage(id, key);
                }

                batch.Commit();
            }

            _dirtySessions.Clear();
            _dirtyPinned.Clear();
            _dirtyKeyLog.Clear();
            _newMessages.Clear();
            _newPreKeyMessages.Clear();
            _keyLogHeadDirty = false;
        }

        if (_keysDirty)
        {
            await _keyStore.SaveAsync(Keys.Serialize(), cancellationToken).ConfigureAwait(false);
            _keysDirty = false;
        }
    }

    /// <summary>Saves what changed (best effort for the token only) and closes the database and the key store.</summary>
    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            await SaveAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (IOException)
        {
            // Only a token would be lost: the next process authenticates again.
        }
        finally
        {
            _db.Dispose();
            _db.Sealer.Dispose();
            Identity.Dispose();
            _keyStore.Dispose();
            _gate.Dispose();
        }
    }

    private static void DeleteDatabase(string path)
    {
        foreach (var file in new[] { path, path + "-wal", path + "-shm", path + "-journal" })
        {
            File.Delete(file);
        }
    }
}
