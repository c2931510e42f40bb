using System.Buffers.Binary;
using System.Text;

namespace Messaging.Contracts;

/// <summary>
/// Builds the canonical byte encodings hashed by the key log and the audit log: big-endian integers, GUIDs in RFC 4122
/// (big-endian) byte order, strings as UTF-8 and byte strings each prefixed with their length as u32 big-endian.
/// </summary>
public sealed class CanonicalWriter
{
    private readonly List<byte> _bytes = new(256);

    /// <summary>Appends one byte.</summary>
    public CanonicalWriter UInt8(byte value)
    {
        _bytes.Add(value);
        return this;
    }

    /// <summary>Appends a u64, big-endian.</summary>
    public CanonicalWriter UInt64(ulong value)
    {
        Span<byte> buffer = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(buffer, value);
        return Raw(buffer);
    }

    /// <summary>Appends an i64, big-endian two's complement.</summary>
    public CanonicalWriter Int64(long value)
    {
        Span<byte> buffer = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(buffer, value);
        return Raw(buffer);
    }

    /// <summary>Appends the 16 bytes of a GUID in RFC 4122 order.</summary>
    public CanonicalWriter Guid(Guid value)
    {
        Span<byte> buffer = stackalloc byte[16];
        value.TryWriteBytes(buffer, bigEndian: true, out _);
        return Raw(buffer);
    }

    /// <summary>Appends u32 length || bytes.</summary>
    public CanonicalWriter Bytes(ReadOnlySpan<byte> value)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(length, (uint)value.Length);
        Raw(length);
        return Raw(value);
    }

    /// <summary>Appends u32 length || UTF-8 bytes; null is encoded like the empty string preceded by a 0x00 flag, a
    /// present string by a 0x01 flag.</summary>
    public CanonicalWriter String(string? value)
    {
        if (value is null)
        {
            UInt8(0);
            return Bytes([]);
        }

        UInt8(1);
        return Bytes(Encoding.UTF8.GetBytes(value));
    }

    /// <summary>Appends bytes with no length prefix (fixed-size fields only).</summary>
    public CanonicalWriter Raw(ReadOnlySpan<byte> value)
    {
        foreach (var b in value)
        {
            _bytes.Add(b);
        }

        return this;
    }

    /// <summary>The encoding so far.</summary>
    public byte[] ToArray() => [.. _bytes];
}
