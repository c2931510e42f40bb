using Messaging.Crypto.Primitives;

namespace Messaging.Crypto.KeyStore;

/// <summary>
/// A key store whose key was derived once from the passphrase (<see cref="EncryptedKeyStore.UnlockAsync"/>).
/// Every save keeps the salt and cost, draws a fresh random 24-byte nonce, and writes atomically; the file
/// format is the same as <see cref="EncryptedKeyStore.SaveAsync"/>'s, so the passphrase alone still opens it.
/// Not thread-safe: serialise saves. Dispose to zero the key.
/// </summary>
public sealed class UnlockedKeyStore : IDisposable
{
    private readonly EncryptedKeyStore _store;
    private readonly byte[] _key;
    private readonly byte[] _salt;
    private readonly uint _opsLimit;
    private readonly uint _memoryKiB;
    private bool _disposed;

    internal UnlockedKeyStore(EncryptedKeyStore store, byte[] key, byte[] salt, uint opsLimit, uint memoryKiB)
    {
        _store = store;
        _key = key;
        _salt = salt;
        _opsLimit = opsLimit;
        _memoryKiB = memoryKiB;
    }

    /// <summary>The store's file.</summary>
    public string FilePath => _store.FilePath;

    /// <summary>Reads and decrypts the current file with the derived key.</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The payload; dispose it to zero it.</returns>
    /// <exception cref="KeyStoreNotFoundException">The file is gone.</exception>
    /// <exception cref="KeyStoreAuthenticationException">The file was modified or rewritten under another salt.</exception>
    /// <exception cref="KeyStoreCorruptedException">The file is not a key store or is truncated.</exception>
    public async Task<SecretBytes> ReadAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var file = await _store.ReadFileAsync(cancellationToken).ConfigureAwait(false);
        return KeyStoreFormat.OpenWithKey(file, _key, _salt, _opsLimit, _memoryKiB);
    }

    /// <summary>Encrypts <paramref name="payload"/> under the derived key with a fresh nonce and replaces the file atomically.</summary>
    /// <param name="payload">The payload.</param>
    /// <param name="cancellationToken">Cancels the write; the previous file stays intact.</param>
    /// <returns>A task that completes once the file is on disk.</returns>
    public async Task SaveAsync(ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var nonce = new byte[LibSodium.AeadNonceBytes];
        LibSodium.RandomBytes(nonce);
        var file = KeyStoreFormat.SealWithKey(payload.Span, _key, _opsLimit, _memoryKiB, _salt, nonce);
        await _store.WriteAtomicallyAsync(file, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (!_disposed)
        {
            LibSodium.Zero(_key);
            _disposed = true;
        }
    }
}
