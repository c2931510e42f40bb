using System.Security.Cryptography;

namespace Messaging.Server.Features.Devices;

/// <summary>
/// Refuses X25519 public keys that no honest device produces and that break every later key agreement with them: the
/// low-order points (the all-zero key and the other points of order 1, 2, 4 and 8 — multiplying them by any clamped
/// scalar gives the all-zero output that libsodium's <c>crypto_scalarmult</c> refuses) and the non-canonical encodings
/// (top bit set, or a u-coordinate ≥ 2^255 − 19, which includes the non-canonical forms of the low-order points).
/// A key stored with either would make every new sender to that device fail at X3DH.
/// </summary>
internal static class X25519PublicKeyCheck
{
    public const int KeyBytes = 32;

    /// <summary>True when the key is a canonical encoding of a point that is not of low order.</summary>
    public static bool IsUsable(ReadOnlySpan<byte> publicKey)
    {
        if (publicKey.Length != KeyBytes || !IsCanonical(publicKey))
        {
            return false;
        }

        // Clamping makes every scalar a multiple of the cofactor 8, so a point of order dividing 8 maps to the identity
        // (all-zero u) whatever the scalar: one multiplication by a random scalar decides it.
        var scalar = RandomNumberGenerator.GetBytes(KeyBytes);
        byte[] shared;
        try
        {
            shared = Sodium.ScalarMult.Mult(scalar, publicKey.ToArray());
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return false;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(scalar);
        }

        var allZero = shared.All(b => b == 0);
        CryptographicOperations.ZeroMemory(shared);
        return !allZero;
    }

    /// <summary>Top bit clear and u &lt; p = 2^255 − 19 (little-endian).</summary>
    private static bool IsCanonical(ReadOnlySpan<byte> u)
    {
        if ((u[31] & 0x80) != 0)
        {
            return false;
        }

        // p = 0x7fff…ffed: u ≥ p only when bytes 31..1 are 0x7f, 0xff… and byte 0 ≥ 0xed.
        if (u[31] != 0x7f)
        {
            return true;
        }

        for (var i = 30; i >= 1; i--)
        {
            if (u[i] != 0xff)
            {
                return true;
            }
        }

        return u[0] < 0xed;
    }
}
