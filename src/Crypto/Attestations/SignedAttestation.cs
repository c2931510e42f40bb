using System.Globalization;
using Messaging.Crypto.Keys;
using Messaging.Crypto.Primitives;

namespace Messaging.Crypto.Attestations;

/// <summary>
/// An <see cref="Attestation"/> signed by a device identity. The Ed25519 signature covers
/// <c>UTF8("messaging.attestation.v1:" + typeName) || 0x00 || encoded attestation</c>, so a signature for one
/// type never verifies as another, nor as any other signed object of the protocol.
/// </summary>
/// <remarks>
/// Serialization, version 1: <c>0x01 || signer identity (129, see <see cref="IdentityPublicKey"/>) ||
/// signature (64) || encoded attestation (the rest)</c>. Parsing checks the structure only; call
/// <see cref="Verify(IdentityPublicKey)"/> with the identity you expect before trusting the content.
/// </remarks>
public sealed class SignedAttestation
{
    /// <summary>The serialization's version byte.</summary>
    public const byte FormatVersion = 0x01;

    private const int SignerOffset = 1;
    private const int SignatureOffset = SignerOffset + IdentityPublicKey.EncodedLength;
    private const int AttestationOffset = SignatureOffset + LibSodium.Ed25519SignatureBytes;

    private readonly byte[] _signature;

    private SignedAttestation(Attestation attestation, IdentityPublicKey signer, byte[] signature)
    {
        Attestation = attestation;
        Signer = signer;
        _signature = signature;
    }

    /// <summary>The signed statement. Only trust it after <see cref="Verify(IdentityPublicKey)"/> succeeded.</summary>
    public Attestation Attestation { get; }

    /// <summary>The identity that claims to have signed (as carried in the serialization).</summary>
    public IdentityPublicKey Signer { get; }

    /// <summary>The 64-byte Ed25519 signature.</summary>
    public ReadOnlySpan<byte> Signature => _signature;

    /// <summary>The signature label of an attestation type: <c>messaging.attestation.v1:</c> followed by the type name.</summary>
    /// <param name="typeName">The attestation type name.</param>
    /// <returns>The label.</returns>
    public static string SignatureLabel(string typeName) => DomainSignature.Attestation + ":" + typeName;

    /// <summary>Signs <paramref name="attestation"/> with the device identity.</summary>
    /// <param name="attestation">The statement.</param>
    /// <param name="signer">The signing identity.</param>
    /// <returns>The signed attestation.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="signer"/> was disposed.</exception>
    public static SignedAttestation Sign(Attestation attestation, IdentityKeyPair signer)
    {
        ArgumentNullException.ThrowIfNull(attestation);
        ArgumentNullException.ThrowIfNull(signer);
        var signature = signer.Sign(SignatureLabel(attestation.TypeName), attestation.EncodedSpan);
        return new SignedAttestation(attestation, signer.PublicKey, signature);
    }

    /// <summary>Parses a serialization. The signature is not checked here: call a <c>Verify</c> overload next.</summary>
    /// <param name="serialized">The bytes from <see cref="ToBytes"/>.</param>
    /// <returns>The parsed, unverified attestation.</returns>
    /// <exception cref="MalformedAttestationException">Unknown version, truncated, or the attestation is not canonical.</exception>
    /// <exception cref="SignatureVerificationException">The embedded signer identity's binding signature is invalid.</exception>
    public static SignedAttestation Parse(ReadOnlySpan<byte> serialized)
    {
        if (serialized.Length < AttestationOffset)
        {
            throw new MalformedAttestationException("The signed attestation is truncated.");
        }

        if (serialized[0] != FormatVersion)
        {
            throw new MalformedAttestationException(string.Create(
                CultureInfo.InvariantCulture, $"Unknown signed attestation version 0x{serialized[0]:x2}."));
        }

        IdentityPublicKey signer;
        try
        {
            signer = IdentityPublicKey.Parse(serialized.Slice(SignerOffset, IdentityPublicKey.EncodedLength));
        }
        catch (MalformedMessageException ex)
        {
            throw new MalformedAttestationException("The signer identity in the signed attestation is malformed.", ex);
        }

        var signature = serialized.Slice(SignatureOffset, LibSodium.Ed25519SignatureBytes).ToArray();
        var attestation = Attestation.Decode(serialized[AttestationOffset..]);
        return new SignedAttestation(attestation, signer, signature);
    }

    /// <summary>Parses and verifies in one step, returning the attestation only if <paramref name="expectedSigner"/> signed it.</summary>
    /// <param name="serialized">The bytes from <see cref="ToBytes"/>.</param>
    /// <param name="expectedSigner">The identity that must have signed.</param>
    /// <returns>The verified attestation.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="expectedSigner"/> is null.</exception>
    /// <exception cref="MalformedAttestationException">The bytes are not a canonical signed attestation.</exception>
    /// <exception cref="SignatureVerificationException">Another identity signed, or the signature is invalid.</exception>
    public static Attestation ParseAndVerify(ReadOnlySpan<byte> serialized, IdentityPublicKey expectedSigner)
    {
        ArgumentNullException.ThrowIfNull(expectedSigner);
        var signed = Parse(serialized);
        signed.Verify(expectedSigner);
        return signed.Attestation;
    }

    /// <summary>Checks that <paramref name="expectedSigner"/> is the signer and that the signature is valid.</summary>
    /// <param name="expectedSigner">The identity that must have signed (from your own trusted records, not from this object).</param>
    /// <exception cref="ArgumentNullException"><paramref name="expectedSigner"/> is null.</exception>
    /// <exception cref="SignatureVerificationException">Another identity signed, or the signature is invalid.</exception>
    public void Verify(IdentityPublicKey expectedSigner)
    {
        ArgumentNullException.ThrowIfNull(expectedSigner);
        if (!expectedSigner.Equals(Signer))
        {
            throw new SignatureVerificationException("The attestation was not signed by the expected identity.");
        }

        Verify(expectedSigner.SigningKey);
    }

    /// <summary>Checks the signature against a bare 32-byte Ed25519 public key, which must be the signer's.</summary>
    /// <param name="ed25519PublicKey">The expected signer's Ed25519 public key.</param>
    /// <exception cref="SignatureVerificationException">The key is not the signer's, or the signature is invalid.</exception>
    public void Verify(ReadOnlySpan<byte> ed25519PublicKey)
    {
        if (!LibSodium.FixedTimeEquals(ed25519PublicKey, Signer.SigningKey))
        {
            throw new SignatureVerificationException("The attestation was not signed by the expected key.");
        }

        if (!DomainSignature.Verify(ed25519PublicKey, SignatureLabel(Attestation.TypeName), Attestation.EncodedSpan, _signature))
        {
            throw new SignatureVerificationException("The attestation's signature is invalid.");
        }
    }

    /// <summary>The version-1 serialization.</summary>
    /// <returns>The bytes.</returns>
    public byte[] ToBytes()
    {
        var encoded = Attestation.EncodedSpan;
        var output = new byte[AttestationOffset + encoded.Length];
        output[0] = FormatVersion;
        Signer.ToBytes().CopyTo(output, SignerOffset);
        _signature.CopyTo(output, SignatureOffset);
        encoded.CopyTo(output.AsSpan(AttestationOffset));
        return output;
    }

    /// <summary>The type, field names and signer; never field values.</summary>
    /// <returns>A description safe to log.</returns>
    public override string ToString() => $"{Attestation} signed by {Signer}";
}
