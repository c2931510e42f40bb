using Messaging.Crypto.Primitives;

namespace Messaging.Crypto.Tests.Primitives;

/// <summary>RFC 8032 section 7.1 (TEST 1-3) through the LibSodium Ed25519 wrappers.</summary>
public sealed class Ed25519KnownAnswerTests
{
    public static TheoryData<string, string, string, string> Rfc8032Vectors => new()
    {
        // TEST 1: empty message.
        {
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            "",
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        },
        // TEST 2: one-byte message.
        {
            "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
            "72",
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"
        },
        // TEST 3: two-byte message.
        {
            "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
            "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
            "af82",
            "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"
        },
    };

    [Theory]
    [MemberData(nameof(Rfc8032Vectors))]
    public void Ed25519SeedKeyPair_Rfc8032Seed_GivesTheExpectedPublicKey(string seedHex, string publicHex, string messageHex, string signatureHex)
    {
        _ = messageHex;
        _ = signatureHex;
        var publicKey = new byte[LibSodium.Ed25519PublicKeyBytes];
        var secretKey = new byte[LibSodium.Ed25519SecretKeyBytes];

        LibSodium.Ed25519SeedKeyPair(publicKey, secretKey, Convert.FromHexString(seedHex));

        Assert.Equal(publicHex, Convert.ToHexStringLower(publicKey));
        // libsodium's 64-byte secret key is seed || public key.
        Assert.Equal(seedHex + publicHex, Convert.ToHexStringLower(secretKey));
    }

    [Theory]
    [MemberData(nameof(Rfc8032Vectors))]
    public void Ed25519Sign_Rfc8032Vector_GivesTheExpectedSignatureWhichVerifies(string seedHex, string publicHex, string messageHex, string signatureHex)
    {
        var publicKey = new byte[LibSodium.Ed25519PublicKeyBytes];
        var secretKey = new byte[LibSodium.Ed25519SecretKeyBytes];
        LibSodium.Ed25519SeedKeyPair(publicKey, secretKey, Convert.FromHexString(seedHex));
        var message = Convert.FromHexString(messageHex);
        var signature = new byte[LibSodium.Ed25519SignatureBytes];

        LibSodium.Ed25519Sign(signature, message, secretKey);

        Assert.Equal(signatureHex, Convert.ToHexStringLower(signature));
        Assert.True(LibSodium.Ed25519Verify(signature, message, Convert.FromHexString(publicHex)));
    }

    [Theory]
    [MemberData(nameof(Rfc8032Vectors))]
    public void Ed25519Verify_Rfc8032VectorWithAnyFlippedBit_Fails(string seedHex, string publicHex, string messageHex, string signatureHex)
    {
        _ = seedHex;
        var publicKey = Convert.FromHexString(publicHex);
        var message = Convert.FromHexString(messageHex);
        var signature = Convert.FromHexString(signatureHex);

        for (var bit = 0; bit < signature.Length * 8; bit++)
        {
            var tampered = (byte[])signature.Clone();
            tampered[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.False(LibSodium.Ed25519Verify(tampered, message, publicKey), $"signature bit {bit}");
        }

        for (var bit = 0; bit < message.Length * 8; bit++)
        {
            var tampered = (byte[])message.Clone();
            tampered[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.False(LibSodium.Ed25519Verify(signature, tampered, publicKey), $"message bit {bit}");
        }

        var otherKey = (byte[])publicKey.Clone();
        otherKey[0] ^= 0x01;
        Assert.False(LibSodium.Ed25519Verify(signature, message, otherKey));
        Assert.False(LibSodium.Ed25519Verify(signature, [.. message, 0x00], publicKey));
    }
}
