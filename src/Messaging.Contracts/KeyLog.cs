using System.Security.Cryptography;

namespace Messaging.Contracts;

/// <summary>What a key-log entry records about a device key.</summary>
public enum KeyLogAction
{
    /// <summary>A device enrolled with this identity key.</summary>
    Added = 1,

    /// <summary>The device holding this identity key was revoked.</summary>
    Revoked = 2,

    /// <summary>The member published a signing key: <see cref="KeyLogEntry.IdentityKey"/> holds the 121-byte member key
    /// announcement, <see cref="KeyLogEntry.DeviceId"/> the publishing device. A later one for the same member is a
    /// reset.</summary>
    MemberKey = 3,

    /// <summary>A device of the member was vouched for: <see cref="KeyLogEntry.IdentityKey"/> holds the 234-byte device
    /// certificate, <see cref="KeyLogEntry.DeviceId"/> the certified device.</summary>
    DeviceCertified = 4,
}

/// <summary>One entry of the append-only, hash-chained key log.</summary>
/// <param name="Index">0 for the first entry, then consecutive.</param>
/// <param name="Timestamp">When the server appended it (millisecond precision).</param>
/// <param name="Action">Added or revoked.</param>
/// <param name="DeviceId">The device.</param>
/// <param name="MemberId">The member owning the device.</param>
/// <param name="IdentityKey">The device's 129-byte identity public key; for <see cref="KeyLogAction.MemberKey"/> and
/// <see cref="KeyLogAction.DeviceCertified"/> the signed record the action names (the hash covers it the same way).</param>
/// <param name="PreviousHash">The previous entry's hash; 32 zero bytes for index 0.</param>
/// <param name="Hash">SHA-256 of the canonical encoding (see <see cref="KeyLogHash"/>).</param>
public sealed record KeyLogEntry(
    long Index,
    DateTimeOffset Timestamp,
    KeyLogAction Action,
    Guid DeviceId,
    Guid MemberId,
    byte[] IdentityKey,
    byte[] PreviousHash,
    byte[] Hash);

/// <summary>
/// The key log's hash: <c>SHA-256( u32len||"messaging.key-log.v1" || u64 index || i64 unix-ms timestamp || u8 action ||
/// device id (16, RFC 4122 order) || member id (16) || u32len||identity key || previous hash (32) )</c>, integers
/// big-endian. Clients recompute it to verify the chain.
/// </summary>
public static class KeyLogHash
{
    /// <summary>Domain label that starts every encoding.</summary>
    public const string Label = "messaging.key-log.v1";

    /// <summary>Length of a hash.</summary>
    public const int HashLength = 32;

    /// <summary>The previous hash of entry 0.</summary>
    public static byte[] Genesis() => new byte[HashLength];

    /// <summary>Computes the hash of an entry from its fields (its own <see cref="KeyLogEntry.Hash"/> is ignored).</summary>
    public static byte[] Compute(long index, DateTimeOffset timestamp, KeyLogAction action, Guid deviceId, Guid memberId,
        ReadOnlySpan<byte> identityKey, ReadOnlySpan<byte> previousHash)
    {
        var encoding = new CanonicalWriter()
            .Bytes(System.Text.Encoding.UTF8.GetBytes(Label))
            .UInt64((ulong)index)
            .Int64(timestamp.ToUnixTimeMilliseconds())
            .UInt8((byte)action)
            .Guid(deviceId)
            .Guid(memberId)
            .Bytes(identityKey)
            .Raw(previousHash)
            .ToArray();
        return SHA256.HashData(encoding);
    }

    /// <summary>Recomputes the hash of <paramref name="entry"/>.</summary>
    public static byte[] Compute(KeyLogEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return Compute(entry.Index, entry.Timestamp, entry.Action, entry.DeviceId, entry.MemberId, entry.IdentityKey, entry.PreviousHash);
    }

    /// <summary>
    /// Verifies that <paramref name="entries"/> is a consecutive chain starting at <paramref name="expectedIndex"/> whose
    /// first previous hash is <paramref name="expectedPreviousHash"/>. Returns the index of the first bad entry, or null.
    /// </summary>
    public static long? FindFirstBroken(IEnumerable<KeyLogEntry> entries, long expectedIndex, ReadOnlySpan<byte> expectedPreviousHash)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var previous = expectedPreviousHash.ToArray();
        var index = expectedIndex;
        foreach (var entry in entries)
        {
            if (entry.Index != index
                || !CryptographicOperations.FixedTimeEquals(entry.PreviousHash, previous)
                || !CryptographicOperations.FixedTimeEquals(Compute(entry), entry.Hash))
            {
                return index;
            }

            previous = entry.Hash;
            index++;
        }

        return null;
    }
}
