using Messaging.Crypto.Keys;
using Messaging.Crypto.Ratchet;
using static Messaging.Crypto.Tests.Ratchet.SessionPair;

namespace Messaging.Crypto.Tests.Ratchet;

public sealed class SessionTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Messages_FlowBothWays_WithAndWithoutOneTimePreKey(bool withOneTimePreKey)
    {
        using var pair = Establish(withOneTimePreKey);
        for (var round = 0; round < 5; round++)
        {
            Assert.Equal($"b{round}", Read(pair.Alice.Decrypt(pair.Bob.Encrypt(Text($"b{round}")))));
            Assert.Equal($"a{round}", Read(pair.Bob.Decrypt(pair.Alice.Encrypt(Text($"a{round}")))));
        }
    }

    [Fact]
    public void Initiator_SendsPreKeyMessages_UntilItHearsBack()
    {
        using var pair = Establish();
        var second = pair.Alice.Encrypt(Text("again"));
        Assert.Equal(Session.PreKeyMessageType, second[1]);
        Assert.True(pair.Alice.IsAwaitingReply);
        Assert.True(pair.Bob.Continues(Session.ReadPreKeyInfo(second)!));
        Assert.Equal("again", Read(pair.Bob.Decrypt(second)));

        pair.Alice.Decrypt(pair.Bob.Encrypt(Text("reply")));
        Assert.False(pair.Alice.IsAwaitingReply);
        Assert.Equal(Session.NormalMessageType, pair.Alice.Encrypt(Text("normal"))[1]);
    }

    [Fact]
    public void PreKeyMessage_NamesTheBundlesPrekeysAndTheInitiator()
    {
        using var pair = Establish();
        var info = Session.ReadPreKeyInfo(pair.Alice.Encrypt(Text("x")))!;
        Assert.Equal(pair.AliceIdentity.PublicKey, info.Initiator);
        Assert.Equal(7u, info.SignedPreKeyId);
        Assert.Equal(100u, info.OneTimePreKeyId);
        Assert.Equal(pair.BobIdentity.PublicKey, pair.Alice.RemoteIdentity);
        Assert.Equal(pair.AliceIdentity.PublicKey, pair.Bob.RemoteIdentity);
    }

    [Fact]
    public void Initiate_WithSignedPreKeyOfAnotherIdentity_IsRefused()
    {
        using var alice = IdentityKeyPair.Generate();
        using var bob = IdentityKeyPair.Generate();
        using var mallory = IdentityKeyPair.Generate();
        using var mallorySpk = SignedPreKeyPair.Generate(mallory, 1);
        var forged = new PreKeyBundle(bob.PublicKey, mallorySpk.PublicKey, null);
        Assert.Throws<SignatureVerificationException>(() => Session.Initiate(alice, forged));
    }

    [Fact]
    public void SignedPreKeyPublic_WithBadSignature_IsRefused()
    {
        using var bob = IdentityKeyPair.Generate();
        using var spk = SignedPreKeyPair.Generate(bob, 3);
        var signature = spk.PublicKey.Signature.ToArray();
        signature[10] ^= 1;
        Assert.Throws<SignatureVerificationException>(() => SignedPreKeyPublic.Create(3, spk.PublicKey.PublicKey, signature, bob.PublicKey));
        Assert.Throws<SignatureVerificationException>(() => SignedPreKeyPublic.Create(4, spk.PublicKey.PublicKey, spk.PublicKey.Signature, bob.PublicKey));
    }

    [Fact]
    public void AcceptPreKeyMessage_WithWrongPrekeys_IsRefused()
    {
        using var pair = Establish();
        var message = pair.Alice.Encrypt(Text("x"));
        using var otherOpk = OneTimePreKeyPair.GenerateBatch(555, 1)[0];
        Assert.Throws<MalformedMessageException>(() => Session.AcceptPreKeyMessage(pair.BobIdentity, pair.BobSignedPreKey, otherOpk, message, default, out _));
        Assert.Throws<MalformedMessageException>(() => Session.AcceptPreKeyMessage(pair.BobIdentity, pair.BobSignedPreKey, null, message, default, out _));
    }

    [Fact]
    public void AcceptPreKeyMessage_ByAnotherResponder_FailsAuthentication()
    {
        using var pair = Establish();
        var message = pair.Alice.Encrypt(Text("x"));
        using var eve = IdentityKeyPair.Generate();
        Assert.Throws<MessageAuthenticationException>(() => Session.AcceptPreKeyMessage(eve, pair.BobSignedPreKey, pair.BobOneTimePreKey, message, default, out _));
    }

    [Fact]
    public void CallerAssociatedData_MustMatch()
    {
        using var pair = Establish();
        var message = pair.Bob.Encrypt(Text("bound"), Text("envelope-1"));
        Assert.Throws<MessageAuthenticationException>(() => pair.Alice.Decrypt(message, Text("envelope-2")));
        Assert.Equal("bound", Read(pair.Alice.Decrypt(message, Text("envelope-1"))));
    }

    [Fact]
    public void OutOfOrder_WithinBound_DecryptsEveryMessageOnce()
    {
        using var pair = Establish();
        var messages = Enumerable.Range(0, 50).Select(i => pair.Bob.Encrypt(Text($"m{i}"))).ToArray();
        var order = Enumerable.Range(0, 50).Reverse().ToArray();
        foreach (var i in order)
        {
            Assert.Equal($"m{i}", Read(pair.Alice.Decrypt(messages[i])));
        }

        foreach (var message in messages)
        {
            Assert.Throws<DuplicateMessageException>(() => pair.Alice.Decrypt(message));
        }
    }

    [Fact]
    public void Skipping_BeyondBound_IsRejected_AndSessionStillWorks()
    {
        using var pair = Establish();
        var messages = Enumerable.Range(0, Session.MaxSkippedMessages + 2).Select(i => pair.Bob.Encrypt(Text($"m{i}"))).ToArray();
        var before = pair.Alice.Serialize();
        Assert.Throws<TooManySkippedMessagesException>(() => pair.Alice.Decrypt(messages[^1]));
        Assert.Equal(before, pair.Alice.Serialize());

        // Exactly at the bound is accepted.
        Assert.Equal($"m{Session.MaxSkippedMessages}", Read(pair.Alice.Decrypt(messages[Session.MaxSkippedMessages])));
        Assert.Equal("m0", Read(pair.Alice.Decrypt(messages[0])));
    }

    [Fact]
    public void Skipping_BeyondBound_AcrossARatchetStep_IsRejected()
    {
        using var pair = Establish();
        pair.Alice.Decrypt(pair.Bob.Encrypt(Text("sync")));
        for (var i = 0; i <= Session.MaxSkippedMessages; i++)
        {
            pair.Bob.Encrypt(Text("lost"));
        }

        // Alice answers only now: Bob's next chain starts with a new ratchet key and PN > bound.
        pair.Bob.Decrypt(pair.Alice.Encrypt(Text("late")));
        var next = pair.Bob.Encrypt(Text("next"));
        var before = pair.Alice.Serialize();
        Assert.Throws<TooManySkippedMessagesException>(() => pair.Alice.Decrypt(next));
        Assert.Equal(before, pair.Alice.Serialize());
    }

    [Fact]
    public void Replay_InCurrentChain_IsRejectedAsDuplicate()
    {
        using var pair = Establish();
        var message = pair.Bob.Encrypt(Text("once"));
        pair.Alice.Decrypt(message);
        var before = pair.Alice.Serialize();
        Assert.Throws<DuplicateMessageException>(() => pair.Alice.Decrypt(message));
        Assert.Equal(before, pair.Alice.Serialize());
    }

    [Fact]
    public void Replay_FromAnEarlierChain_IsRejectedAsDuplicate()
    {
        using var pair = Establish();
        var old = pair.Bob.Encrypt(Text("old"));
        pair.Alice.Decrypt(old);
        pair.Bob.Decrypt(pair.Alice.Encrypt(Text("turn")));
        pair.Alice.Decrypt(pair.Bob.Encrypt(Text("new chain")));
        Assert.Throws<DuplicateMessageException>(() => pair.Alice.Decrypt(old));
    }

    [Fact]
    public void FirstPreKeyMessage_ReplayedToTheSession_IsRejected()
    {
        var bob = IdentityKeyPair.Generate();
        using var alice = IdentityKeyPair.Generate();
        using var spk = SignedPreKeyPair.Generate(bob, 1);
        using var aliceSession = Session.Initiate(alice, new PreKeyBundle(bob.PublicKey, spk.PublicKey, null));
        var first = aliceSession.Encrypt(Text("first"));
        using var bobSession = Session.AcceptPreKeyMessage(bob, spk, null, first, default, out _);
        Assert.Throws<DuplicateMessageException>(() => bobSession.Decrypt(first));
        bob.Dispose();
    }

    [Fact]
    public void FailedDecryption_LeavesTheSessionUnchanged()
    {
        using var pair = Establish();
        pair.Alice.Decrypt(pair.Bob.Encrypt(Text("a")));
        pair.Bob.Decrypt(pair.Alice.Encrypt(Text("b")));
        var message = pair.Bob.Encrypt(Text("c"));
        var before = pair.Alice.Serialize();
        var tampered = (byte[])message.Clone();
        tampered[^1] ^= 0x80;
        Assert.Throws<MessageAuthenticationException>(() => pair.Alice.Decrypt(tampered));
        Assert.Equal(before, pair.Alice.Serialize());
        Assert.Equal("c", Read(pair.Alice.Decrypt(message)));
    }

    [Fact]
    public void EverySingleByteTamper_IsRejected_AndTheOriginalStillDecrypts()
    {
        using var pair = Establish();
        pair.Alice.Decrypt(pair.Bob.Encrypt(Text("sync")));
        // A new ratchet step (header with a new key) and a message in the current chain, 64 bytes of content.
        var payload = new byte[64];
        foreach (var message in new[] { pair.Bob.Encrypt(payload, Text("ad")), pair.Bob.Encrypt(payload, Text("ad")) })
        {
            var before = pair.Alice.Serialize();
            for (var position = 0; position < message.Length; position++)
            {
                foreach (var flip in new byte[] { 0x01, 0x80 })
                {
                    var tampered = (byte[])message.Clone();
                    tampered[position] ^= flip;
                    // A counter lowered by the tamper reads as a replay: still rejected, for whatever reason.
                    Assert.ThrowsAny<CryptoException>(() => pair.Alice.Decrypt(tampered, Text("ad")));
                }
            }

            var ad = Text("ad");
            for (var position = 0; position < ad.Length; position++)
            {
                var tamperedAd = (byte[])ad.Clone();
                tamperedAd[position] ^= 0x01;
                Assert.Throws<MessageAuthenticationException>(() => pair.Alice.Decrypt(message, tamperedAd));
            }

            Assert.Throws<MessageAuthenticationException>(() => pair.Alice.Decrypt(message.AsSpan(0, message.Length - 1), Text("ad")));
            Assert.Equal(before, pair.Alice.Serialize());
        }

        pair.Bob.Decrypt(pair.Alice.Encrypt(Text("still works")));
    }

    [Fact]
    public void EverySingleByteTamper_OfAPreKeyMessage_IsRejected()
    {
        using var pair = Establish();
        var message = pair.Alice.Encrypt(new byte[32]);
        for (var position = 0; position < message.Length; position++)
        {
            var tampered = (byte[])message.Clone();
            tampered[position] ^= 0x01;
            Assert.ThrowsAny<CryptoException>(() => pair.Bob.Decrypt(tampered));
            Assert.ThrowsAny<CryptoException>(() => Session.AcceptPreKeyMessage(pair.BobIdentity, pair.BobSignedPreKey, pair.BobOneTimePreKey, tampered, default, out _));
        }

        Assert.Equal(32, pair.Bob.Decrypt(message).Length);
    }

    [Fact]
    public void Session_SurvivesSerialisation_WithSkippedKeysPending()
    {
        using var pair = Establish();
        var early = pair.Bob.Encrypt(Text("early"));
        var late = pair.Bob.Encrypt(Text("late"));
        Assert.Equal("late", Read(pair.Alice.Decrypt(late)));

        using var restoredAlice = Clone(pair.Alice);
        using var restoredBob = Clone(pair.Bob);
        Assert.Equal("early", Read(restoredAlice.Decrypt(early)));
        Assert.Throws<DuplicateMessageException>(() => restoredAlice.Decrypt(late));
        Assert.Equal("x", Read(restoredBob.Decrypt(restoredAlice.Encrypt(Text("x")))));
        Assert.Equal("y", Read(restoredAlice.Decrypt(restoredBob.Encrypt(Text("y")))));
    }

    [Fact]
    public void Deserialize_OfTruncatedOrAlteredState_IsRefused()
    {
        using var pair = Establish();
        var state = pair.Alice.Serialize();
        for (var length = 0; length < state.Length; length++)
        {
            Assert.Throws<InvalidStateFormatException>(() => Session.Deserialize(state.AsSpan(0, length)));
        }

        var wrongVersion = (byte[])state.Clone();
        wrongVersion[3] = 0x7F;
        Assert.Throws<InvalidStateFormatException>(() => Session.Deserialize(wrongVersion));
        Assert.Throws<InvalidStateFormatException>(() => Session.Deserialize([.. state, 0x00]));
    }

    [Fact]
    public void ForwardSecrecy_AStateCapturedLater_CannotDecryptEarlierMessages()
    {
        using var pair = Establish();
        var earlier = Enumerable.Range(0, 10).Select(i => pair.Bob.Encrypt(Text($"secret {i}"))).ToList();
        foreach (var message in earlier)
        {
            pair.Alice.Decrypt(message);
        }

        pair.Bob.Decrypt(pair.Alice.Encrypt(Text("turn")));
        earlier.Add(pair.Bob.Encrypt(Text("after turn")));
        pair.Alice.Decrypt(earlier[^1]);

        // The attacker captures Alice's full state now (keys included) and replays the traffic it recorded.
        using var captured = Clone(pair.Alice);
        foreach (var message in earlier)
        {
            Assert.ThrowsAny<CryptoException>(() => captured.Decrypt(message));
        }
    }

    [Fact]
    public void PostCompromise_AfterBothSidesRatchet_ALeakedStateCannotDecryptNewMessages()
    {
        using var pair = Establish();
        pair.Alice.Decrypt(pair.Bob.Encrypt(Text("warm up")));

        using var leaked = Clone(pair.Alice);
        pair.Bob.Decrypt(pair.Alice.Encrypt(Text("a1")));
        var reply = pair.Bob.Encrypt(Text("b1"));
        // The leak is real: it still reads what is encrypted to Alice's ratchet key as leaked.
        using (var probe = Clone(leaked))
        {
            Assert.Equal("b1", Read(probe.Decrypt(reply)));
        }

        pair.Alice.Decrypt(reply);
        // Alice ratchets with a fresh key the attacker never saw; Bob answers to it.
        pair.Bob.Decrypt(pair.Alice.Encrypt(Text("a2")));
        var healed = pair.Bob.Encrypt(Text("b2"));
        var healedLater = pair.Bob.Encrypt(Text("b3"));
        leaked.Decrypt(reply);
        Assert.ThrowsAny<CryptoException>(() => leaked.Decrypt(healed));
        Assert.ThrowsAny<CryptoException>(() => leaked.Decrypt(healedLater));
        Assert.Equal("b2", Read(pair.Alice.Decrypt(healed)));
    }

    [Fact]
    public void Decrypt_OfGarbage_IsMalformed()
    {
        using var pair = Establish();
        Assert.Throws<MalformedMessageException>(() => pair.Alice.Decrypt([]));
        Assert.Throws<MalformedMessageException>(() => pair.Alice.Decrypt([0x02, 0x01, 0x00]));
        Assert.Throws<MalformedMessageException>(() => pair.Alice.Decrypt([Session.WireVersion, 0x09, 0x00]));
        Assert.Throws<MalformedMessageException>(() => pair.Alice.Decrypt(new byte[20] { Session.WireVersion, Session.NormalMessageType, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }));
    }
}
