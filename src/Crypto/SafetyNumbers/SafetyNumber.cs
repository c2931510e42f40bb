using System.Text;
using Messaging.Crypto.Keys;
using Messaging.Crypto.Primitives;

namespace Messaging.Crypto.SafetyNumbers;

/// <summary>
/// The number two users compare (read aloud or side by side) to check that each holds the other's real
/// identity key. Both sides compute the same 60 digits whatever the order of the parties; a changed
/// identity key or stable id gives a different number.
/// </summary>
/// <remarks>
/// Per party: <c>h = SHA-512(0x00 0x01 || signingKey || agreementKey || UTF8(stableId))</c>, then
/// <see cref="Iterations"/> times <c>h = SHA-512(h || signingKey || agreementKey)</c>; the first 30 bytes of
/// <c>h</c>, read as six big-endian 40-bit integers, each taken mod 100000 and written as 5 digits, give 30
/// digits. The two parties' 30 digits are sorted ordinally and concatenated. The iterations make a
/// targeted second-preimage search for a colliding key about 2^12 times more expensive.
/// </remarks>
public sealed class SafetyNumber : IEquatable<SafetyNumber>
{
    /// <summary>The number of SHA-512 iterations after the first hash.</summary>
    public const int Iterations = 5200;

    /// <summary>Number of digits in <see cref="Digits"/>.</summary>
    public const int DigitCount = 60;

    private const int Chunks = 6;

    /// <summary>Version prefix of the first hash input, a big-endian u16.</summary>
    private static readonly byte[] VersionPrefix = [0x00, 0x01];

    /// <summary>Version prefix of the member (signing key) fingerprint.</summary>
    private static readonly byte[] MemberVersionPrefix = [0x00, 0x02];

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly byte[] _digits;

    private SafetyNumber(string digits)
    {
        Digits = digits;
        Displayable = DecimalCode.Group(digits);
        _digits = Encoding.ASCII.GetBytes(digits);
    }

    /// <summary>The 60 digits without separators.</summary>
    public string Digits { get; }

    /// <summary>The 60 digits as 12 groups of 5 separated by single spaces, for display.</summary>
    public string Displayable { get; }

    /// <summary>Computes the safety number of a conversation between two identities.</summary>
    /// <param name="localStableId">A stable identifier of the local user (for example a user id); not empty.</param>
    /// <param name="localIdentity">The local identity key.</param>
    /// <param name="remoteStableId">A stable identifier of the remote user; not empty.</param>
    /// <param name="remoteIdentity">The remote identity key as received.</param>
    /// <returns>The same number as the remote side computes with the arguments swapped.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">A stable id is empty or not valid UTF-16 (a lone surrogate).</exception>
    public static SafetyNumber Compute(string localStableId, IdentityPublicKey localIdentity, string remoteStableId, IdentityPublicKey remoteIdentity)
    {
        ArgumentNullException.ThrowIfNull(localIdentity);
        ArgumentNullException.ThrowIfNull(remoteIdentity);
        var local = Fingerprint(localStableId, localIdentity, nameof(localStableId));
        var remote = Fingerprint(remoteStableId, remoteIdentity, nameof(remoteStableId));
        return string.CompareOrdinal(local, remote) <= 0
            ? new SafetyNumber(local + remote)
            : new SafetyNumber(remote + local);
    }

    /// <summary>
    /// The safety number between two <em>members</em> (version 0x0002): each party's fingerprint covers its member signing
    /// key (32 bytes) instead of a device identity, so comparing it once covers every device the member approves later.
    /// Per party: <c>h = SHA-512(0x00 0x02 || memberKey || UTF8(stableId))</c>, then <see cref="Iterations"/> times
    /// <c>h = SHA-512(h || memberKey)</c>; digits as for <see cref="Compute"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A key is not 32 bytes, or a stable id is empty or not valid UTF-16.</exception>
    public static SafetyNumber ComputeForMembers(string localStableId, ReadOnlySpan<byte> localMemberKey, string remoteStableId, ReadOnlySpan<byte> remoteMemberKey)
    {
        if (localMemberKey.Length != LibSodium.Ed25519PublicKeyBytes || remoteMemberKey.Length != LibSodium.Ed25519PublicKeyBytes)
        {
            throw new ArgumentException("A member signing key is 32 bytes.");
        }

        var local = Fingerprint(MemberVersionPrefix, localStableId, localMemberKey, nameof(localStableId));
        var remote = Fingerprint(MemberVersionPrefix, remoteStableId, remoteMemberKey, nameof(remoteStableId));
        return string.CompareOrdinal(local, remote) <= 0 ? new SafetyNumber(local + remote) : new SafetyNumber(remote + local);
    }

