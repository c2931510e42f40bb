using Messaging.Crypto.Primitives;

namespace Messaging.Crypto.Keys;

/// <summary>
/// A device's private identity: Ed25519 signing key and X25519 agreement key. Never leaves the device;
/// persisted only through the encrypted key store. Secrets are zeroed on <see cref="Dispose"/>.
/// </summary>
public sealed class IdentityKeyPair : IDisposable
{
    /// <summary>Length of <see cref="ExportPrivate"/>: version, Ed25519 seed, X25519 secret.</summary>
    internal const int PrivateEncodedLength = 1 + 32 + 32;

    private readonly byte[] _signingSeed;
    private readonly byte[] _signingSecret;
    private readonly X25519KeyPair _agreement;
    private bool _disposed;

    private IdentityKeyPair(byte[] signingSeed, X25519KeyPair agreement)
    {
        _signingSeed = signingSeed;
        _agreement = agreement;
        _signingSecret = new byte[LibSodium.Ed25519SecretKeyBytes];
        var signingPublic = new byte[LibSodium.Ed25519PublicKeyBytes];
        LibSodium.Ed25519SeedKeyPair(signingPublic, _signingSecret, signingSeed);
        var binding = DomainSignature.Sign(_signingSecret, DomainSignature.IdentityBinding, agreement.PublicKey);
        PublicKey = IdentityPublicKey.FromVerifiedParts(signingPublic, agreement.PublicKey, binding);
    }

    /// <summary>The public identity to publish.</summary>
    public IdentityPublicKey PublicKey { get; }

    /// <summary>Generates a fresh identity from libsodium's CSPRNG.</summary>
    public static IdentityKeyPair Generate()
    {
        var seed = new byte[LibSodium.Ed25519SeedBytes];
        LibSodium.RandomBytes(seed);
        return new IdentityKeyPair(seed, X25519KeyPair.Generate());
    }

    /// <summary>Builds an identity from fixed secrets (test vectors, restore from the key store).</summary>
    /// <exception cref="InvalidKeyException">A secret is not 32 bytes.</exception>
    public static IdentityKeyPair FromSecrets(ReadOnlySpan<byte> ed25519Seed, ReadOnlySpan<byte> x25519SecretKey)
    {
        if (ed25519Seed.Length != LibSodium.Ed25519SeedBytes)
        {
            throw new InvalidKeyException("An Ed25519 seed is 32 bytes.");
        }

        return new IdentityKeyPair(ed25519Seed.ToArray(), X25519KeyPair.FromSecretKey(x25519SecretKey));
    }

    /// <summary>Signs <paramref name="challenge"/> for server authentication (label <c>messaging.auth-challenge.v1</c>).</summary>
    public byte[] SignChallenge(ReadOnlySpan<byte> challenge) => Sign(DomainSignature.AuthChallenge, challenge);

    internal byte[] Sign(string label, ReadOnlySpan<byte> data)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return DomainSignature.Sign(_signingSecret, label, data);
    }

    /// <summary>Opens a sealed box addressed to this identity's agreement key; null when it does not authenticate.</summary>
    internal byte[]? OpenSealed(ReadOnlySpan<byte> ciphertext)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _agreement.OpenSealed(ciphertext);
    }

    internal void Agree(ReadOnlySpan<byte> remotePublicKey, Span<byte> shared) => _agreement.Agree(remotePublicKey, shared);

    /// <summary>The private encoding <c>0x01 || Ed25519 seed || X25519 secret</c>, for the encrypted key store only.</summary>
    internal byte[] ExportPrivate()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var output = new byte[PrivateEncodedLength];
        output[0] = 0x01;
        _signingSeed.CopyTo(output, 1);
        _agreement.SecretKey.CopyTo(output.AsSpan(33));
        return output;
    }

    internal static IdentityKeyPair ImportPrivate(ReadOnlySpan<byte> encoded)
    {
        if (encoded.Length != PrivateEncodedLength || encoded[0] != 0x01)
        {
            throw new InvalidStateFormatException("Unrecognised private identity encoding.");
        }

        return FromSecrets(encoded.Slice(1, 32), encoded.Slice(33, 32));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (!_disposed)
        {
            LibSodium.Zero(_signingSeed);
            LibSodium.Zero(_signingSecret);
            _agreement.Dispose();
            _disposed = true;
        }
    }
}
