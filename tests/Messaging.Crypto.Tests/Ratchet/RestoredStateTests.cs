using Messaging.Crypto.Ratchet;
using static Messaging.Crypto.Tests.Ratchet.SessionPair;

namespace Messaging.Crypto.Tests.Ratchet;

/// <summary>
/// Issue 9, defect 1 (defence in depth): a device state restored from an older copy re-derives message keys it
/// already used. Wire version 2 carries a fresh random nonce in every message, so two encryptions under one
/// message key never share a nonce.
/// </summary>
public sealed class RestoredStateTests
{
    private const int NormalPrefixLength = 2;
    private const int HeaderLength = 40;

    [Fact]
    public void TwoEncryptions_FromTheSameRestoredState_UseDifferentNoncesAndCiphertexts_AndEachDecryptsOnce()
    {
        using var pair = Establish();
        pair.Alice.Decrypt(pair.Bob.Encrypt(Text("sync")));
        var savedAlice = pair.Alice.Serialize();
        var savedBob = pair.Bob.Serialize();

        // Two processes (or a process and a restored backup) resume from the same saved state and both send.
        using var firstCopy = Session.Deserialize(savedAlice);
        using var secondCopy = Session.Deserialize(savedAlice);
        var first = firstCopy.Encrypt(Text("same words"));
        var second = secondCopy.Encrypt(Text("same words"));

        // Same message key (same header), but the nonces differ, and so does every ciphertext byte pattern.
        Assert.Equal(first.AsSpan(0, NormalPrefixLength + HeaderLength).ToArray(), second.AsSpan(0, NormalPrefixLength + HeaderLength).ToArray());
        Assert.NotEqual(Nonce(first), Nonce(second));
        Assert.NotEqual(Body(first), Body(second));

        using var bobForFirst = Session.Deserialize(savedBob);
        using var bobForSecond = Session.Deserialize(savedBob);
        Assert.Equal("same words", Read(bobForFirst.Decrypt(first)));
        Assert.Equal("same words", Read(bobForSecond.Decrypt(second)));
        Assert.Throws<DuplicateMessageException>(() => bobForFirst.Decrypt(first));
        Assert.Throws<DuplicateMessageException>(() => bobForSecond.Decrypt(second));
    }

    [Fact]
    public void EveryMessage_CarriesItsOwnNonce_AfterTheHeader()
    {
        using var pair = Establish();
        var plaintext = new byte[100];
        var prekeyMessage = pair.Alice.Encrypt(plaintext);
        pair.Bob.Decrypt(prekeyMessage);
        pair.Alice.Decrypt(pair.Bob.Encrypt(Text("reply")));
        var a = pair.Alice.Encrypt(plaintext);
        var b = pair.Alice.Encrypt(plaintext);

        Assert.Equal(Session.WireVersion, a[0]);
        Assert.Equal(0x02, Session.WireVersion);
        Assert.Equal(plaintext.Length + 82, a.Length);
        Assert.Equal(plaintext.Length + 252, prekeyMessage.Length);
        Assert.Equal(172, Session.PreKeyPrefixLength);
        Assert.NotEqual(Nonce(a), Nonce(b));
    }

    [Fact]
    public void TamperedNonce_FailsAuthentication_AndLeavesTheSessionUnchanged()
    {
        using var pair = Establish();
        pair.Alice.Decrypt(pair.Bob.Encrypt(Text("sync")));
        var message = pair.Bob.Encrypt(Text("nonce"));
        var before = pair.Alice.Serialize();

        for (var position = NormalPrefixLength + HeaderLength; position < NormalPrefixLength + HeaderLength + Session.NonceLength; position++)
        {
            var tampered = (byte[])message.Clone();
            tampered[position] ^= 0x01;
            Assert.Throws<MessageAuthenticationException>(() => pair.Alice.Decrypt(tampered));
        }

        Assert.Equal(before, pair.Alice.Serialize());
        Assert.Equal("nonce", Read(pair.Alice.Decrypt(message)));
    }

    [Fact]
    public void VersionOneMessages_AreRefusedWithATypedError_AndChangeNothing()
    {
        using var pair = Establish();
        pair.Alice.Decrypt(pair.Bob.Encrypt(Text("sync")));
        var versionOne = pair.Bob.Encrypt(Text("old"));
        versionOne[0] = Session.RetiredWireVersion;
        var prekeyVersionOne = pair.Alice.Encrypt(Text("x"));
        prekeyVersionOne[0] = Session.RetiredWireVersion;
        var before = pair.Alice.Serialize();

        var error = Assert.Throws<UnsupportedMessageVersionException>(() => pair.Alice.Decrypt(versionOne));
        Assert.Equal(1, error.Version);
        Assert.IsAssignableFrom<MalformedMessageException>(error);
        Assert.Throws<UnsupportedMessageVersionException>(() => Session.ReadPreKeyInfo(prekeyVersionOne));
        Assert.Equal(before, pair.Alice.Serialize());
    }

    private static byte[] Nonce(byte[] message) => message.AsSpan(NormalPrefixLength + HeaderLength, Session.NonceLength).ToArray();

    private static byte[] Body(byte[] message) => message.AsSpan(NormalPrefixLength + HeaderLength + Session.NonceLength).ToArray();
}
