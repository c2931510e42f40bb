using System.Buffers.Binary;

namespace Messaging.Crypto.Primitives;

/// <summary>A bounds-checked reader over a serialized state: any overrun is an <see cref="InvalidStateFormatException"/>.</summary>
internal ref struct StateReader(ReadOnlySpan<byte> data)
{
    private readonly ReadOnlySpan<byte> _data = data;
    private int _position;

    public readonly int Remaining => _data.Length - _position;

    public ReadOnlySpan<byte> Take(int count)
    {
        if (count < 0 || count > Remaining)
        {
            throw new InvalidStateFormatException("The encoded state is truncated.");
        }

        var slice = _data.Slice(_position, count);
        _position += count;
        return slice;
    }

    public uint UInt32() => BinaryPrimitives.ReadUInt32BigEndian(Take(4));

    public long Int64() => BinaryPrimitives.ReadInt64BigEndian(Take(8));

    public ushort UInt16() => BinaryPrimitives.ReadUInt16BigEndian(Take(2));

    public readonly void EnsureEnd()
    {
        if (Remaining != 0)
        {
            throw new InvalidStateFormatException("The encoded state has trailing bytes.");
        }
    }
}
