using Messaging.Crypto.Primitives;

namespace Messaging.Crypto.Keys;

/// <summary>
/// A device's public identity: an Ed25519 signing key and an X25519 agreement key, bound together by an
/// Ed25519 signature of the signing key over the agreement key. Instances only exist with a verified
/// binding. Encoding (129 bytes): <c>0x01 || Ed25519 pk (32) || X25519 pk (32) || binding signature (64)</c>.
/// </summary>
public sealed class IdentityPublicKey : IEquatable<IdentityPublicKey>
{
    /// <summary>Version tag of the encoding.</summary>
    public const byte Version = 0x01;

    /// <summary>Length of <see cref="ToBytes"/>.</summary>
    public const int EncodedLength = 1 + 32 + 32 + 64;

    private readonly byte[] _encoded;

    private IdentityPublicKey(byte[] encoded) => _encoded = encoded;

    /// <summary>The Ed25519 public key that signs prekeys, challenges and attestations.</summary>
    public ReadOnlySpan<byte> SigningKey => _encoded.AsSpan(1, 32);

    /// <summary>The X25519 public key used in X3DH.</summary>
    public ReadOnlySpan<byte> AgreementKey => _encoded.AsSpan(33, 32);

    /// <summary>The Ed25519 signature binding <see cref="AgreementKey"/> to <see cref="SigningKey"/>.</summary>
    public ReadOnlySpan<byte> BindingSignature => _encoded.AsSpan(65, 64);

    /// <summary>Parses and verifies an encoded identity.</summary>
    /// <exception cref="MalformedMessageException">Wrong length or version.</exception>
    /// <exception cref="SignatureVerificationException">The binding signature does not verify.</exception>
    public static IdentityPublicKey Parse(ReadOnlySpan<byte> encoded)
    {
        if (encoded.Length != EncodedLength || encoded[0] != Version)
        {
            throw new MalformedMessageException($"An identity key is {EncodedLength} bytes starting with version {Version}.");
        }

        var key = new IdentityPublicKey(encoded.ToArray());
        if (!DomainSignature.Verify(key.SigningKey, DomainSignature.IdentityBinding, key.AgreementKey, key.BindingSignature))
        {
            throw new SignatureVerificationException("The identity's agreement key is not signed by its signing key.");
        }

        return key;
    }

    /// <summary>Tries <see cref="Parse"/>; false for any malformed or unverifiable input.</summary>
    public static bool TryParse(ReadOnlySpan<byte> encoded, out IdentityPublicKey? key)
    {
        try
        {
            key = Parse(encoded);
            return true;
        }
        catch (CryptoException)
        {
            key = null;
            return false;
        }
    }

    internal static IdentityPublicKey FromVerifiedParts(ReadOnlySpan<byte> signingKey, ReadOnlySpan<byte> agreementKey, ReadOnlySpan<byte> bindingSignature)
    {
        var encoded = new byte[EncodedLength];
        encoded[0] = Version;
        signingKey.CopyTo(encoded.AsSpan(1, 32));
        agreementKey.CopyTo(encoded.AsSpan(33, 32));
        bindingSignature.CopyTo(encoded.AsSpan(65, 64));
        return new IdentityPublicKey(encoded);
    }

    /// <summary>Verifies a domain-separated signature made by this identity.</summary>
    internal bool Verify(string label, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
        => DomainSignature.Verify(SigningKey, label, data, signature);

    /// <summary>Verifies this identity's signature over a server authentication challenge.</summary>
    public bool VerifyChallengeSignature(ReadOnlySpan<byte> challenge, ReadOnlySpan<byte> signature)
        => Verify(DomainSignature.AuthChallenge, challenge, signature);

    /// <summary>The 129-byte encoding (a copy).</summary>
    public byte[] ToBytes() => (byte[])_encoded.Clone();

    /// <summary>True when <paramref name="encoded"/> is exactly this key's encoding (binding signature included), so
    /// it needs no second verification.</summary>
    internal bool IsEncodedAs(ReadOnlySpan<byte> encoded) => encoded.SequenceEqual(_encoded);

    /// <inheritdoc />
    public bool Equals(IdentityPublicKey? other) => other is not null && _encoded.AsSpan().SequenceEqual(other._encoded);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as IdentityPublicKey);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = default(HashCode);
        hash.AddBytes(_encoded);
        return hash.ToHashCode();
    }

    /// <summary>Hex of the signing key: a public value, safe to log.</summary>
    public override string ToString() => Convert.ToHexStringLower(SigningKey);
}
