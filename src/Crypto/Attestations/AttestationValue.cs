using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Messaging.Crypto.Attestations;

/// <summary>The type of an attestation field; the numeric value is the tag byte in the encoding.</summary>
public enum AttestationValueKind
{
    /// <summary>UTF-8 text (exact, not normalised), without control characters.</summary>
    String = 0x01,

    /// <summary>A signed 64-bit integer, 8 bytes big-endian.</summary>
    Int64 = 0x02,

    /// <summary>Opaque bytes.</summary>
    Bytes = 0x03,

    /// <summary>An instant as signed Unix milliseconds, 8 bytes big-endian.</summary>
    Timestamp = 0x04,

    /// <summary>A boolean, one byte 0x00 or 0x01.</summary>
    Boolean = 0x05,
}

/// <summary>An immutable, validated attestation field value. Create one with the <c>From…</c> factories.</summary>
public sealed class AttestationValue : IEquatable<AttestationValue>
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private static readonly long MinUnixMilliseconds = DateTimeOffset.MinValue.ToUnixTimeMilliseconds();
    private static readonly long MaxUnixMilliseconds = DateTimeOffset.MaxValue.ToUnixTimeMilliseconds();

    private readonly string? _string;
    private readonly long _number;
    private readonly byte[]? _bytes;

    private AttestationValue(AttestationValueKind kind, string? text, long number, byte[]? bytes)
    {
        Kind = kind;
        _string = text;
        _number = number;
        _bytes = bytes;
    }

    /// <summary>The type of the value.</summary>
    public AttestationValueKind Kind { get; }

    /// <summary>
    /// A text value, encoded as its exact UTF-8 bytes. It is not Unicode-normalised: the signature covers the
    /// encoded bytes, so a record still has exactly one encoding, and no Unicode version is baked into the
    /// format. Control characters (U+0000–U+001F, U+007F–U+009F, including tab and line feed) are refused.
    /// </summary>
    /// <param name="value">The text.</param>
    /// <returns>The value.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="value"/> is null.</exception>
    /// <exception cref="ArgumentException">The text has a lone surrogate or a control character.</exception>
    public static AttestationValue FromString(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.AsSpan().ContainsAnyInRange('\ud800', '\udfff') && !IsValidUtf16(value))
        {
            throw new ArgumentException("Attestation text must be valid UTF-16 (no lone surrogates).", nameof(value));
        }

        var problem = FindTextProblem(value);
        if (problem is not null)
        {
            throw new ArgumentException(problem, nameof(value));
        }

        return new AttestationValue(AttestationValueKind.String, value, 0, null);
    }

    /// <summary>A signed 64-bit integer value.</summary>
    /// <param name="value">The number.</param>
    /// <returns>The value.</returns>
    public static AttestationValue FromInt64(long value) => new(AttestationValueKind.Int64, null, value, null);

    /// <summary>An opaque bytes value (copied).</summary>
    /// <param name="value">The bytes.</param>
    /// <returns>The value.</returns>
    public static AttestationValue FromBytes(ReadOnlySpan<byte> value) => new(AttestationValueKind.Bytes, null, 0, value.ToArray());

    /// <summary>An instant, truncated to whole milliseconds (the precision of the encoding).</summary>
    /// <param name="value">The instant; its offset is not kept.</param>
    /// <returns>The value.</returns>
    public static AttestationValue FromTimestamp(DateTimeOffset value)
        => new(AttestationValueKind.Timestamp, null, value.ToUnixTimeMilliseconds(), null);

    /// <summary>An instant given as Unix milliseconds.</summary>
    /// <param name="unixMilliseconds">Milliseconds since 1970-01-01T00:00:00Z, within the range of <see cref="DateTimeOffset"/>.</param>
    /// <returns>The value.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The instant is outside the range of <see cref="DateTimeOffset"/>.</exception>
    public static AttestationValue FromUnixMilliseconds(long unixMilliseconds)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(unixMilliseconds, MinUnixMilliseconds);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(unixMilliseconds, MaxUnixMilliseconds);
        return new(AttestationValueKind.Timestamp, null, unixMilliseconds, null);
    }

    /// <summary>A boolean value.</summary>
    /// <param name="value">The boolean.</param>
    /// <returns>The value.</returns>
    public static AttestationValue FromBoolean(bool value) => new(AttestationValueKind.Boolean, null, value ? 1 : 0, null);

    /// <summary>The text of a <see cref="AttestationValueKind.String"/> value.</summary>
    /// <returns>The text.</returns>
    /// <exception cref="InvalidOperationException">The value is of another kind.</exception>
    public string AsString() => Expect(AttestationValueKind.String)._string!;

    /// <summary>The number of an <see cref="AttestationValueKind.Int64"/> value.</summary>
    /// <returns>The number.</returns>
    /// <exception cref="InvalidOperationException">The value is of another kind.</exception>
    public long AsInt64() => Expect(AttestationValueKind.Int64)._number;

    /// <summary>A copy of the bytes of a <see cref="AttestationValueKind.Bytes"/> value.</summary>
    /// <returns>The bytes.</returns>
    /// <exception cref="InvalidOperationException">The value is of another kind.</exception>
    public byte[] AsBytes() => (byte[])Expect(AttestationValueKind.Bytes)._bytes!.Clone();

    /// <summary>The instant of a <see cref="AttestationValueKind.Timestamp"/> value, with offset zero.</summary>
    /// <returns>The instant.</returns>
    /// <exception cref="InvalidOperationException">The value is of another kind.</exception>
    public DateTimeOffset AsTimestamp() => DateTimeOffset.FromUnixTimeMilliseconds(Expect(AttestationValueKind.Timestamp)._number);

    /// <summary>The Unix milliseconds of a <see cref="AttestationValueKind.Timestamp"/> value.</summary>
    /// <returns>Milliseconds since 1970-01-01T00:00:00Z.</returns>
    /// <exception cref="InvalidOperationException">The value is of another kind.</exception>
    public long AsUnixMilliseconds() => Expect(AttestationValueKind.Timestamp)._number;

    /// <summary>The boolean of a <see cref="AttestationValueKind.Boolean"/> value.</summary>
    /// <returns>The boolean.</returns>
    /// <exception cref="InvalidOperationException">The value is of another kind.</exception>
    public bool AsBoolean() => Expect(AttestationValueKind.Boolean)._number != 0;

    /// <inheritdoc />
    public bool Equals(AttestationValue? other)
        => other is not null
            && Kind == other.Kind
            && _number == other._number
            && string.Equals(_string, other._string, StringComparison.Ordinal)
            && (_bytes ?? []).AsSpan().SequenceEqual(other._bytes ?? []);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as AttestationValue);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = default(HashCode);
        hash.Add(Kind);
        hash.Add(_number);
        hash.Add(_string, StringComparer.Ordinal);
        hash.AddBytes(_bytes ?? []);
        return hash.ToHashCode();
    }

    /// <summary>The kind only: attestation content may be personal data and must not reach logs.</summary>
    /// <returns>For example <c>AttestationValue(String)</c>.</returns>
    public override string ToString() => $"AttestationValue({Kind})";

    /// <summary>Length of the value bytes in the encoding (without the u32 length prefix).</summary>
    internal int EncodedValueLength => Kind switch
    {
        AttestationValueKind.String => Encoding.UTF8.GetByteCount(_string!),
        AttestationValueKind.Bytes => _bytes!.Length,
        AttestationValueKind.Boolean => 1,
        _ => 8,
    };

    internal void WriteValue(Span<byte> destination)
    {
        switch (Kind)
        {
            case AttestationValueKind.String:
                Encoding.UTF8.GetBytes(_string!, destination);
                break;
            case AttestationValueKind.Bytes:
                _bytes!.CopyTo(destination);
                break;
            case AttestationValueKind.Boolean:
                destination[0] = (byte)_number;
                break;
            default:
                BinaryPrimitives.WriteInt64BigEndian(destination, _number);
                break;
        }
    }

    /// <summary>Reads a value as the canonical decoder does: exact lengths, strict UTF-8, no control characters, ranges.</summary>
    internal static AttestationValue ReadValue(byte tag, ReadOnlySpan<byte> value)
    {
        switch ((AttestationValueKind)tag)
        {
            case AttestationValueKind.String:
                return ReadString(value);
            case AttestationValueKind.Int64:
                ExpectLength(value, 8, "An Int64");
                return FromInt64(BinaryPrimitives.ReadInt64BigEndian(value));
            case AttestationValueKind.Bytes:
                return FromBytes(value);
            case AttestationValueKind.Timestamp:
                ExpectLength(value, 8, "A timestamp");
                var milliseconds = BinaryPrimitives.ReadInt64BigEndian(value);
                if (milliseconds < MinUnixMilliseconds || milliseconds > MaxUnixMilliseconds)
                {
                    throw new MalformedAttestationException("A timestamp is outside the range of years 1 to 9999.");
                }

                return new(AttestationValueKind.Timestamp, null, milliseconds, null);
            case AttestationValueKind.Boolean:
                ExpectLength(value, 1, "A boolean");
                return value[0] switch
                {
                    0x00 => FromBoolean(false),
                    0x01 => FromBoolean(true),
                    _ => throw new MalformedAttestationException("A boolean is encoded as 0x00 or 0x01."),
                };
            default:
                throw new MalformedAttestationException(string.Create(CultureInfo.InvariantCulture, $"Unknown attestation value tag 0x{tag:x2}."));
        }
    }

    private static AttestationValue ReadString(ReadOnlySpan<byte> value)
    {
        string text;
        try
        {
            text = StrictUtf8.GetString(value);
        }
        catch (DecoderFallbackException ex)
        {
            throw new MalformedAttestationException("An attestation string is not valid UTF-8.", ex);
        }

        var problem = FindTextProblem(text);
        if (problem is not null)
        {
            throw new MalformedAttestationException(problem);
        }

        return new AttestationValue(AttestationValueKind.String, text, 0, null);
    }

    private static string? FindTextProblem(string text)
    {
        foreach (var rune in text.EnumerateRunes())
        {
            if (rune.Value is <= 0x1F or (>= 0x7F and <= 0x9F))
            {
                return "Attestation text must not contain control characters.";
            }
        }

        return null;
    }

    private static bool IsValidUtf16(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            if (char.IsHighSurrogate(value[i]) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(value[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static void ExpectLength(ReadOnlySpan<byte> value, int length, string what)
    {
        if (value.Length != length)
        {
            throw new MalformedAttestationException(string.Create(CultureInfo.InvariantCulture, $"{what} value is {length} bytes, not {value.Length}."));
        }
    }

    private AttestationValue Expect(AttestationValueKind kind)
        => Kind == kind ? this : throw new InvalidOperationException($"The value is a {Kind}, not a {kind}.");
}
