using Messaging.Crypto.Primitives;

namespace Messaging.Crypto.KeyStore;

/// <summary>
/// A file holding an opaque payload (the device's serialized keys and sessions) encrypted under a
/// passphrase: Argon2id derives the key, XChaCha20-Poly1305 encrypts, and the header with the Argon2id
/// parameters, salt and nonce is authenticated. Saves are atomic: a failed save leaves the previous file
/// as it was. Loading never modifies or deletes the file, whatever the error.
/// </summary>
/// <remarks>
/// Key derivation (hundreds of milliseconds and <see cref="KeyStoreOptions.MemoryKiB"/> of memory) runs on the
/// calling thread. On Unix the file is created with mode 0600. A store has one owner at a time: <see cref="UnlockAsync"/>
/// and <see cref="CreateAsync"/> take an exclusive lock (<see cref="LockFilePath"/>) held until the returned
/// <see cref="UnlockedKeyStore"/> is disposed, and <see cref="SaveAsync"/> holds it while it writes; a second
/// opener gets <see cref="KeyStoreLockedException"/>. <see cref="LoadAsync"/> only reads and takes no lock.
/// </remarks>
public sealed class EncryptedKeyStore
{
    private const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private readonly KeyStoreLimits _limits;
    private readonly Action<string>? _beforeReplace;

    /// <summary>A store at <paramref name="path"/> written with <see cref="KeyStoreOptions.Default"/>.</summary>
    /// <param name="path">The key store file; its directory must exist when saving.</param>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty or not a valid path.</exception>
    public EncryptedKeyStore(string path)
        : this(path, KeyStoreOptions.Default)
    {
    }

    /// <summary>A store at <paramref name="path"/> written with <paramref name="options"/>.</summary>
    /// <param name="path">The key store file; its directory must exist when saving.</param>
    /// <param name="options">The Argon2id cost of future saves. Files are read with the cost in their header,
    /// if it lies within the accepted range.</param>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty or not a valid path.</exception>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public EncryptedKeyStore(string path, KeyStoreOptions options)
        : this(path, options, KeyStoreLimits.Production, beforeReplace: null)
    {
    }

    /// <summary>Test seam: lower limits (fast Argon2id), and a hook run after the temporary file is written.</summary>
    internal EncryptedKeyStore(string path, KeyStoreOptions options, KeyStoreLimits limits, Action<string>? beforeReplace)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(options);
        if (!limits.Accepts(options))
        {
            throw new ArgumentException("The key store options are below the accepted minimum.", nameof(options));
        }

