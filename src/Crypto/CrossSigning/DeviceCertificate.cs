using System.Buffers.Binary;
using Messaging.Crypto.Keys;
using Messaging.Crypto.Primitives;

namespace Messaging.Crypto.CrossSigning;

/// <summary>
/// A member's signature vouching for one of its devices. Encoding (234 bytes, integers big-endian):
/// <c>0x01 || member id (16, RFC 4122 order) || device id (16) || device identity key (129, <see cref="IdentityPublicKey"/>
/// encoding) || issued-at (i64 unix ms) || signature (64)</c>; the signature is Ed25519 under the member signing key over
/// <c>"messaging.device-certificate.v1" || 0x00 || the first 170 bytes</c>. Parsing checks the shape and the identity
/// key's own binding; <see cref="VerifiesUnder"/> checks the member's signature.
/// </summary>
public sealed class DeviceCertificate
{
    /// <summary>Format version.</summary>
    public const byte Version = 0x01;

    /// <summary>Length of <see cref="ToBytes"/>.</summary>
    public const int EncodedLength = BodyLength + LibSodium.Ed25519SignatureBytes;

    private const int BodyLength = 1 + 16 + 16 + IdentityPublicKey.EncodedLength + 8;
    private const int IssuedAtOffset = 33 + IdentityPublicKey.EncodedLength;

    private readonly byte[] _encoded;

    private DeviceCertificate(byte[] encoded, IdentityPublicKey identity)
    {
        _encoded = encoded;
        Identity = identity;
        MemberId = new Guid(encoded.AsSpan(1, 16), bigEndian: true);
        DeviceId = new Guid(encoded.AsSpan(17, 16), bigEndian: true);
        IssuedAt = DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64BigEndian(encoded.AsSpan(IssuedAtOffset, 8)));
    }

    /// <summary>The member vouching.</summary>
    public Guid MemberId { get; }

    /// <summary>The device vouched for.</summary>
    public Guid DeviceId { get; }

    /// <summary>The device's identity key.</summary>
    public IdentityPublicKey Identity { get; }

    /// <summary>When the member's device signed it (informative).</summary>
    public DateTimeOffset IssuedAt { get; }

    /// <summary>Parses the shape (not the member's signature: see <see cref="VerifiesUnder"/>).</summary>
    /// <exception cref="MalformedMessageException">Wrong length or version, or a malformed identity key.</exception>
    /// <exception cref="SignatureVerificationException">The identity key's binding does not verify.</exception>
    public static DeviceCertificate Parse(ReadOnlySpan<byte> encoded)
    {
        if (encoded.Length != EncodedLength || encoded[0] != Version)
        {
            throw new MalformedMessageException($"A device certificate is {EncodedLength} bytes starting with version {Version}.");
        }

        return new DeviceCertificate(encoded.ToArray(), IdentityPublicKey.Parse(encoded.Slice(33, IdentityPublicKey.EncodedLength)));
    }

    /// <summary><see cref="Parse"/> without exceptions.</summary>
    public static bool TryParse(ReadOnlySpan<byte> encoded, out DeviceCertificate? certificate)
    {
        try
        {
            certificate = Parse(encoded);
            return true;
        }
        catch (CryptoException)
        {
            certificate = null;
            return false;
        }
    }

    /// <summary>Whether the member key <paramref name="memberPublicKey"/> signed this certificate.</summary>
    public bool VerifiesUnder(ReadOnlySpan<byte> memberPublicKey)
        => DomainSignature.Verify(memberPublicKey, DomainSignature.DeviceCertificate, _encoded.AsSpan(0, BodyLength), _encoded.AsSpan(BodyLength));

    /// <summary>
    /// Whether this certificate vouches for exactly this device: same member, same device id, same identity key, and
    /// signed by <paramref name="memberPublicKey"/>.
    /// </summary>
    public bool Vouches(Guid memberId, Guid deviceId, ReadOnlySpan<byte> identityKey, ReadOnlySpan<byte> memberPublicKey)
        => MemberId == memberId && DeviceId == deviceId && LibSodium.FixedTimeEquals(Identity.ToBytes(), identityKey) && VerifiesUnder(memberPublicKey);

    /// <summary>The encoding.</summary>
    public byte[] ToBytes() => _encoded.ToArray();

    internal static byte[] Body(Guid memberId, Guid deviceId, ReadOnlySpan<byte> identityKey, DateTimeOffset issuedAt)
    {
        var body = new byte[BodyLength];
        body[0] = Version;
        memberId.TryWriteBytes(body.AsSpan(1, 16), bigEndian: true, out _);
        deviceId.TryWriteBytes(body.AsSpan(17, 16), bigEndian: true, out _);
        identityKey.CopyTo(body.AsSpan(33));
        BinaryPrimitives.WriteInt64BigEndian(body.AsSpan(IssuedAtOffset), issuedAt.ToUnixTimeMilliseconds());
        return body;
    }
}
