namespace Messaging.Crypto.KeyStore;

/// <summary>Base type of the errors raised when opening an encrypted key store. None of them modifies or deletes the file.</summary>
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
