using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace Messaging.Crypto.Attestations;

/// <summary>
/// A typed statement (for example an <c>attendance-notice</c>) with named, typed fields, and exactly one
/// byte encoding: fields are kept sorted by name, and <see cref="Decode"/> refuses anything that
/// <see cref="Encode"/> would not have produced. Sign it with <see cref="SignedAttestation.Sign"/>.
/// </summary>
/// <remarks>
/// Encoding, version 1: <c>0x01 || u16 len || type name || u16 field count || fields</c>, each field
/// <c>u16 len || name || tag || u32 len || value</c>, all integers big-endian, fields in strictly
/// increasing ordinal order of their names. Type and field names are 1 to <see cref="MaxNameLength"/>
/// characters from <c>A–Z a–z 0–9 . _ -</c>.
/// </remarks>
public sealed class Attestation : IEquatable<Attestation>
{
    /// <summary>The encoding's version byte.</summary>
    public const byte FormatVersion = 0x01;

    /// <summary>The longest type or field name.</summary>
    public const int MaxNameLength = 128;

    /// <summary>The largest encoding accepted, so a hostile input cannot make the decoder allocate without bound.</summary>
    public const int MaxEncodedLength = 1024 * 1024;

    /// <summary>The smallest field: a 1-character name, the tag, an empty value.</summary>
    private const int MinimumFieldLength = 2 + 1 + 1 + 4;

    private readonly byte[] _encoded;
    private readonly KeyValuePair<string, AttestationValue>[] _fields;

    private Attestation(string typeName, KeyValuePair<string, AttestationValue>[] sortedFields, byte[] encoded)
    {
        TypeName = typeName;
        _fields = sortedFields;
        _encoded = encoded;
    }

    /// <summary>The type of statement, for example <c>attendance-notice</c>. Part of the signature label.</summary>
    public string TypeName { get; }

    /// <summary>The fields, in canonical order (ordinal by name).</summary>
    public IReadOnlyList<KeyValuePair<string, AttestationValue>> Fields => _fields;

    /// <summary>The value of a field.</summary>
    /// <param name="name">The field name.</param>
    /// <returns>The value.</returns>
    /// <exception cref="KeyNotFoundException">There is no field with this name.</exception>
    public AttestationValue this[string name]
        => TryGetValue(name, out var value) ? value : throw new KeyNotFoundException("The attestation has no field with this name.");

    /// <summary>Creates an attestation; the order of <paramref name="fields"/> does not matter.</summary>
    /// <param name="typeName">The statement type: 1 to 128 characters from <c>A–Z a–z 0–9 . _ -</c>.</param>
    /// <param name="fields">The fields; names follow the same rule as the type name and are unique.</param>
    /// <returns>The attestation.</returns>
    /// <exception cref="ArgumentNullException">An argument, a name or a value is null.</exception>
    /// <exception cref="ArgumentException">A name is invalid or repeated, there are more than 65535 fields, or the
    /// encoding would exceed <see cref="MaxEncodedLength"/>.</exception>
    public static Attestation Create(string typeName, IEnumerable<KeyValuePair<string, AttestationValue>> fields)
    {
        ArgumentNullException.ThrowIfNull(typeName);
        ArgumentNullException.ThrowIfNull(fields);
        if (!IsValidName(typeName))
        {
            throw new ArgumentException("A type name is 1 to 128 characters from A-Z a-z 0-9 . _ -.", nameof(typeName));
        }

        var sorted = fields.ToArray();
        foreach (var field in sorted)
        {
            ArgumentNullException.ThrowIfNull(field.Key, nameof(fields));
            ArgumentNullException.ThrowIfNull(field.Value, nameof(fields));
            if (!IsValidName(field.Key))
            {
                throw new ArgumentException("A field name is 1 to 128 characters from A-Z a-z 0-9 . _ -.", nameof(fields));
            }
        }

        // Names are ASCII, so ordinal UTF-16 order is the byte order of their UTF-8 encoding.
        Array.Sort(sorted, (a, b) => string.CompareOrdinal(a.Key, b.Key));
        for (var i = 1; i < sorted.Length; i++)
        {
            if (string.Equals(sorted[i - 1].Key, sorted[i].Key, StringComparison.Ordinal))
            {
                throw new ArgumentException($"The field name '{sorted[i].Key}' appears more than once.", nameof(fields));
            }
        }

        if (sorted.Length > ushort.MaxValue)
        {
            throw new ArgumentException("An attestation has at most 65535 fields.", nameof(fields));
        }

        return new Attestation(typeName, sorted, EncodeFields(typeName, sorted));
    }

