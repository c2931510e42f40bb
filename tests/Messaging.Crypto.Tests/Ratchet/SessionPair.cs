using System.Text;
using Messaging.Crypto.Keys;
using Messaging.Crypto.Ratchet;

namespace Messaging.Crypto.Tests.Ratchet;

/// <summary>Two devices with identities and prekeys, and an established session in each direction.</summary>
internal sealed class SessionPair : IDisposable
{
    private SessionPair(IdentityKeyPair alice, IdentityKeyPair bob, SignedPreKeyPair bobSignedPreKey, OneTimePreKeyPair? bobOneTimePreKey)
    {
        AliceIdentity = alice;
        BobIdentity = bob;
        BobSignedPreKey = bobSignedPreKey;
        BobOneTimePreKey = bobOneTimePreKey;
    }

    public IdentityKeyPair AliceIdentity { get; }

    public IdentityKeyPair BobIdentity { get; }

    public SignedPreKeyPair BobSignedPreKey { get; }

    public OneTimePreKeyPair? BobOneTimePreKey { get; }

    public Session Alice { get; private set; } = null!;

    public Session Bob { get; private set; } = null!;

    public PreKeyBundle Bundle => new(BobIdentity.PublicKey, BobSignedPreKey.PublicKey, BobOneTimePreKey?.PublicKey);

    /// <summary>Alice starts; Bob accepts her first message; both sessions exist.</summary>
    public static SessionPair Establish(bool withOneTimePreKey = true)
    {
        var bob = IdentityKeyPair.Generate();
        var pair = new SessionPair(
            IdentityKeyPair.Generate(),
            bob,
            SignedPreKeyPair.Generate(bob, 7),
            withOneTimePreKey ? OneTimePreKeyPair.GenerateBatch(100, 1)[0] : null);
        pair.Alice = Session.Initiate(pair.AliceIdentity, pair.Bundle);
        var first = pair.Alice.Encrypt(Text("hello"));
        pair.Bob = Session.AcceptPreKeyMessage(pair.BobIdentity, pair.BobSignedPreKey, pair.BobOneTimePreKey, first, default, out var plaintext);
        Assert.Equal("hello", Encoding.UTF8.GetString(plaintext));
        return pair;
    }

    public static byte[] Text(string value) => Encoding.UTF8.GetBytes(value);

    public static string Read(byte[] value) => Encoding.UTF8.GetString(value);

    public static Session Clone(Session session) => Session.Deserialize(session.Serialize());

    public void Dispose()
    {
        Alice?.Dispose();
        Bob?.Dispose();
        AliceIdentity.Dispose();
        BobIdentity.Dispose();
        BobSignedPreKey.Dispose();
        BobOneTimePreKey?.Dispose();
    }
}
