using System.Text;
using Messaging.Crypto.Primitives;

namespace Messaging.Crypto.Tests.Primitives;

/// <summary>
/// BLAKE2b through <see cref="LibSodium.Blake2b"/>: RFC 7693 appendix A, the keyed vectors of the BLAKE2 reference
/// package (testvectors/blake2b-kat.txt: key 00..3f, input 00..len-1), and, for the personalisation the ratchet's
/// KDFs use (RFC 7693 leaves it out; it is the BLAKE2 specification's parameter block), vectors computed
/// independently with Python's <c>hashlib.blake2b(message, key=..., person=..., digest_size=...)</c>.
/// </summary>
public sealed class Blake2bKnownAnswerTests
{
    [Fact]
    public void Blake2b512_Rfc7693AppendixA_Abc_ProducesTheExpectedDigest()
    {
        var digest = Digest(64, [], [], Encoding.ASCII.GetBytes("abc"));

        Assert.Equal(
            "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
            + "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923",
            digest);
    }

    [Fact]
    public void Blake2b_DigestLengthIsAParameter_NotATruncation()
    {
        // BLAKE2b-256("abc"): the length is in the parameter block, so it is not a prefix of the 512-bit digest.
        var digest = Digest(32, [], [], Encoding.ASCII.GetBytes("abc"));

        Assert.Equal("bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319", digest);
    }

    [Theory]
    [InlineData(0, "10ebb67700b1868efb4417987acf4690ae9d972fb7a590c2f02871799aaa4786b5e996e8f0f4eb981fc214b005f42d2ff4233499391653df7aefcbc13fc51568")]
    [InlineData(1, "961f6dd1e4dd30f63901690c512e78e4b45e4742ed197c3c5e45c549fd25f2e4187b0bc9fe30492b16b0d0bc4ef9b0f34c7003fac09a5ef1532e69430234cebd")]
    [InlineData(255, "142709d62e28fcccd0af97fad0f8465b971e82201dc51070faa0372aa43e92484be1c1e73ba10906d5d1853db6a4106e0a7bf9800d373d6dee2d46d62ef2a461")]
    public void Blake2b512_KeyedReferenceVector_ProducesTheExpectedDigest(int inputLength, string expected)
    {
        var digest = Digest(64, Sequence(0x00, 64), [], Sequence(0x00, inputLength));

        Assert.Equal(expected, digest);
    }

    [Fact]
    public void Blake2b512_With32ByteKeyAndChainPersonalisation_OverAnEmptyMessage_MatchesIndependentVector()
    {
        // The shape of KDF_CK: 32-byte key, personalisation "messaging.ck.v1" || 0x00, empty message.
        var digest = Digest(64, Sequence(0x00, 32), Encoding.ASCII.GetBytes("messaging.ck.v1\0"), []);

        Assert.Equal(
            "3a23504de04cdbd9c94cc93962b49713bf2cd2f99fd4a1517c497d2f2e8390d2"
            + "0d5f4c8547d5b866a93cedfa2a1a4966dc5b1dd9748d5689c190de20c993d5c4",
            digest);
    }

    [Fact]
    public void Blake2b512_With32ByteKeyAndRootPersonalisation_OverA32ByteMessage_MatchesIndependentVector()
    {
        // The shape of KDF_RK: 32-byte key, personalisation "messaging.rk.v1" || 0x00, a 32-byte message.
        var digest = Digest(64, Sequence(0x00, 32), Encoding.ASCII.GetBytes("messaging.rk.v1\0"), Sequence(0x20, 32));

        Assert.Equal(
            "aa6bb376bdc3226047a63ab2729bc05ebb9384ba5cddbd257353316fb0f4d848"
            + "c202e19430861be839eca9cc0dff9c8a017f1e2483edccce51ca1c62b6c3d462",
            digest);
    }

    [Fact]
    public void Blake2b_WithoutPersonalisation_EqualsSixteenZeroBytes_AndDiffersFromAnotherPersonalisation()
    {
        var key = Sequence(0x00, 32);

        var none = Digest(64, key, [], []);
        var zeros = Digest(64, key, new byte[LibSodium.Blake2bPersonalBytes], []);
        var chain = Digest(64, key, Encoding.ASCII.GetBytes("messaging.ck.v1\0"), []);

        Assert.Equal(
            "84bfa69f0d90df7db2a3ee026042988b5bd9caa2320af1f371823dd28351202f"
            + "8e6277c40c050711c8dd4e2c1ac30c34c9aed0bddd468b031287fe872675e0cc",
            none);
        Assert.Equal(none, zeros);
        Assert.NotEqual(none, chain);
    }

    [Theory]
    [InlineData(0, 32, 16)]
    [InlineData(65, 32, 16)]
    [InlineData(64, 65, 16)]
    [InlineData(64, 32, 15)]
    [InlineData(64, 32, 17)]
    public void Blake2b_WithOutOfRangeLengths_IsRefusedBeforeNativeCode(int outputLength, int keyLength, int personalLength)
    {
        Assert.Throws<ArgumentException>(() => LibSodium.Blake2b(new byte[outputLength], new byte[keyLength], new byte[personalLength], []));
    }

    private static string Digest(int length, byte[] key, byte[] personal, byte[] message)
    {
        var output = new byte[length];
        LibSodium.Blake2b(output, key, personal, message);
        return Convert.ToHexStringLower(output);
    }

    private static byte[] Sequence(byte first, int count)
        => Enumerable.Range(first, count).Select(i => (byte)i).ToArray();
}
