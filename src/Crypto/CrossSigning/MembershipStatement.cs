using System.Buffers.Binary;
using Messaging.Crypto.Primitives;

namespace Messaging.Crypto.CrossSigning;

/// <summary>What a <see cref="MembershipStatement"/> does to a conversation's members.</summary>
public enum MembershipOperation : byte
{
    /// <summary>Index 0: the creator creates the conversation with its full member list.</summary>
    Create = 1,

    /// <summary>A current member adds one member.</summary>
    Add = 2,

    /// <summary>A member removes itself, or the creator removes another member.</summary>
    Remove = 3,

    /// <summary>Index 0 of a conversation created before membership was signed: a member states the creator and the
    /// members the server listed when it first saw the conversation (trust on first use).</summary>
    LegacySnapshot = 4,
}

/// <summary>
/// One membership change of a conversation, signed by the acting member's signing key (docs/crypto.md §12). Encoding
/// (integers big-endian, GUIDs in RFC 4122 order):
/// <c>0x01 || conversation id (16) || index (u64) || previous statement hash (32; zeros at index 0) || actor member id (16)
/// || operation (1) || creator member id (16; zeros for Add/Remove) || collective (1: 0 or 1; 0 for Add/Remove) ||
/// member count (u16) || member ids (16 each) || signature (64)</c>. Create and LegacySnapshot list every member, sorted
/// by their 16 bytes, without repeats; Add and Remove name exactly one. The signature is Ed25519 under the actor's member
/// key over <c>"messaging.conversation-membership.v1" || 0x00 || everything before it</c>; a statement's hash (what the
/// next one names as previous) is SHA-256 of its whole encoding, signature included.
/// </summary>
public sealed class MembershipStatement
{
    /// <summary>Format version.</summary>
    public const byte Version = 0x01;

    /// <summary>Length of a statement hash.</summary>
    public const int HashLength = 32;

    /// <summary>Most members a Create or LegacySnapshot statement lists (the server's own limit is lower).</summary>
    public const int MaxMembers = 1000;

    /// <summary>Length of a statement that lists no member (the fixed fields and the signature).</summary>
    public const int FixedLength = HeaderLength + LibSodium.Ed25519SignatureBytes;

    /// <summary>Length of the longest statement.</summary>
    public const int MaxEncodedLength = FixedLength + (16 * MaxMembers);

    private const int HeaderLength = 1 + 16 + 8 + HashLength + 16 + 1 + 16 + 1 + 2;
    private const int IndexOffset = 17;
    private const int PreviousOffset = 25;
    private const int ActorOffset = PreviousOffset + HashLength;
    private const int OperationOffset = ActorOffset + 16;
    private const int CreatorOffset = OperationOffset + 1;
    private const int CollectiveOffset = CreatorOffset + 16;
    private const int CountOffset = CollectiveOffset + 1;

    private readonly byte[] _encoded;

    private MembershipStatement(byte[] encoded, List<Guid> members)
    {
        _encoded = encoded;
        ConversationId = new Guid(encoded.AsSpan(1, 16), bigEndian: true);
        Index = BinaryPrimitives.ReadInt64BigEndian(encoded.AsSpan(IndexOffset, 8));
        Actor = new Guid(encoded.AsSpan(ActorOffset, 16), bigEndian: true);
        Operation = (MembershipOperation)encoded[OperationOffset];
        Creator = new Guid(encoded.AsSpan(CreatorOffset, 16), bigEndian: true);
        Collective = encoded[CollectiveOffset] == 1;
        Members = members;
    }

    /// <summary>The conversation.</summary>
    public Guid ConversationId { get; }

    /// <summary>Its place in the conversation's log (0 for the first).</summary>
    public long Index { get; }

    /// <summary>The hash of the statement before it (32 zero bytes at index 0).</summary>
    public ReadOnlySpan<byte> PreviousHash => _encoded.AsSpan(PreviousOffset, HashLength);

    /// <summary>The member who made the change and signed it.</summary>
    public Guid Actor { get; }

    /// <summary>The change.</summary>
    public MembershipOperation Operation { get; }

    /// <summary>The conversation's creator (Create and LegacySnapshot; empty otherwise).</summary>
    public Guid Creator { get; }

    /// <summary>Whether the conversation is collective (Create and LegacySnapshot; false otherwise).</summary>
    public bool Collective { get; }

    /// <summary>Every member (Create, LegacySnapshot), or the one added or removed (Add, Remove).</summary>
    public IReadOnlyList<Guid> Members { get; }

