using System.Security.Cryptography;
using System.Text;
using Messaging.Crypto.Primitives;

namespace Messaging.Crypto.Tests.Primitives;

/// <summary>RFC 4231 HMAC-SHA256 test cases 1, 2 and 6 through <see cref="LibSodium.HmacSha256"/>.</summary>
public sealed class HmacSha256KnownAnswerTests
{
    [Fact]
    public void HmacSha256_Rfc4231TestCase1_ProducesTheExpectedMac()
    {
        var key = Enumerable.Repeat((byte)0x0b, 20).ToArray();

        var mac = Mac(key, Encoding.ASCII.GetBytes("Hi There"));

        Assert.Equal("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", mac);
    }

    [Fact]
    public void HmacSha256_Rfc4231TestCase2WithShortKey_ProducesTheExpectedMac()
    {
        var mac = Mac(Encoding.ASCII.GetBytes("Jefe"), Encoding.ASCII.GetBytes("what do ya want for nothing?"));

        Assert.Equal("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", mac);
    }

    [Fact]
    public void HmacSha256_Rfc4231TestCase6WithKeyLongerThanTheBlock_ProducesTheExpectedMac()
    {
        var key = Enumerable.Repeat((byte)0xaa, 131).ToArray();

        var mac = Mac(key, Encoding.ASCII.GetBytes("Test Using Larger Than Block-Size Key - Hash Key First"));

        Assert.Equal("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", mac);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(200)]
    public void HmacSha256_With32ByteKeyFastPath_MatchesTheGenericHmac(int messageLength)
    {
        // The wrapper takes a single-call shortcut for 32-byte keys, which no RFC 4231 case exercises.
        var key = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
        var message = Enumerable.Range(0, messageLength).Select(i => (byte)(i * 7)).ToArray();

        var mac = Mac(key, message);

        Assert.Equal(Convert.ToHexStringLower(HMACSHA256.HashData(key, message)), mac);
    }

    private static string Mac(byte[] key, byte[] message)
    {
        var mac = new byte[LibSodium.HmacSha256Bytes];
        LibSodium.HmacSha256(mac, key, message);
        return Convert.ToHexStringLower(mac);
    }
}
