using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Messaging.Crypto.Primitives;

/// <summary>
/// What the numbers people compare have in common (safety numbers, approval codes): an iterated SHA-512, so that a
/// targeted second-preimage search (grinding a key whose number matches someone else's) costs that many hashes per try;
/// 40-bit chunks of the hash written as five digits; groups of five for reading aloud; and a constant-time comparison
/// with what the user typed.
/// </summary>
internal static class DecimalCode
{
    /// <summary>Digits per group in the displayed form, and per 40-bit chunk of the hash.</summary>
    public const int GroupDigits = 5;

    private const int ChunkBytes = 5;

    /// <summary><c>h = SHA-512(first)</c>, then <paramref name="iterations"/> times <c>h = SHA-512(h || suffix)</c>.</summary>
    public static byte[] IteratedSha512(ReadOnlySpan<byte> first, ReadOnlySpan<byte> suffix, int iterations)
    {
        // Every later round hashes h || suffix; h is rewritten in place at the front.
        var round = new byte[LibSodium.Sha512Bytes + suffix.Length];
        suffix.CopyTo(round.AsSpan(LibSodium.Sha512Bytes));
        var hash = round.AsSpan(0, LibSodium.Sha512Bytes);
        LibSodium.Sha512(hash, first);
        Span<byte> next = stackalloc byte[LibSodium.Sha512Bytes];
        for (var i = 0; i < iterations; i++)
        {
            LibSodium.Sha512(next, round);
            next.CopyTo(hash);
        }

        return hash.ToArray();
    }

    /// <summary>The first <paramref name="chunks"/> 5-byte chunks of <paramref name="hash"/>, each read as a big-endian
    /// 40-bit integer mod 100000 and written as 5 zero-padded digits (the bias of the reduction is below 10^-7).</summary>
    public static string Digits(ReadOnlySpan<byte> hash, int chunks)
    {
        var digits = new StringBuilder(chunks * GroupDigits);
        Span<byte> chunk = stackalloc byte[8];
        for (var c = 0; c < chunks; c++)
        {
            chunk.Clear();
            hash.Slice(c * ChunkBytes, ChunkBytes).CopyTo(chunk[(8 - ChunkBytes)..]);
            var value = BinaryPrimitives.ReadUInt64BigEndian(chunk) % 100_000;
            digits.Append(value.ToString("D5", CultureInfo.InvariantCulture));
        }

        return digits.ToString();
    }

    /// <summary>The digits in groups of five separated by single spaces.</summary>
    public static string Group(string digits)
    {
        var builder = new StringBuilder(digits.Length + (digits.Length / GroupDigits));
        for (var i = 0; i < digits.Length; i += GroupDigits)
        {
            if (i > 0)
            {
                builder.Append(' ');
            }

            builder.Append(digits, i, GroupDigits);
        }

        return builder.ToString();
    }

    /// <summary>
    /// <paramref name="typed"/> without its spaces as ASCII bytes, when it is exactly <paramref name="count"/> ASCII digits;
    /// else null. The check does not depend on where a wrong character is.
    /// </summary>
    public static byte[]? Compact(string typed, int count)
    {
        var compact = typed.Replace(" ", string.Empty, StringComparison.Ordinal);
        if (compact.Length != count)
        {
            return null;
        }

        var bytes = new byte[count];
        var valid = true;
        for (var i = 0; i < count; i++)
        {
            // Non-ASCII characters map to a value no digit has, so they can never match.
            bytes[i] = compact[i] < 0x80 ? (byte)compact[i] : (byte)0xFF;
            valid &= char.IsAsciiDigit(compact[i]);
        }

        return valid ? bytes : null;
    }

    /// <summary>Whether <paramref name="typed"/> (spaces ignored) is exactly <paramref name="digits"/>, compared in
    /// constant time once the lengths agree.</summary>
    public static bool Matches(string typed, ReadOnlySpan<byte> digits)
        => Compact(typed, digits.Length) is { } bytes && LibSodium.FixedTimeEquals(bytes, digits);
}