    /// <summary>Parses the shape (not the signature: see <see cref="VerifiesUnder"/>; not its place in a log: see
    /// <see cref="MembershipLog"/>).</summary>
    /// <exception cref="MalformedMessageException">Wrong version or length, an unknown operation, a member list of the
    /// wrong size, unsorted or repeated, or fields that do not belong to the operation.</exception>
    public static MembershipStatement Parse(ReadOnlySpan<byte> encoded)
    {
        if (encoded.Length < FixedLength || encoded.Length > MaxEncodedLength || encoded[0] != Version)
        {
            throw new MalformedMessageException($"A membership statement is {FixedLength} to {MaxEncodedLength} bytes starting with version {Version}.");
        }

        var count = BinaryPrimitives.ReadUInt16BigEndian(encoded[CountOffset..]);
        if (encoded.Length != FixedLength + (16 * count))
        {
            throw new MalformedMessageException("A membership statement's length does not match its member count.");
        }

        var operation = (MembershipOperation)encoded[OperationOffset];
        var lists = operation is MembershipOperation.Create or MembershipOperation.LegacySnapshot;
        var creatorEmpty = encoded.Slice(CreatorOffset, 16).IndexOfAnyExcept((byte)0) < 0;
        if (!Enum.IsDefined(operation) || encoded[CollectiveOffset] > 1
            || (lists ? count is 0 or > MaxMembers || creatorEmpty : count != 1 || !creatorEmpty || encoded[CollectiveOffset] != 0)
            || BinaryPrimitives.ReadInt64BigEndian(encoded[IndexOffset..]) < 0)
        {
            throw new MalformedMessageException("A membership statement's operation, creator, collective flag and member count do not fit together.");
        }

        var members = new List<Guid>(count);
        for (var i = 0; i < count; i++)
        {
            var member = encoded.Slice(HeaderLength + (16 * i), 16);
            if (i > 0 && member.SequenceCompareTo(encoded.Slice(HeaderLength + (16 * (i - 1)), 16)) <= 0)
            {
                throw new MalformedMessageException("A membership statement lists its members sorted by their bytes, each once.");
            }

            members.Add(new Guid(member, bigEndian: true));
        }

        if (members.Contains(Guid.Empty) || new Guid(encoded.Slice(ActorOffset, 16), bigEndian: true) == Guid.Empty)
        {
            throw new MalformedMessageException("A membership statement names no empty member id.");
        }

        return new MembershipStatement(encoded.ToArray(), members);
    }

    /// <summary><see cref="Parse"/> without exceptions.</summary>
    public static bool TryParse(ReadOnlySpan<byte> encoded, out MembershipStatement? statement)
    {
        try
        {
            statement = Parse(encoded);
            return true;
        }
        catch (CryptoException)
        {
            statement = null;
            return false;
        }
    }

    /// <summary>Whether the member key <paramref name="memberPublicKey"/> (the actor's) signed this statement.</summary>
    public bool VerifiesUnder(ReadOnlySpan<byte> memberPublicKey)
    {
        var body = _encoded.Length - LibSodium.Ed25519SignatureBytes;
        return memberPublicKey.Length == MemberSigningKey.PublicKeyLength
            && DomainSignature.Verify(memberPublicKey, DomainSignature.ConversationMembership, _encoded.AsSpan(0, body), _encoded.AsSpan(body));
    }

    /// <summary>SHA-256 of the whole encoding: what the next statement names as previous.</summary>
    public byte[] Hash()
    {
        var hash = new byte[HashLength];
        LibSodium.Sha256(hash, _encoded);
        return hash;
    }

    /// <summary>The encoding.</summary>
    public byte[] ToBytes() => _encoded.ToArray();

    /// <summary>Whether two statements are the same bytes.</summary>
    public bool SameAs(MembershipStatement other) => other is not null && _encoded.AsSpan().SequenceEqual(other._encoded);

    internal static byte[] Body(Guid conversationId, long index, ReadOnlySpan<byte> previousHash, Guid actor, MembershipOperation operation,
        Guid creator, bool collective, IEnumerable<Guid> members)
    {
        if (previousHash.Length != HashLength || index < 0 || conversationId == Guid.Empty)
        {
            throw new ArgumentException("A membership statement names its conversation, a non-negative index and a 32-byte previous hash.");
        }

        var sorted = members.Distinct().Select(m => m.ToByteArray(bigEndian: true)).ToList();
        sorted.Sort((a, b) => a.AsSpan().SequenceCompareTo(b));
        var body = new byte[HeaderLength + (16 * sorted.Count)];
        body[0] = Version;
        conversationId.TryWriteBytes(body.AsSpan(1, 16), bigEndian: true, out _);
        BinaryPrimitives.WriteInt64BigEndian(body.AsSpan(IndexOffset), index);
        previousHash.CopyTo(body.AsSpan(PreviousOffset));
        actor.TryWriteBytes(body.AsSpan(ActorOffset, 16), bigEndian: true, out _);
        body[OperationOffset] = (byte)operation;
        creator.TryWriteBytes(body.AsSpan(CreatorOffset, 16), bigEndian: true, out _);
        body[CollectiveOffset] = collective ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt16BigEndian(body.AsSpan(CountOffset), (ushort)sorted.Count);
        for (var i = 0; i < sorted.Count; i++)
        {
            sorted[i].CopyTo(body, HeaderLength + (16 * i));
        }

        return body;
    }

    internal static MembershipStatement FromSigned(byte[] body, byte[] signature) => Parse([.. body, .. signature]);
}
