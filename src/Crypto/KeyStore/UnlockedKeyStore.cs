using Messaging.Crypto.Primitives;

namespace Messaging.Crypto.KeyStore;

/// <summary>
/// A key store opened by <see cref="EncryptedKeyStore.UnlockAsync"/> or <see cref="EncryptedKeyStore.CreateAsync"/>:
/// it owns the store's exclusive lock and the key derived once from the passphrase, both until <see cref="Dispose"/>.
/// Every save keeps the salt and cost (so the derived key stays valid), draws a fresh random 24-byte nonce, and is a
/// compare-and-swap: it writes only if the file on disk is still the one this object last read or wrote, then
/// replaces it atomically. The file format is the same as <see cref="EncryptedKeyStore.SaveAsync"/>'s, so the
/// passphrase alone still opens it. Not thread-safe: serialise reads and saves.
/// </summary>
public sealed class UnlockedKeyStore : IDisposable
{
    private readonly EncryptedKeyStore _store;
    private readonly KeyStoreLock _lock;
    private readonly byte[] _key;
    private readonly byte[] _salt;
    private readonly uint _opsLimit;
    private readonly uint _memoryKiB;
    private byte[] _expectedFile;
    private bool _disposed;

    // key: a pinned buffer this object now owns and zeroes; expectedFile: the identity of the file as read or
    // written (KeyStoreFileIdentity), which the next save must find on disk.
    internal UnlockedKeyStore(EncryptedKeyStore store, KeyStoreLock owner, byte[] key, byte[] salt, uint opsLimit, uint memoryKiB, byte[] expectedFile)
    {
        _store = store;
        _lock = owner;
        _key = key;
        _salt = salt;
        _opsLimit = opsLimit;
        _memoryKiB = memoryKiB;
        _expectedFile = expectedFile;
    }

    /// <summary>The store's file.</summary>
    public string FilePath => _store.FilePath;

    /// <summary>Reads and decrypts the current file with the derived key. The file read becomes the one the next
    /// <see cref="SaveAsync"/> expects to replace.</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The payload; dispose it to zero it.</returns>
    /// <exception cref="ObjectDisposedException">This store was disposed.</exception>
    /// <exception cref="KeyStoreNotFoundException">The file is gone.</exception>
    /// <exception cref="KeyStoreAuthenticationException">The file was modified or rewritten under another salt.</exception>
    /// <exception cref="KeyStoreCorruptedException">The file is not a key store or is truncated.</exception>
    public async Task<SecretBytes> ReadAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var file = await _store.ReadFileAsync(cancellationToken).ConfigureAwait(false);
        var payload = KeyStoreFormat.OpenWithKey(file, _key, _salt, _opsLimit, _memoryKiB);
        _expectedFile = KeyStoreFileIdentity.Of(file);
        return payload;
    }

    /// <summary>
    /// Encrypts <paramref name="payload"/> under the derived key with a fresh nonce and replaces the file atomically,
    /// provided the file on disk is still the one this object last read or wrote.
    /// </summary>
    /// <param name="payload">The payload, at most 256 MiB.</param>
    /// <param name="cancellationToken">Cancels the write; the previous file stays intact.</param>
    /// <returns>A task that completes once the file is on disk.</returns>
    /// <exception cref="ObjectDisposedException">This store was disposed.</exception>
    /// <exception cref="ArgumentException"><paramref name="payload"/> is larger than 256 MiB.</exception>
    /// <exception cref="KeyStoreConflictException">The file on disk changed (or is gone) since this object last read or
    /// wrote it; nothing was written.</exception>
    /// <exception cref="IOException">The file could not be written (the previous one is unchanged).</exception>
    /// <exception cref="UnauthorizedAccessException">The directory is not writable.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task SaveAsync(ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var onDisk = await _store.ReadFileIdentityAsync(cancellationToken).ConfigureAwait(false);
        if (onDisk is null || !onDisk.AsSpan().SequenceEqual(_expectedFile))
        {
            throw new KeyStoreConflictException(onDisk is null
                ? "The key store file is gone or truncated since this process last read or wrote it; nothing was written. Reopen the store."
                : "The key store file was replaced since this process last read or wrote it (another writer, or an older copy restored); nothing was written. Reopen the store and read the state again.");
        }

        var nonce = new byte[LibSodium.AeadNonceBytes];
        LibSodium.RandomBytes(nonce);
        var file = KeyStoreFormat.SealWithKey(payload.Span, _key, _opsLimit, _memoryKiB, _salt, nonce);
        await _store.WriteAtomicallyAsync(file, cancellationToken).ConfigureAwait(false);
        _expectedFile = KeyStoreFileIdentity.Of(file);
    }

    /// <summary>Zeroes the derived key and releases the store's lock.</summary>
    public void Dispose()
    {
        if (!_disposed)
        {
            LibSodium.Zero(_key);
            _lock.Dispose();
            _disposed = true;
        }
    }
}
