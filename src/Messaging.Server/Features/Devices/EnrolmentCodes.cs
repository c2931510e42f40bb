using System.Security.Cryptography;
using System.Text;

namespace Messaging.Server.Features.Devices;

/// <summary>
/// One-time enrolment codes: 160 random bits written as 32 base32 characters in groups of four. Only the SHA-256 of the
/// normalised code (upper case, no separators) is stored (<see cref="EnrolmentCodeRepository"/>); the code is shown once to
/// whoever issued it.
/// </summary>
internal static class EnrolmentCodes
{
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

    public static string Generate()
    {
        Span<byte> random = stackalloc byte[20];
        RandomNumberGenerator.Fill(random);
        var chars = new StringBuilder(40);
        var buffer = 0;
        var bits = 0;
        var written = 0;
        foreach (var b in random)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                if (written > 0 && written % 4 == 0)
                {
                    chars.Append('-');
                }

                chars.Append(Alphabet[(buffer >> (bits - 5)) & 31]);
                bits -= 5;
                written++;
            }
        }

        return chars.ToString();
    }

    public static byte[] Hash(string code)
    {
        var normalised = new StringBuilder(code.Length);
        foreach (var c in code)
        {
            if (c is '-' or ' ')
            {
                continue;
            }

            normalised.Append(char.ToUpperInvariant(c));
        }

        return SHA256.HashData(Encoding.UTF8.GetBytes(normalised.ToString()));
    }
}