    /// <summary>
    /// One device identity's half of a safety number (version 0x0001): 30 digits as 6 groups of 5. It needs no second
    /// party, so a check that has no identity of its own (an attendance certificate checked without a key log) can show
    /// it; the same 30 digits are one half of every safety number computed with that identity and stable id, so they can
    /// be compared with what the identity's owner, or anyone who has a safety number with that device, reads.
    /// </summary>
    /// <param name="stableId">The stable identifier used in safety numbers (a member id, "D" format); not empty.</param>
    /// <param name="identity">The device identity key.</param>
    /// <returns>For example <c>85285 80891 30371 19415 72234 05508</c>.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">The stable id is empty or not valid UTF-16 (a lone surrogate).</exception>
    public static string IdentityFingerprint(string stableId, IdentityPublicKey identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        return DecimalCode.Group(Fingerprint(stableId, identity, nameof(stableId)));
    }

    /// <summary>
    /// Compares with a number the user typed or scanned. Spaces are ignored; any other difference, or a
    /// different length, is a mismatch. The comparison does not stop at the first differing digit.
    /// </summary>
    /// <param name="candidate">The other side's number, grouped or not.</param>
    /// <returns>True when the 60 digits are equal.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="candidate"/> is null.</exception>
    public bool Matches(string candidate)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        return DecimalCode.Matches(candidate, _digits);
    }

    /// <summary>Equality of the 60 digits, in time independent of where they differ.</summary>
    /// <param name="other">The number to compare with.</param>
    /// <returns>True when both numbers have the same digits.</returns>
    public bool Equals(SafetyNumber? other) => other is not null && LibSodium.FixedTimeEquals(_digits, other._digits);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as SafetyNumber);

    /// <inheritdoc />
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Digits);

    /// <summary>The <see cref="Displayable"/> form. A safety number is public: it is safe to log.</summary>
    /// <returns>The grouped digits.</returns>
    public override string ToString() => Displayable;

    /// <summary>The 30-digit fingerprint of one party (device identity, version 0x0001).</summary>
    internal static string Fingerprint(string stableId, IdentityPublicKey identity, string parameterName)
    {
        var signingKey = identity.SigningKey;
        var agreementKey = identity.AgreementKey;
        var keys = new byte[signingKey.Length + agreementKey.Length];
        signingKey.CopyTo(keys);
        agreementKey.CopyTo(keys.AsSpan(signingKey.Length));
        return Fingerprint(VersionPrefix, stableId, keys, parameterName);
    }

    /// <summary>
    /// The 30-digit fingerprint of one party: <c>h = SHA-512(version || keys || UTF8(stableId))</c>, then
    /// <see cref="Iterations"/> times <c>h = SHA-512(h || keys)</c>, read as six 40-bit chunks mod 100000.
    /// </summary>
    private static string Fingerprint(ReadOnlySpan<byte> version, string stableId, ReadOnlySpan<byte> keys, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(stableId, parameterName);
        if (stableId.Length == 0)
        {
            throw new ArgumentException("A stable id is not empty.", parameterName);
        }

        byte[] id;
        try
        {
            id = StrictUtf8.GetBytes(stableId);
        }
        catch (EncoderFallbackException ex)
        {
            throw new ArgumentException("A stable id must be valid UTF-16 (no lone surrogates).", parameterName, ex);
        }

        var first = new byte[version.Length + keys.Length + id.Length];
        version.CopyTo(first);
        keys.CopyTo(first.AsSpan(version.Length));
        id.CopyTo(first, version.Length + keys.Length);
        return DecimalCode.Digits(DecimalCode.IteratedSha512(first, keys, Iterations), Chunks);
    }
}
