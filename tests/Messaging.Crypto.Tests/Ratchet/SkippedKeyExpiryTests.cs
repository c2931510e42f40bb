using System.Buffers.Binary;
using Messaging.Crypto.Ratchet;
using Microsoft.Extensions.Time.Testing;
using static Messaging.Crypto.Tests.Ratchet.SessionPair;

namespace Messaging.Crypto.Tests.Ratchet;

/// <summary>
/// Issue 9, defect 4: skipped message keys are deleted after <see cref="Session.MaxSkippedKeyRatchetSteps"/>
/// receiving DH steps or <see cref="Session.MaxSkippedKeyAge"/>, instead of waiting for the 2000-key eviction.
/// </summary>
public sealed class SkippedKeyExpiryTests
{
    private const int SkippedEntryLength = 32 + 4 + 4 + 8 + 32;

    // A fake clock that starts at an odd, fixed instant, so nothing can pass by reading the real clock.
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2031, 3, 14, 15, 9, 26, TimeSpan.Zero));

    [Fact]
    public void ASkippedKey_IsUsableJustBeforeItsMaximumAge()
    {
        using var pair = Establish();
        using var alice = AliceWithOneSkippedKey(pair, out var early);

        _clock.Advance(Session.MaxSkippedKeyAge - TimeSpan.FromMinutes(1));

        Assert.Equal("early", Read(alice.Decrypt(early)));
    }

    [Fact]
    public void ASkippedKey_OlderThanItsMaximumAge_IsDeleted_AndItsLateMessageIsRefused()
    {
        using var pair = Establish();
        using var alice = AliceWithOneSkippedKey(pair, out var early);
        var withKey = alice.Serialize().Length;

        _clock.Advance(Session.MaxSkippedKeyAge);

        Assert.Equal(withKey - SkippedEntryLength, alice.Serialize().Length);
        Assert.Throws<DuplicateMessageException>(() => alice.Decrypt(early));
        Assert.Equal("still on", Read(alice.Decrypt(pair.Bob.Encrypt(Text("still on")))));
    }

    [Fact]
    public void ASkippedKey_KeepsTheTimeItWasStored_AcrossSerialisation()
    {
        using var pair = Establish();
        using var alice = AliceWithOneSkippedKey(pair, out var early);
        var saved = alice.Serialize();

        _clock.Advance(Session.MaxSkippedKeyAge + TimeSpan.FromSeconds(1));
        using var restored = Session.Deserialize(saved, _clock);

        Assert.Throws<DuplicateMessageException>(() => restored.Decrypt(early));
    }

    [Fact]
    public void ASkippedKey_IsDeletedAfterTheMaximumNumberOfRatchetSteps()
    {
        using var pair = Establish();
        using var alice = Session.Deserialize(pair.Alice.Serialize(), _clock);
        var early = pair.Bob.Encrypt(Text("early"));
        var almostTooLate = pair.Bob.Encrypt(Text("almost too late"));
        alice.Decrypt(pair.Bob.Encrypt(Text("late")));

        // Each turn makes Bob answer with a new ratchet key: one receiving DH step for Alice.
        for (var turn = 1; turn < Session.MaxSkippedKeyRatchetSteps; turn++)
        {
            pair.Bob.Decrypt(alice.Encrypt(Text("ping")));
            alice.Decrypt(pair.Bob.Encrypt(Text("pong")));
        }

        Assert.Equal("almost too late", Read(alice.Decrypt(almostTooLate)));
        pair.Bob.Decrypt(alice.Encrypt(Text("ping")));
        alice.Decrypt(pair.Bob.Encrypt(Text("pong")));

        Assert.Throws<DuplicateMessageException>(() => alice.Decrypt(early));
    }

    [Fact]
    public void AVersionOneState_IsUpgraded_ItsSkippedKeysCountingAsStoredWhenLoaded()
    {
        using var pair = Establish();
        var early = pair.Bob.Encrypt(Text("early"));
        pair.Alice.Decrypt(pair.Bob.Encrypt(Text("late")));
        var versionOne = ToVersionOne(pair.Alice.Serialize());

        using var loaded = Session.Deserialize(versionOne, _clock);
        Assert.Equal(2, loaded.Serialize()[3]);
        _clock.Advance(Session.MaxSkippedKeyAge - TimeSpan.FromSeconds(1));
        using var reloaded = Session.Deserialize(loaded.Serialize(), _clock);
        Assert.Equal("early", Read(reloaded.Decrypt(early)));
        Assert.Equal("y", Read(pair.Bob.Decrypt(reloaded.Encrypt(Text("y")))));
    }

    [Fact]
    public void AVersionOneState_AwaitingAReply_SendsVersionTwoPrekeyMessages()
    {
        using var pair = Establish();
        var versionOne = ToVersionOne(pair.Alice.Serialize());

        using var loaded = Session.Deserialize(versionOne, _clock);
        var message = loaded.Encrypt(Text("again"));

        Assert.Equal(Session.WireVersion, message[0]);
        Assert.Equal(Session.PreKeyMessageType, message[1]);
        Assert.Equal("again", Read(pair.Bob.Decrypt(message)));
    }

    /// <summary>Alice's session on the fake clock, holding the skipped key of <paramref name="early"/>: Bob's next
    /// message reached her first.</summary>
    private Session AliceWithOneSkippedKey(SessionPair pair, out byte[] early)
    {
        var alice = Session.Deserialize(pair.Alice.Serialize(), _clock);
        early = pair.Bob.Encrypt(Text("early"));
        alice.Decrypt(pair.Bob.Encrypt(Text("late")));
        return alice;
    }

    /// <summary>Rewrites a version 2 session state in the version 1 layout (docs/crypto.md, section 6).</summary>
    private static byte[] ToVersionOne(byte[] state)
    {
        var output = new List<byte>();
        var position = 0;
        void Copy(int count)
        {
            output.AddRange(state.AsSpan(position, count).ToArray());
            position += count;
        }

        int U16() => BinaryPrimitives.ReadUInt16BigEndian(state.AsSpan(position));

        Copy(3);
        output.Add(1);
        position++;
        Copy(129 + 32);
        var pendingLength = U16();
        Copy(2);
        if (pendingLength > 0)
        {
            output.Add(1);
            position++;
            Copy(pendingLength - 1);
        }

        position += 4;
        var ratchetLengthAt = output.Count;
        output.AddRange(new byte[4]);
        var ratchetStart = output.Count;
        Copy(3);
        output.Add(1);
        position++;
        Copy(64);
        var flags = state[position];
        Copy(1 + (32 * int.PopCount(flags & 7)) + 12);
        position += 4;
        var adLength = U16();
        Copy(2 + adLength);
        var skipped = (int)BinaryPrimitives.ReadUInt32BigEndian(state.AsSpan(position));
        Copy(4);
        for (var i = 0; i < skipped; i++)
        {
            Copy(36);
            position += 12;
            Copy(32);
        }

        Copy(state.Length - position);
        var bytes = output.ToArray();
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(ratchetLengthAt), (uint)(bytes.Length - ratchetStart));
        return bytes;
    }
}
