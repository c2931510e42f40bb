using Messaging.Crypto.Ratchet;

namespace Messaging.Crypto.Tests.Ratchet;

/// <summary>
/// KDF_RK and KDF_CK exactly as docs/crypto.md section 4 defines them. The expected halves were computed
/// independently with Python's <c>hashlib.blake2b(message, key=..., person=..., digest_size=64)</c>.
/// </summary>
public sealed class RatchetKdfTests
{
    [Fact]
    public void ChainStep_SplitsOneKeyedBlake2bDigest_IntoMessageKeyThenNextChainKey()
    {
        var chainKey = Sequence(0x00, 32);
        var messageKey = new byte[32];
        var nextChainKey = new byte[32];

        DoubleRatchet.ChainStep(chainKey, messageKey, nextChainKey);

        Assert.Equal("3a23504de04cdbd9c94cc93962b49713bf2cd2f99fd4a1517c497d2f2e8390d2", Convert.ToHexStringLower(messageKey));
        Assert.Equal("0d5f4c8547d5b866a93cedfa2a1a4966dc5b1dd9748d5689c190de20c993d5c4", Convert.ToHexStringLower(nextChainKey));
    }

    [Fact]
    public void ChainStep_InPlace_GivesTheSameKeysAsIntoSeparateBuffers()
    {
        var separate = new byte[32];
        var messageKey = new byte[32];
        DoubleRatchet.ChainStep(Sequence(0x40, 32), messageKey, separate);
        var inPlace = Sequence(0x40, 32);
        var messageKeyInPlace = new byte[32];

        DoubleRatchet.ChainStep(inPlace, messageKeyInPlace, inPlace);

        Assert.Equal(separate, inPlace);
        Assert.Equal(messageKey, messageKeyInPlace);
    }

    [Fact]
    public void RootStep_SplitsOneKeyedBlake2bDigestOfTheDhOutput_IntoRootKeyThenChainKey()
    {
        var rootKey = Sequence(0x00, 32);
        var chainKey = new byte[32];

        DoubleRatchet.RootStep(rootKey, Sequence(0x20, 32), chainKey);

        Assert.Equal("aa6bb376bdc3226047a63ab2729bc05ebb9384ba5cddbd257353316fb0f4d848", Convert.ToHexStringLower(rootKey));
        Assert.Equal("c202e19430861be839eca9cc0dff9c8a017f1e2483edccce51ca1c62b6c3d462", Convert.ToHexStringLower(chainKey));
    }

    [Fact]
    public void ChainAndRootSteps_AreDomainSeparated()
    {
        // Same key, same (empty) input: only the personalisation differs.
        var key = Sequence(0x00, 32);
        var messageKey = new byte[32];
        var nextChainKey = new byte[32];
        DoubleRatchet.ChainStep(key, messageKey, nextChainKey);
        var rootKey = Sequence(0x00, 32);
        var chainKey = new byte[32];

        DoubleRatchet.RootStep(rootKey, [], chainKey);

        Assert.NotEqual(messageKey, rootKey);
        Assert.NotEqual(nextChainKey, chainKey);
    }

    private static byte[] Sequence(byte first, int count)
        => Enumerable.Range(first, count).Select(i => (byte)i).ToArray();
}
