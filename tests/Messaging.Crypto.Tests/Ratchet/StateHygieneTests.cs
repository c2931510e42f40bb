using Messaging.Crypto.Ratchet;
using static Messaging.Crypto.Tests.Ratchet.SessionPair;

namespace Messaging.Crypto.Tests.Ratchet;

/// <summary>Issue 9, defect 5: secrets left in memory by serialisation and by a failed deserialisation.</summary>
public sealed class StateHygieneTests
{
    [Fact]
    public void Serialize_HasExactlyTheDocumentedLength()
    {
        using var pair = Establish();
        pair.Alice.Decrypt(pair.Bob.Encrypt(Text("reply")));
        var early = pair.Bob.Encrypt(Text("early"));
        pair.Alice.Decrypt(pair.Bob.Encrypt(Text("late")));
        _ = early;

        // Alice: no pending prefix; DHr, CKs and CKr set; one skipped key; one retired ratchet key (Bob's signed
        // prekey, her first receiving ratchet key, retired by her one DH step).
        const int ratchet = 4 + 32 + 32 + 1 + (3 * 32) + (4 * 4) + 2 + 128 + 4 + 80 + 2 + 32;
        Assert.Equal(4 + 129 + 32 + 2 + 4 + ratchet, pair.Alice.Serialize().Length);

        // Bob, right after accepting: no pending prefix, DHr, CKs and CKr set, nothing skipped.
        const int bobRatchet = 4 + 32 + 32 + 1 + (3 * 32) + (4 * 4) + 2 + 128 + 4 + 2;
        using var fresh = Establish();
        Assert.Equal(4 + 129 + 32 + 2 + 4 + bobRatchet, fresh.Bob.Serialize().Length);

        // Alice before hearing back keeps the 172-byte prekey prefix, and has no receiving chain yet.
        const int aliceRatchet = 4 + 32 + 32 + 1 + (2 * 32) + (4 * 4) + 2 + 128 + 4 + 2;
        Assert.Equal(4 + 129 + 32 + 2 + 172 + 4 + aliceRatchet, fresh.Alice.Serialize().Length);
    }

    [Fact]
    public void AFailedDeserialize_ZeroesEverySecretItHadRead()
    {
        using var pair = Establish();
        var early = pair.Bob.Encrypt(Text("early"));
        pair.Alice.Decrypt(pair.Bob.Encrypt(Text("late")));
        _ = early;
        var state = pair.Alice.Serialize();

        // The ratchet state cut short by one byte (its length prefix adjusted, so the ratchet reader fails at the
        // very end, after every secret), and the whole state with a trailing byte (refused after the ratchet state).
        var ratchetLengthAt = 4 + 129 + 32 + 2;
        var truncated = state[..^1];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(truncated.AsSpan(ratchetLengthAt), (uint)(state.Length - 1 - ratchetLengthAt - 4));
        foreach (var broken in new[] { truncated, [.. state, 0x00] })
        {
            var secrets = new List<byte[]>();
            Assert.Throws<InvalidStateFormatException>(() => Session.Deserialize(broken, TimeProvider.System, secrets.Add));

            // The root key, both chain keys and the skipped message key.
            Assert.Equal(4, secrets.Count);
            Assert.All(secrets, secret => Assert.True(secret.All(b => b == 0), "a secret read before the failure was not zeroed"));
        }
    }

    [Fact]
    public void ASuccessfulDeserialize_KeepsItsSecrets()
    {
        using var pair = Establish();
        var secrets = new List<byte[]>();

        using var restored = Session.Deserialize(pair.Alice.Serialize(), TimeProvider.System, secrets.Add);

        Assert.NotEmpty(secrets);
        Assert.All(secrets, secret => Assert.Contains(secret, b => b != 0));
        Assert.Equal("ok", Read(pair.Bob.Decrypt(restored.Encrypt(Text("ok")))));
    }
}
