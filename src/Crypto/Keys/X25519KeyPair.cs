using Messaging.Crypto.Primitives;

namespace Messaging.Crypto.Keys;

/// <summary>An X25519 key pair. The secret half is zeroed on <see cref="Dispose"/>.</summary>
public sealed class X25519KeyPair : IDisposable
{
    private readonly byte[] _secretKey;
    private bool _disposed;

    private X25519KeyPair(byte[] secretKey, byte[] publicKey)
    {
        _secretKey = secretKey;
        PublicKey = publicKey;
    }

    /// <summary>The 32-byte public key (RFC 7748 u-coordinate).</summary>
    public byte[] PublicKey { get; }

    /// <summary>Generates a fresh key pair from libsodium's CSPRNG.</summary>
    public static X25519KeyPair Generate()
    {
        // The fresh secret is owned directly: going through FromSecretKey would copy it and leave this
        // first copy unzeroed on the heap.
        var secret = new byte[LibSodium.X25519KeyBytes];
        var publicKey = new byte[LibSodium.X25519KeyBytes];
        LibSodium.RandomBytes(secret);
        try
        {
            LibSodium.X25519Base(publicKey, secret);
        }
        catch
        {
            LibSodium.Zero(secret);
            throw;
        }

        return new X25519KeyPair(secret, publicKey);
    }

    /// <summary>Rebuilds a key pair from its 32-byte secret key (copied).</summary>
    /// <exception cref="InvalidKeyException">The secret key is not 32 bytes.</exception>
    public static X25519KeyPair FromSecretKey(ReadOnlySpan<byte> secretKey)
    {
        if (secretKey.Length != LibSodium.X25519KeyBytes)
        {
            throw new InvalidKeyException("An X25519 secret key is 32 bytes.");
        }

        var secret = secretKey.ToArray();
        var publicKey = new byte[LibSodium.X25519KeyBytes];
        LibSodium.X25519Base(publicKey, secret);
        return new X25519KeyPair(secret, publicKey);
    }

    internal ReadOnlySpan<byte> SecretKey
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _secretKey;
        }
    }

    /// <summary>X25519(secret, remote) into <paramref name="shared"/> (32 bytes).</summary>
    /// <exception cref="InvalidKeyException">The remote key is a low-order point.</exception>
    public void Agree(ReadOnlySpan<byte> remotePublicKey, Span<byte> shared)
    {
        if (remotePublicKey.Length != LibSodium.X25519KeyBytes)
        {
            throw new InvalidKeyException("An X25519 public key is 32 bytes.");
        }

        LibSodium.X25519(shared, SecretKey, remotePublicKey);
    }

    /// <summary>Opens a sealed box addressed to this key; null when it does not authenticate.</summary>
    internal byte[]? OpenSealed(ReadOnlySpan<byte> ciphertext)
    {
        if (ciphertext.Length < LibSodium.SealOverheadBytes)
        {
            return null;
        }

        var plaintext = new byte[ciphertext.Length - LibSodium.SealOverheadBytes];
        return LibSodium.BoxSealOpen(plaintext, ciphertext, PublicKey, SecretKey) ? plaintext : null;
    }

    /// <summary>Copies the secret key out, for serialisation into an encrypted store only.</summary>
    internal byte[] ExportSecretKey() => SecretKey.ToArray();

    /// <inheritdoc />
    public void Dispose()
    {
        if (!_disposed)
        {
            LibSodium.Zero(_secretKey);
            _disposed = true;
        }
    }
}