        FilePath = Path.GetFullPath(path);
        Options = options;
        _limits = limits;
        _beforeReplace = beforeReplace;
    }

    /// <summary>The absolute path of the key store file.</summary>
    public string FilePath { get; }

    /// <summary>The Argon2id cost used by <see cref="SaveAsync"/>.</summary>
    public KeyStoreOptions Options { get; }

    /// <summary>The lock file beside the store (<c>&lt;FilePath&gt;.lock</c>): whoever holds it owns the store; it holds
    /// the owner's process id.</summary>
    public string LockFilePath => FilePath + ".lock";

    /// <summary>The temporary file a save writes before renaming it over <see cref="FilePath"/>.</summary>
    internal string TempPath => FilePath + ".tmp";

    /// <summary>Whether the key store file exists.</summary>
    public bool Exists() => File.Exists(FilePath);

    /// <summary>
    /// Encrypts <paramref name="payload"/> under <paramref name="passphrase"/> with a fresh salt and nonce and
    /// atomically replaces the file: the bytes go to a temporary file in the same directory, are flushed to
    /// disk, then renamed over the old file. If anything fails the previous file is left intact. The store's lock
    /// is held for the duration of the save, so this refuses to replace a store that is open elsewhere.
    /// </summary>
    /// <param name="payload">The bytes to protect, at most 256 MiB. Not copied; the caller clears it.</param>
    /// <param name="passphrase">The passphrase.</param>
    /// <param name="cancellationToken">Cancels the write; the previous file then stays as it was.</param>
    /// <returns>A task that completes once the new file is in place.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="passphrase"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="payload"/> is larger than 256 MiB.</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="passphrase"/> was disposed.</exception>
    /// <exception cref="KeyStoreLockedException">The store is open in another process or elsewhere in this one; nothing was written.</exception>
    /// <exception cref="CryptoException">Argon2id could not run (not enough memory).</exception>
    /// <exception cref="IOException">The file could not be written (the previous one is unchanged).</exception>
    /// <exception cref="UnauthorizedAccessException">The directory is not writable.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task SaveAsync(ReadOnlyMemory<byte> payload, Passphrase passphrase, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(passphrase);
        cancellationToken.ThrowIfCancellationRequested();
        using var owner = KeyStoreLock.Acquire(LockFilePath);
        var file = KeyStoreFormat.Seal(payload.Span, passphrase, Options);
        cancellationToken.ThrowIfCancellationRequested();

        await WriteAtomicallyAsync(file, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Takes the store's exclusive lock, opens the store once with the passphrase and keeps the derived key, so that
    /// the device can re-read and re-save its state many times without paying Argon2id each time. The lock is held
    /// until the returned store is disposed: a device state has one owner at a time.
    /// </summary>
    /// <param name="passphrase">The passphrase.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The unlocked store; dispose it to zero the key and release the lock.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="passphrase"/> is null.</exception>
    /// <exception cref="KeyStoreNotFoundException">There is no file.</exception>
    /// <exception cref="KeyStoreLockedException">The store is open in another process (named by
    /// <see cref="KeyStoreLockedException.HolderProcessId"/>) or elsewhere in this one.</exception>
    /// <exception cref="KeyStoreAuthenticationException">Wrong passphrase, or the file was modified.</exception>
    /// <exception cref="KeyStoreCorruptedException">Not a key store, unknown version, or truncated.</exception>
    /// <exception cref="KeyStoreParametersRejectedException">The file's Argon2id cost is outside the accepted range.</exception>
    public async Task<UnlockedKeyStore> UnlockAsync(Passphrase passphrase, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(passphrase);
        if (!Exists())
        {
            // Checked before taking the lock, so that a missing store leaves no lock file behind.
            throw new KeyStoreNotFoundException("There is no key store file at the configured path.", new FileNotFoundException(null, FilePath));
        }

        var owner = AcquireLockForExistingStore();
        var key = NewKeyBuffer();
        try
        {
            var file = await ReadFileAsync(cancellationToken).ConfigureAwait(false);
            KeyStoreFormat.Open(file, passphrase, _limits, key).Dispose();
            var (opsLimit, memoryKiB) = KeyStoreFormat.ReadParameters(file);
            return new UnlockedKeyStore(this, owner, key, KeyStoreFormat.ReadSalt(file), opsLimit, memoryKiB, KeyStoreFileIdentity.Of(file));
        }
        catch
        {
            LibSodium.Zero(key);
            owner.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Takes the store's exclusive lock, creates (or replaces) the store with <paramref name="payload"/> under a fresh
    /// salt and nonce, and returns it unlocked, still holding the lock. Argon2id runs once.
    /// </summary>
    /// <param name="payload">The first payload.</param>
    /// <param name="passphrase">The passphrase.</param>
    /// <param name="cancellationToken">Cancels the write; the previous file, if any, stays intact.</param>
    /// <returns>The unlocked store; dispose it to zero the key and release the lock.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="passphrase"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="payload"/> is larger than 256 MiB.</exception>
    /// <exception cref="KeyStoreLockedException">The store is open in another process or elsewhere in this one; nothing was written.</exception>
    /// <exception cref="CryptoException">Argon2id could not run (not enough memory).</exception>
    /// <exception cref="IOException">The file could not be written (the previous one, if any, is unchanged).</exception>
    /// <exception cref="UnauthorizedAccessException">The directory is not writable.</exception>
    public async Task<UnlockedKeyStore> CreateAsync(ReadOnlyMemory<byte> payload, Passphrase passphrase, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(passphrase);
        cancellationToken.ThrowIfCancellationRequested();
        var owner = KeyStoreLock.Acquire(LockFilePath);
        var key = NewKeyBuffer();
        try
        {
            var salt = new byte[LibSodium.PwHashSaltBytes];
            var nonce = new byte[LibSodium.AeadNonceBytes];
            LibSodium.RandomBytes(salt);
            LibSodium.RandomBytes(nonce);
            KeyStoreFormat.DeriveKey(key, passphrase, salt, Options);
            var file = KeyStoreFormat.SealWithKey(payload.Span, key, Options.OpsLimit, Options.MemoryKiB, salt, nonce);
            await WriteAtomicallyAsync(file, cancellationToken).ConfigureAwait(false);
            return new UnlockedKeyStore(this, owner, key, salt, Options.OpsLimit, Options.MemoryKiB, KeyStoreFileIdentity.Of(file));
        }
        catch
        {
            LibSodium.Zero(key);
            owner.Dispose();
            throw;
        }
    }

    /// <summary>Reads and decrypts the payload. The file is never modified, whatever the outcome.</summary>
    /// <param name="passphrase">The passphrase.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The payload in a buffer that is zeroed when disposed.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="passphrase"/> is null.</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="passphrase"/> was disposed.</exception>
    /// <exception cref="KeyStoreNotFoundException">There is no file at <see cref="FilePath"/>.</exception>
    /// <exception cref="KeyStoreCorruptedException">Not a key store, unknown version, truncated or oversized.</exception>
    /// <exception cref="KeyStoreParametersRejectedException">The header's Argon2id cost is below the minimum or absurdly high.</exception>
    /// <exception cref="KeyStoreAuthenticationException">Wrong passphrase, or the header or ciphertext was modified.</exception>
    /// <exception cref="CryptoException">Argon2id could not run (not enough memory).</exception>
    /// <exception cref="IOException">The file could not be read.</exception>
    /// <exception cref="UnauthorizedAccessException">The file is not readable.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<SecretBytes> LoadAsync(Passphrase passphrase, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(passphrase);
        var file = await ReadFileAsync(cancellationToken).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        return KeyStoreFormat.Open(file, passphrase, _limits);
    }

    /// <summary>Writes <paramref name="file"/> to a temporary file beside the store, flushes it to disk, then renames it
    /// over the store: a failure at any point leaves the previous file intact.</summary>
    internal async Task WriteAtomicallyAsync(byte[] file, CancellationToken cancellationToken)
    {
        var temp = TempPath;
        var createdTemp = false;
        var replaced = false;
        try
        {
            var streamOptions = new FileStreamOptions
            {
                Mode = FileMode.Create,
                Access = FileAccess.Write,
                Share = FileShare.None,
                Options = FileOptions.Asynchronous,
            };
            if (!OperatingSystem.IsWindows())
            {
                streamOptions.UnixCreateMode = OwnerReadWrite;
            }

            var stream = new FileStream(temp, streamOptions);
            createdTemp = true;
            await using (stream.ConfigureAwait(false))
            {
                if (!OperatingSystem.IsWindows())
                {
                    // UnixCreateMode only applies to a new file; a leftover temporary file keeps its mode otherwise.
                    File.SetUnixFileMode(stream.SafeFileHandle, OwnerReadWrite);
                }

                await stream.WriteAsync(file, cancellationToken).ConfigureAwait(false);
                await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }

            _beforeReplace?.Invoke(temp);
            cancellationToken.ThrowIfCancellationRequested();
            File.Move(temp, FilePath, overwrite: true);
            replaced = true;
        }
        finally
        {
            if (createdTemp && !replaced)
            {
                TryDelete(temp);
            }
        }
    }

    /// <summary>The identity of the file now on disk (see <see cref="KeyStoreFileIdentity"/>), or null when it is missing
    /// or too short to be a key store. Reads the header and the tag only.</summary>
    internal async Task<byte[]?> ReadFileIdentityAsync(CancellationToken cancellationToken)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(FilePath, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, useAsync: true);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }

        await using (stream.ConfigureAwait(false))
        {
            var length = stream.Length;
            if (length < KeyStoreFormat.MinimumFileLength)
            {
                return null;
            }

            var header = new byte[KeyStoreFormat.HeaderLength];
            var tag = new byte[LibSodium.AeadTagBytes];
            await stream.ReadExactlyAsync(header, cancellationToken).ConfigureAwait(false);
            stream.Seek(-LibSodium.AeadTagBytes, SeekOrigin.End);
            await stream.ReadExactlyAsync(tag, cancellationToken).ConfigureAwait(false);
            return KeyStoreFileIdentity.Of(header, tag, length);
        }
    }

    internal async Task<byte[]> ReadFileAsync(CancellationToken cancellationToken)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(FilePath, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 4096, useAsync: true);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new KeyStoreNotFoundException("There is no key store file at the configured path.", ex);
        }

        await using (stream.ConfigureAwait(false))
        {
            if (stream.Length > KeyStoreFormat.MaximumFileLength)
            {
                throw new KeyStoreCorruptedException("The key store file is larger than any key store this version writes.");
            }

            var file = new byte[stream.Length];
            await stream.ReadExactlyAsync(file, cancellationToken).ConfigureAwait(false);
            return file;
        }
    }

    /// <summary>The derived key lives in a pinned array, so the GC never leaves a moved copy behind; zeroed on dispose.</summary>
    private static byte[] NewKeyBuffer() => GC.AllocateArray<byte>(LibSodium.AeadKeyBytes, pinned: true);

    private KeyStoreLock AcquireLockForExistingStore()
    {
        try
        {
            return KeyStoreLock.Acquire(LockFilePath);
        }
        catch (DirectoryNotFoundException ex)
        {
            throw new KeyStoreNotFoundException("There is no key store file at the configured path.", ex);
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: a leftover temporary file holds only ciphertext and is replaced by the next save.
        }
    }
}
