using Messaging.Crypto.Keys;

namespace Messaging.Crypto.Tests.Keys;

public sealed class X25519KeyPairTests
{
    [Fact]
    public void Generate_GivesAPublicKeyThatMatchesItsSecret_AndAFreshSecretEachTime()
    {
        using var first = X25519KeyPair.Generate();
        using var second = X25519KeyPair.Generate();
        using var rebuilt = X25519KeyPair.FromSecretKey(first.SecretKey);

        Assert.Equal(rebuilt.PublicKey, first.PublicKey);
        Assert.NotEqual(first.PublicKey, second.PublicKey);
    }

    [Fact]
    public void Agree_IsTheSameFromBothSides()
    {
        using var alice = X25519KeyPair.Generate();
        using var bob = X25519KeyPair.Generate();
        var fromAlice = new byte[32];
        var fromBob = new byte[32];

        alice.Agree(bob.PublicKey, fromAlice);
        bob.Agree(alice.PublicKey, fromBob);

        Assert.Equal(fromAlice, fromBob);
    }

    [Fact]
    public void Dispose_RefusesFurtherUseOfTheSecret()
    {
        var pair = X25519KeyPair.Generate();

        pair.Dispose();

        Assert.Throws<ObjectDisposedException>(() => pair.Agree(pair.PublicKey, new byte[32]));
    }
}
