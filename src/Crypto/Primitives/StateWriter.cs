using System.Buffers.Binary;

namespace Messaging.Crypto.Primitives;

/// <summary>
/// Writes a serialized state into a buffer allocated at its exact final length, so that no growing buffer leaves
/// partial copies of keys behind. Writing past the end, or not filling the buffer, is a bug and throws.
/// </summary>
internal ref struct StateWriter(Span<byte> destination)
{
    private readonly Span<byte> _destination = destination;
    private int _position;

    /// <summary>The next <paramref name="count"/> bytes, for the caller to fill.</summary>
    public Span<byte> Next(int count)
    {
        var slice = _destination.Slice(_position, count);
        _position += count;
        return slice;
    }

    public void Write(ReadOnlySpan<byte> value) => value.CopyTo(Next(value.Length));

    public void Write(byte value) => Next(1)[0] = value;

    public void WriteUInt16(ushort value) => BinaryPrimitives.WriteUInt16BigEndian(Next(2), value);

    public void WriteUInt32(uint value) => BinaryPrimitives.WriteUInt32BigEndian(Next(4), value);

    public void WriteInt64(long value) => BinaryPrimitives.WriteInt64BigEndian(Next(8), value);

    public readonly void EnsureEnd()
    {
        if (_position != _destination.Length)
        {
            throw new InvalidOperationException("The state encoding did not fill its computed length.");
        }
    }
}
