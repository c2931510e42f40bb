using Messaging.Crypto.Primitives;

namespace Messaging.Crypto.Tests.Primitives;

/// <summary>RFC 5869 appendix A, test cases 1-3 (HKDF-SHA256) through <see cref="LibSodium.Hkdf"/>.</summary>
public sealed class HkdfKnownAnswerTests
{
    [Fact]
    public void Hkdf_Rfc5869TestCase1_ProducesTheExpectedOutputKeyingMaterial()
    {
        var ikm = Enumerable.Repeat((byte)0x0b, 22).ToArray();
        var salt = Convert.FromHexString("000102030405060708090a0b0c");
        var info = Convert.FromHexString("f0f1f2f3f4f5f6f7f8f9");
        var okm = new byte[42];

        LibSodium.Hkdf(okm, salt, ikm, info);

        Assert.Equal(
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
            Convert.ToHexStringLower(okm));
    }

    [Fact]
    public void Hkdf_Rfc5869TestCase2WithLongInputs_ProducesTheExpectedOutputKeyingMaterial()
    {
        var ikm = Sequence(0x00, 80);
        var salt = Sequence(0x60, 80);
        var info = Sequence(0xb0, 80);
        var okm = new byte[82];

        LibSodium.Hkdf(okm, salt, ikm, info);

        Assert.Equal(
            "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
            + "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
            + "cc30c58179ec3e87c14c01d5c1f3434f1d87",
            Convert.ToHexStringLower(okm));
    }

    [Fact]
    public void Hkdf_Rfc5869TestCase3WithEmptySaltAndInfo_ProducesTheExpectedOutputKeyingMaterial()
    {
        var ikm = Enumerable.Repeat((byte)0x0b, 22).ToArray();
        var okm = new byte[42];

        LibSodium.Hkdf(okm, [], ikm, []);

        Assert.Equal(
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
            Convert.ToHexStringLower(okm));
    }

    private static byte[] Sequence(byte first, int count)
        => Enumerable.Range(first, count).Select(i => (byte)i).ToArray();
}
