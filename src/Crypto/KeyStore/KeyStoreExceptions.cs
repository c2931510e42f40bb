using System.Globalization;

namespace Messaging.Crypto.KeyStore;

/// <summary>Base type of the errors raised when opening or saving an encrypted key store. None of them modifies or deletes the file.</summary>
public abstract class KeyStoreException : CryptoException
{
    /// <summary>Creates the exception with a message that never contains the passphrase or key material.</summary>
    /// <param name="message">What went wrong and what the caller can do.</param>
    protected KeyStoreException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception wrapping a lower-level cause.</summary>
    /// <param name="message">What went wrong and what the caller can do.</param>
    /// <param name="innerException">The cause.</param>
    protected KeyStoreException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>There is no key store file at the path. The caller can create a new store (a new device identity).</summary>
public sealed class KeyStoreNotFoundException : KeyStoreException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The reason.</param>
    /// <param name="innerException">The I/O error reported by the file system.</param>
    public KeyStoreNotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// The key store did not authenticate: the passphrase is wrong, or the file (header or ciphertext) was
/// modified. The two cannot be told apart by design. The caller can ask for the passphrase again.
/// </summary>
public sealed class KeyStoreAuthenticationException : KeyStoreException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The reason.</param>
    public KeyStoreAuthenticationException(string message)
        : base(message)
    {
    }
}

/// <summary>
/// The file is not a key store this version can read: bad magic, unknown format version, truncated or
/// oversized. Asking for the passphrase again will not help; restore the file from a backup.
/// </summary>
public sealed class KeyStoreCorruptedException : KeyStoreException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The reason.</param>
    public KeyStoreCorruptedException(string message)
        : base(message)
    {
    }
}

/// <summary>
/// The file's Argon2id parameters are outside the accepted range: below the minimum cost (the file was
/// written by a weaker configuration, or an attacker lowered them to speed up guessing) or so high that
/// deriving the key would exhaust the machine. The file is refused before any key derivation.
/// </summary>
public sealed class KeyStoreParametersRejectedException : KeyStoreException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The reason, naming the parameters found and the accepted range.</param>
    public KeyStoreParametersRejectedException(string message)
        : base(message)
    {
    }
}

/// <summary>
/// Another owner holds the key store: a second process (for example a running <c>messaging listen</c>) or another
/// open of the same store in this process. A device state has one owner at a time, because two owners would each
/// advance the same sending chains and one's save would overwrite the other's progress (message-key reuse).
/// Nothing was read or written. The caller can close the other owner, or hand its work to it, and try again.
/// </summary>
public sealed class KeyStoreLockedException : KeyStoreException
{
    /// <summary>Creates the exception naming the process that holds the lock, when it is known.</summary>
    /// <param name="lockFilePath">The lock file beside the store.</param>
    /// <param name="holderProcessId">The process id written in the lock file by its holder, or null if unknown.</param>
    /// <param name="innerException">The I/O error reported when the lock was refused.</param>
    public KeyStoreLockedException(string lockFilePath, int? holderProcessId, Exception innerException)
        : base(Describe(lockFilePath, holderProcessId), innerException)
    {
        LockFilePath = lockFilePath;
        HolderProcessId = holderProcessId;
    }

    /// <summary>The lock file beside the store.</summary>
    public string LockFilePath { get; }

    /// <summary>The id of the process holding the store, as it wrote it in the lock file; null if it could not be read.</summary>
    public int? HolderProcessId { get; }

    private static string Describe(string lockFilePath, int? holderProcessId) => holderProcessId switch
    {
        null => $"The key store is already open in another process or elsewhere in this one (lock file {lockFilePath}). Close that owner, or hand the work to it, then try again.",
        { } id when id == Environment.ProcessId => string.Create(
            CultureInfo.InvariantCulture,
            $"The key store is already open in this process ({id}) (lock file {lockFilePath}). Dispose the other UnlockedKeyStore first."),
        { } id => string.Create(
            CultureInfo.InvariantCulture,
            $"The key store is already open in process {id} (lock file {lockFilePath}), for example a running 'messaging listen'. Stop that process, or hand the work to it, then try again."),
    };
}

/// <summary>
/// A compare-and-swap save was refused: the key store file is no longer the one this <see cref="UnlockedKeyStore"/>
/// last read or wrote (another writer replaced it, or an older copy was restored). Nothing was written. The state in
/// memory may be stale: reopen the store, read the state again and redo the change; never force the save.
/// </summary>
public sealed class KeyStoreConflictException : KeyStoreException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The reason.</param>
    public KeyStoreConflictException(string message)
        : base(message)
    {
    }
}