    /// <summary>Decodes a canonical encoding.</summary>
    /// <param name="encoded">The bytes from <see cref="Encode"/>.</param>
    /// <returns>The attestation, whose <see cref="Encode"/> gives back exactly <paramref name="encoded"/>.</returns>
    /// <exception cref="MalformedAttestationException">The bytes are not a canonical version-1 encoding.</exception>
    public static Attestation Decode(ReadOnlySpan<byte> encoded)
    {
        if (encoded.Length > MaxEncodedLength)
        {
            throw new MalformedAttestationException("The attestation is larger than the accepted maximum.");
        }

        var reader = new Reader(encoded);
        var version = reader.ReadByte();
        if (version != FormatVersion)
        {
            throw new MalformedAttestationException(string.Create(
                CultureInfo.InvariantCulture, $"Unknown attestation format version 0x{version:x2}."));
        }

        var typeName = ReadName(ref reader, "type name");
        var count = reader.ReadUInt16();
        if (count > reader.Remaining / MinimumFieldLength)
        {
            throw new MalformedAttestationException("The attestation declares more fields than it holds.");
        }

        var fields = new KeyValuePair<string, AttestationValue>[count];
        ReadOnlySpan<byte> previousName = default;
        for (var i = 0; i < count; i++)
        {
            var nameBytes = reader.ReadBytes(reader.ReadUInt16());
            if (i > 0 && nameBytes.SequenceCompareTo(previousName) <= 0)
            {
                throw new MalformedAttestationException("Attestation fields are not in strictly increasing order of their names (unsorted or duplicate).");
            }

            var name = ToName(nameBytes, "field name");
            var tag = reader.ReadByte();
            var value = reader.ReadBytes(checked((int)Math.Min(reader.ReadUInt32(), int.MaxValue)));
            fields[i] = new(name, AttestationValue.ReadValue(tag, value));
            previousName = nameBytes;
        }

        if (!reader.AtEnd)
        {
            throw new MalformedAttestationException("Trailing bytes after the attestation.");
        }

        return new Attestation(typeName, fields, encoded.ToArray());
    }

    /// <summary>Tries to find a field.</summary>
    /// <param name="name">The field name.</param>
    /// <param name="value">The value, when found.</param>
    /// <returns>Whether the field exists.</returns>
    public bool TryGetValue(string name, [NotNullWhen(true)] out AttestationValue? value)
    {
        foreach (var field in _fields)
        {
            if (string.Equals(field.Key, name, StringComparison.Ordinal))
            {
                value = field.Value;
                return true;
            }
        }

        value = null;
        return false;
    }

    /// <summary>The canonical encoding (a copy).</summary>
    /// <returns>The bytes.</returns>
    public byte[] Encode() => (byte[])_encoded.Clone();

    /// <summary>Equality of the canonical encodings.</summary>
    /// <param name="other">The attestation to compare with.</param>
    /// <returns>True when both encode to the same bytes.</returns>
    public bool Equals(Attestation? other) => other is not null && _encoded.AsSpan().SequenceEqual(other._encoded);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as Attestation);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = default(HashCode);
        hash.AddBytes(_encoded);
        return hash.ToHashCode();
    }

    /// <summary>The type and field names only: values may be personal data and must not reach logs.</summary>
    /// <returns>For example <c>attendance-notice(attended, case-ref)</c>.</returns>
    public override string ToString() => $"{TypeName}({string.Join(", ", _fields.Select(f => f.Key))})";

    internal ReadOnlySpan<byte> EncodedSpan => _encoded;

    internal static bool IsValidName(string name)
    {
        if (name.Length is 0 or > MaxNameLength)
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    private static byte[] EncodeFields(string typeName, KeyValuePair<string, AttestationValue>[] sorted)
    {
        long length = 1 + 2 + typeName.Length + 2;
        foreach (var (name, value) in sorted)
        {
            length += 2 + name.Length + 1 + 4 + value.EncodedValueLength;
        }

        if (length > MaxEncodedLength)
        {
            throw new ArgumentException("The attestation's encoding would exceed the accepted maximum.", nameof(sorted));
        }

        var output = new byte[length];
        var position = 0;
        output[position++] = FormatVersion;
        position = WriteName(output, position, typeName);
        BinaryPrimitives.WriteUInt16BigEndian(output.AsSpan(position), (ushort)sorted.Length);
        position += 2;
        foreach (var (name, value) in sorted)
        {
            position = WriteName(output, position, name);
            output[position++] = (byte)value.Kind;
            var valueLength = value.EncodedValueLength;
            BinaryPrimitives.WriteUInt32BigEndian(output.AsSpan(position), (uint)valueLength);
            position += 4;
            value.WriteValue(output.AsSpan(position, valueLength));
            position += valueLength;
        }

        return output;
    }

    private static int WriteName(byte[] output, int position, string name)
    {
        BinaryPrimitives.WriteUInt16BigEndian(output.AsSpan(position), (ushort)name.Length);
        position += 2;
        return position + Encoding.ASCII.GetBytes(name, output.AsSpan(position));
    }

    private static string ReadName(ref Reader reader, string what) => ToName(reader.ReadBytes(reader.ReadUInt16()), what);

    private static string ToName(ReadOnlySpan<byte> bytes, string what)
    {
        // Names are ASCII: a byte >= 0x80 is refused here rather than decoded.
        var name = Encoding.Latin1.GetString(bytes);
        if (!IsValidName(name))
        {
            throw new MalformedAttestationException($"The attestation's {what} is not 1 to 128 characters from A-Z a-z 0-9 . _ -.");
        }

        return name;
    }

    /// <summary>A bounds-checked big-endian reader whose every overrun is a <see cref="MalformedAttestationException"/>.</summary>
    private ref struct Reader(ReadOnlySpan<byte> buffer)
    {
        private readonly ReadOnlySpan<byte> _buffer = buffer;
        private int _position;

        public readonly bool AtEnd => _position == _buffer.Length;

        public readonly int Remaining => _buffer.Length - _position;

        public byte ReadByte() => ReadBytes(1)[0];

        public ushort ReadUInt16() => BinaryPrimitives.ReadUInt16BigEndian(ReadBytes(2));

        public uint ReadUInt32() => BinaryPrimitives.ReadUInt32BigEndian(ReadBytes(4));

        public ReadOnlySpan<byte> ReadBytes(int count)
        {
            if (count > _buffer.Length - _position)
            {
                throw new MalformedAttestationException("The attestation is truncated or a length is wrong.");
            }

            var slice = _buffer.Slice(_position, count);
            _position += count;
            return slice;
        }
    }
}
