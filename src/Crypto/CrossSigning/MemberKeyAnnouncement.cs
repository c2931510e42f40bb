using System.Buffers.Binary;
using Messaging.Crypto.Primitives;

namespace Messaging.Crypto.CrossSigning;

/// <summary>
/// The published form of a member's signing key, self-signed (proof of possession, bound to the member id).
/// Encoding (121 bytes, integers big-endian): <c>0x01 || member id (16, RFC 4122 order) || member public key (32) ||
/// issued-at (i64 unix ms) || signature (64)</c>; the signature is Ed25519 under the member key over
/// <c>"messaging.member-key.v1" || 0x00 || the first 57 bytes</c>.
/// </summary>
public sealed class MemberKeyAnnouncement
{
    /// <summary>Format version.</summary>
    public const byte Version = 0x01;

    /// <summary>Length of <see cref="ToBytes"/>.</summary>
    public const int EncodedLength = BodyLength + LibSodium.Ed25519SignatureBytes;

    private const int BodyLength = 1 + 16 + MemberSigningKey.PublicKeyLength + 8;

    private readonly byte[] _encoded;

    private MemberKeyAnnouncement(byte[] encoded)
    {
        _encoded = encoded;
        MemberId = new Guid(encoded.AsSpan(1, 16), bigEndian: true);
        IssuedAt = DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64BigEndian(encoded.AsSpan(49, 8)));
    }

    /// <summary>The member.</summary>
    public Guid MemberId { get; }

    /// <summary>The member's signing public key.</summary>
    public ReadOnlySpan<byte> PublicKey => _encoded.AsSpan(17, MemberSigningKey.PublicKeyLength);

    /// <summary>When the key was created (the signer's clock; informative).</summary>
    public DateTimeOffset IssuedAt { get; }

    /// <summary>Parses and verifies the self-signature.</summary>
    /// <exception cref="MalformedMessageException">Wrong length or version.</exception>
    /// <exception cref="SignatureVerificationException">The signature does not verify under the key it announces.</exception>
    public static MemberKeyAnnouncement Parse(ReadOnlySpan<byte> encoded)
    {
        if (encoded.Length != EncodedLength || encoded[0] != Version)
        {
            throw new MalformedMessageException($"A member key announcement is {EncodedLength} bytes starting with version {Version}.");
        }

        var announcement = new MemberKeyAnnouncement(encoded.ToArray());
        if (!DomainSignature.Verify(announcement.PublicKey, DomainSignature.MemberKey, encoded[..BodyLength], encoded[BodyLength..]))
        {
            throw new SignatureVerificationException("The member key announcement is not signed by the key it announces.");
        }

        return announcement;
    }

    /// <summary><see cref="Parse"/> without exceptions.</summary>
    public static bool TryParse(ReadOnlySpan<byte> encoded, out MemberKeyAnnouncement? announcement)
    {
        try
        {
            announcement = Parse(encoded);
            return true;
        }
        catch (CryptoException)
        {
            announcement = null;
            return false;
        }
    }

    /// <summary>The encoding.</summary>
    public byte[] ToBytes() => _encoded.ToArray();

    internal static byte[] Body(Guid memberId, ReadOnlySpan<byte> publicKey, DateTimeOffset issuedAt)
    {
        var body = new byte[BodyLength];
        body[0] = Version;
        memberId.TryWriteBytes(body.AsSpan(1, 16), bigEndian: true, out _);
        publicKey.CopyTo(body.AsSpan(17));
        BinaryPrimitives.WriteInt64BigEndian(body.AsSpan(49), issuedAt.ToUnixTimeMilliseconds());
        return body;
    }
}
