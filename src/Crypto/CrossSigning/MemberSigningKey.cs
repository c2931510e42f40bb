using Messaging.Crypto.Keys;
using Messaging.Crypto.Primitives;

namespace Messaging.Crypto.CrossSigning;

/// <summary>
/// A member's signing key (Ed25519): created by the member's first device, held by every device the member approved,
/// and used only to sign <see cref="MemberKeyAnnouncement"/>s, <see cref="DeviceCertificate"/>s and conversation
/// <see cref="MembershipStatement"/>s. Contacts pin its
/// public half (trust on first use, then safety numbers), so a device no existing device of the member signed is never
/// trusted, whoever enrolled it. The secret is zeroed on <see cref="Dispose"/>.
/// </summary>
public sealed class MemberSigningKey : IDisposable
{
    /// <summary>Length of the seed the key is derived from (RFC 8032 secret key).</summary>
    public const int SeedLength = LibSodium.Ed25519SeedBytes;

    /// <summary>Length of the public key.</summary>
    public const int PublicKeyLength = LibSodium.Ed25519PublicKeyBytes;

    /// <summary>Version byte of a sealed grant's plaintext.</summary>
    public const byte GrantVersion = 0x01;

    private const int GrantPlaintextLength = 1 + 16 + SeedLength;

    private readonly byte[] _seed;
    private readonly byte[] _secret = new byte[LibSodium.Ed25519SecretKeyBytes];
    private bool _disposed;

    private MemberSigningKey(Guid memberId, byte[] seed)
    {
        MemberId = memberId;
        _seed = seed;
        PublicKey = new byte[PublicKeyLength];
        LibSodium.Ed25519SeedKeyPair(PublicKey, _secret, seed);
    }

    /// <summary>The member this key speaks for.</summary>
    public Guid MemberId { get; }

    /// <summary>The 32-byte Ed25519 public key contacts pin.</summary>
    public byte[] PublicKey { get; }

    /// <summary>A fresh key from libsodium's CSPRNG.</summary>
    /// <exception cref="ArgumentException"><paramref name="memberId"/> is empty.</exception>
    public static MemberSigningKey Generate(Guid memberId)
    {
        RequireMember(memberId);
        var seed = new byte[SeedLength];
        LibSodium.RandomBytes(seed);
        return new MemberSigningKey(memberId, seed);
    }

    /// <summary>Rebuilds the key from its seed (the device's key store, a grant, test vectors).</summary>
    /// <exception cref="ArgumentException"><paramref name="memberId"/> is empty.</exception>
    /// <exception cref="InvalidKeyException">The seed is not 32 bytes.</exception>
    public static MemberSigningKey FromSeed(Guid memberId, ReadOnlySpan<byte> seed)
    {
        RequireMember(memberId);
        if (seed.Length != SeedLength)
        {
            throw new InvalidKeyException("A member signing key seed is 32 bytes.");
        }

        return new MemberSigningKey(memberId, seed.ToArray());
    }

    /// <summary>Signs the announcement that publishes this key for its member.</summary>
    public MemberKeyAnnouncement Announce(DateTimeOffset issuedAt)
    {
        var body = MemberKeyAnnouncement.Body(MemberId, PublicKey, issuedAt);
        return MemberKeyAnnouncement.Parse([.. body, .. Sign(DomainSignature.MemberKey, body)]);
    }

    /// <summary>Vouches for one device of this member: signs its id and identity key.</summary>
    /// <exception cref="ArgumentException"><paramref name="deviceId"/> is empty.</exception>
    public DeviceCertificate Certify(Guid deviceId, IdentityPublicKey identity, DateTimeOffset issuedAt)
    {
        ArgumentNullException.ThrowIfNull(identity);
        if (deviceId == Guid.Empty)
        {
            throw new ArgumentException("A device id is not empty.", nameof(deviceId));
        }

        var body = DeviceCertificate.Body(MemberId, deviceId, identity.ToBytes(), issuedAt);
        return DeviceCertificate.Parse([.. body, .. Sign(DomainSignature.DeviceCertificate, body)]);
    }

    /// <summary>Signs a conversation membership statement made by this key's member (the actor); see
    /// <see cref="MembershipLog"/> for the statements a log accepts.</summary>
    /// <exception cref="ArgumentException">An empty conversation id, a negative index, a previous hash that is not 32
    /// bytes, or a member list the operation does not take.</exception>
    public MembershipStatement SignMembership(Guid conversationId, long index, ReadOnlySpan<byte> previousHash, MembershipOperation operation,
        Guid creator, bool collective, IEnumerable<Guid> members)
    {
        ArgumentNullException.ThrowIfNull(members);
        var body = MembershipStatement.Body(conversationId, index, previousHash, MemberId, operation, creator, collective, members);
        try
        {
            return MembershipStatement.FromSigned(body, Sign(DomainSignature.ConversationMembership, body));
        }
        catch (MalformedMessageException ex)
        {
            throw new ArgumentException(ex.Message, nameof(members), ex);
        }
    }

    /// <summary>
    /// Seals this key to a device of the member (crypto_box_seal to its X25519 identity agreement key) so that the device,
    /// once approved, can approve the next one. The plaintext is <c>0x01 || member id (16) || seed (32)</c>.
    /// </summary>
    public byte[] SealTo(IdentityPublicKey device)
    {
        ArgumentNullException.ThrowIfNull(device);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var plaintext = new byte[GrantPlaintextLength];
        try
        {
            plaintext[0] = GrantVersion;
            MemberId.TryWriteBytes(plaintext.AsSpan(1, 16), bigEndian: true, out _);
            _seed.CopyTo(plaintext, 17);
            return LibSodium.BoxSeal(plaintext, device.AgreementKey);
        }
        finally
        {
            LibSodium.Zero(plaintext);
        }
    }

    /// <summary>Opens a grant sealed to <paramref name="device"/> for <paramref name="memberId"/>.</summary>
    /// <exception cref="MessageAuthenticationException">It is not sealed to this device, or was altered.</exception>
    /// <exception cref="MalformedMessageException">It does not hold a key of <paramref name="memberId"/>.</exception>
    public static MemberSigningKey OpenGrant(IdentityKeyPair device, Guid memberId, ReadOnlySpan<byte> sealedGrant)
    {
        ArgumentNullException.ThrowIfNull(device);
        var plaintext = device.OpenSealed(sealedGrant) ?? throw new MessageAuthenticationException("The member key grant does not open with this device's key.");
        try
        {
            if (plaintext.Length != GrantPlaintextLength || plaintext[0] != GrantVersion || new Guid(plaintext.AsSpan(1, 16), bigEndian: true) != memberId)
            {
                throw new MalformedMessageException("The member key grant is not a key of this member.");
            }

            return FromSeed(memberId, plaintext.AsSpan(17, SeedLength));
        }
        finally
        {
            LibSodium.Zero(plaintext);
        }
    }

    /// <summary>Copies the seed out, for the device's encrypted key store only.</summary>
    public byte[] ExportSeed()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _seed.ToArray();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (!_disposed)
        {
            LibSodium.Zero(_seed);
            LibSodium.Zero(_secret);
            _disposed = true;
        }
    }

    private byte[] Sign(string label, ReadOnlySpan<byte> body)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return DomainSignature.Sign(_secret, label, body);
    }

    private static void RequireMember(Guid memberId)
    {
        if (memberId == Guid.Empty)
        {
            throw new ArgumentException("A member id is not empty.", nameof(memberId));
        }
    }
}
