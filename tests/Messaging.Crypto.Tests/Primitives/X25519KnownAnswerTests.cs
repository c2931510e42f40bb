using Messaging.Crypto.Primitives;

namespace Messaging.Crypto.Tests.Primitives;

/// <summary>RFC 7748 vectors through <see cref="LibSodium.X25519"/> and <see cref="LibSodium.X25519Base"/>.</summary>
public sealed class X25519KnownAnswerTests
{
    [Theory]
    // RFC 7748 section 5.2, first and second test vector.
    [InlineData(
        "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
        "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
        "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552")]
    [InlineData(
        "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
        "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
        "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957")]
    public void X25519_Rfc7748Section52Vectors_ProduceTheExpectedOutput(string scalarHex, string uHex, string expectedHex)
    {
        var output = new byte[32];

        LibSodium.X25519(output, Convert.FromHexString(scalarHex), Convert.FromHexString(uHex));

        Assert.Equal(expectedHex, Convert.ToHexStringLower(output));
    }

    [Theory]
    // RFC 7748 section 6.1: Alice's and Bob's key pairs.
    [InlineData(
        "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
        "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")]
    [InlineData(
        "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
        "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")]
    public void X25519Base_Rfc7748Section61PrivateKeys_GiveTheExpectedPublicKeys(string privateHex, string expectedPublicHex)
    {
        var publicKey = new byte[32];

        LibSodium.X25519Base(publicKey, Convert.FromHexString(privateHex));

        Assert.Equal(expectedPublicHex, Convert.ToHexStringLower(publicKey));
    }

    [Fact]
    public void X25519_Rfc7748Section61_AliceAndBobDeriveTheExpectedSharedSecret()
    {
        var alicePrivate = Convert.FromHexString("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
        var alicePublic = Convert.FromHexString("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
        var bobPrivate = Convert.FromHexString("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
        var bobPublic = Convert.FromHexString("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
        var aliceShared = new byte[32];
        var bobShared = new byte[32];

        LibSodium.X25519(aliceShared, alicePrivate, bobPublic);
        LibSodium.X25519(bobShared, bobPrivate, alicePublic);

        const string Expected = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
        Assert.Equal(Expected, Convert.ToHexStringLower(aliceShared));
        Assert.Equal(Expected, Convert.ToHexStringLower(bobShared));
    }

    [Fact]
    public void X25519_WithAllZeroPublicKey_ThrowsInvalidKeyException()
    {
        var scalar = Convert.FromHexString("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
        var output = new byte[32];

        Assert.Throws<InvalidKeyException>(() => LibSodium.X25519(output, scalar, new byte[32]));
    }
}
