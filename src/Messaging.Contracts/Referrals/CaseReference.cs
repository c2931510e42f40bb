using System.Security.Cryptography;

namespace Messaging.Contracts.Referrals;

/// <summary>
/// A pseudonymous case reference: 128 random bits, RFC 4648 base32 (alphabet <c>A–Z2–7</c>, upper case, no padding),
/// 26 characters whose last one carries 3 data bits and 2 zero bits. Generated on the client, never derived from the
/// person. The server only checks the shape.
/// </summary>
public static class CaseReference
{
    /// <summary>Length of a case reference.</summary>
    public const int Length = 26;

    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

    /// <summary>A fresh reference from 16 cryptographically random bytes.</summary>
    public static string New() => Encode(RandomNumberGenerator.GetBytes(16));

    /// <summary>Encodes 16 bytes.</summary>
    public static string Encode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != 16)
        {
            throw new ArgumentException("A case reference encodes exactly 16 bytes.", nameof(bytes));
        }

        var chars = new char[Length];
        int buffer = 0, bits = 0, index = 0;
        foreach (var b in bytes)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                chars[index++] = Alphabet[(buffer >> (bits - 5)) & 31];
                bits -= 5;
            }
        }

        chars[index] = Alphabet[(buffer << (5 - bits)) & 31];
        return new string(chars);
    }

    /// <summary>True when <paramref name="value"/> has the exact shape of a case reference.</summary>
    public static bool IsWellFormed(string? value)
    {
        if (value is null || value.Length != Length)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (c is not ((>= 'A' and <= 'Z') or (>= '2' and <= '7')))
            {
                return false;
            }
        }

        // 26 × 5 = 130 bits for 128: the last two bits are zero.
        return (Alphabet.IndexOf(value[^1], StringComparison.Ordinal) & 3) == 0;
    }
}
