using FsCheck.Xunit;
using Messaging.Crypto.Ratchet;
using static Messaging.Crypto.Tests.Ratchet.SessionPair;

namespace Messaging.Crypto.Tests.Ratchet;

/// <summary>
/// Random conversations over an unreliable network: messages are reordered, duplicated and lost (within the
/// skipped-key bound), and either side may restart from its serialised state. FsCheck draws the seed and
/// reports it on failure, so any counterexample replays exactly.
/// </summary>
public sealed class RatchetPropertyTests
{
    private sealed record InFlight(int Id, bool ToBob, byte[] Message);

    [Property(MaxTest = 60)]
    public void RandomInterleavings_DeliverEveryMessageExactlyOnce_WithItsContent(int seed)
    {
        var random = new Random(seed);
        using var pair = Establish();
        var alice = pair.Alice;
        var bob = pair.Bob;
        var contents = new Dictionary<int, string>();
        var decrypted = new HashSet<int>();
        var network = new List<InFlight>();
        var nextId = 0;

        // Receiving DH steps per receiver, and the step at which each remote ratchet key was first seen: a skipped key
        // expires after Session.MaxSkippedKeyRatchetSteps steps, so a message that late may be refused as gone.
        var dhSteps = new[] { 0, 0 };
        var firstSeen = new[] { new Dictionary<string, int>(), new Dictionary<string, int>() };

        void Deliver(InFlight item)
        {
            var receiver = item.ToBob ? bob : alice;
            var side = item.ToBob ? 1 : 0;
            var ratchetKey = Convert.ToHexString(item.Message.AsSpan(item.Message[1] == Session.PreKeyMessageType ? Session.PreKeyPrefixLength : 2, 32));
            if (decrypted.Contains(item.Id))
            {
                Assert.Throws<DuplicateMessageException>(() => receiver.Decrypt(item.Message, BitConverter.GetBytes(item.Id)));
                return;
            }

            if (firstSeen[side].TryGetValue(ratchetKey, out var seenAt) && dhSteps[side] - seenAt >= Session.MaxSkippedKeyRatchetSteps - 1)
            {
                try
                {
                    Assert.Equal(contents[item.Id], Read(receiver.Decrypt(item.Message, BitConverter.GetBytes(item.Id))));
                }
                catch (DuplicateMessageException)
                {
                    // Its skipped key expired: the message counts as lost.
                }

                decrypted.Add(item.Id);
                return;
            }

            Assert.Equal(contents[item.Id], Read(receiver.Decrypt(item.Message, BitConverter.GetBytes(item.Id))));
            decrypted.Add(item.Id);
            if (!firstSeen[side].ContainsKey(ratchetKey))
            {
                firstSeen[side][ratchetKey] = ++dhSteps[side];
            }
        }

        var steps = random.Next(50, 250);
        for (var step = 0; step < steps; step++)
        {
            var roll = random.Next(100);
            if (roll < 40)
            {
                var toBob = random.Next(2) == 0;
                var id = nextId++;
                contents[id] = $"message {id} from {(toBob ? "alice" : "bob")} {random.Next()}";
                var sender = toBob ? alice : bob;
                network.Add(new InFlight(id, toBob, sender.Encrypt(Text(contents[id]), BitConverter.GetBytes(id))));
            }
            else if (roll < 80 && network.Count > 0)
            {
                var index = random.Next(network.Count);
                var item = network[index];
                if (random.Next(5) != 0)
                {
                    network.RemoveAt(index);
                }

                Deliver(item);
            }
            else if (roll < 88 && network.Count > 0)
            {
                network.RemoveAt(random.Next(network.Count));
            }
            else if (roll < 94)
            {
                var restarted = Clone(alice);
                alice.Dispose();
                alice = restarted;
            }
            else
            {
                var restarted = Clone(bob);
                bob.Dispose();
                bob = restarted;
            }
        }

        while (network.Count > 0)
        {
            var index = random.Next(network.Count);
            var item = network[index];
            network.RemoveAt(index);
            Deliver(item);
        }

        Assert.Equal("end", Read(bob.Decrypt(alice.Encrypt(Text("end")))));
        Assert.Equal("end", Read(alice.Decrypt(bob.Encrypt(Text("end")))));
        if (!ReferenceEquals(alice, pair.Alice))
        {
            alice.Dispose();
        }

        if (!ReferenceEquals(bob, pair.Bob))
        {
            bob.Dispose();
        }
    }

    [Property(MaxTest = 25)]
    public void RandomSingleByteTamper_IsAlwaysRejected_AndChangesNothing(int seed)
    {
        var random = new Random(seed);
        using var pair = Establish();
        for (var i = random.Next(4); i > 0; i--)
        {
            pair.Alice.Decrypt(pair.Bob.Encrypt(Text("x")));
            pair.Bob.Decrypt(pair.Alice.Encrypt(Text("y")));
        }

        var plaintext = new byte[random.Next(0, 2048)];
        random.NextBytes(plaintext);
        var message = pair.Bob.Encrypt(plaintext);
        var before = pair.Alice.Serialize();
        var tampered = (byte[])message.Clone();
        tampered[random.Next(tampered.Length)] ^= (byte)(1 << random.Next(8));
        Assert.ThrowsAny<CryptoException>(() => pair.Alice.Decrypt(tampered));
        Assert.Equal(before, pair.Alice.Serialize());
        Assert.Equal(plaintext, pair.Alice.Decrypt(message));
    }
    [Property(MaxTest = 30)]
    public void ForwardSecrecy_ARandomlyTimedCapture_CannotDecryptAnyEarlierMessage(int seed)
    {
        var random = new Random(seed);
        using var pair = Establish();
        var recordedToAlice = new List<byte[]>();
        var rounds = random.Next(1, 12);
        for (var round = 0; round < rounds; round++)
        {
            for (var i = random.Next(1, 5); i > 0; i--)
            {
                var message = pair.Bob.Encrypt(Text($"to alice {round}/{i}"));
                recordedToAlice.Add(message);
                pair.Alice.Decrypt(message);
            }

            for (var i = random.Next(0, 3); i > 0; i--)
            {
                pair.Bob.Decrypt(pair.Alice.Encrypt(Text($"to bob {round}/{i}")));
            }
        }

        using var captured = Clone(pair.Alice);
        foreach (var message in recordedToAlice)
        {
            Assert.ThrowsAny<CryptoException>(() => captured.Decrypt(message));
        }
    }

    [Property(MaxTest = 30)]
    public void PostCompromise_AfterBothSidesRatchet_ALeakedStateCannotDecryptLaterMessages(int seed)
    {
        var random = new Random(seed);
        using var pair = Establish();
        for (var i = random.Next(0, 6); i > 0; i--)
        {
            pair.Alice.Decrypt(pair.Bob.Encrypt(Text("before")));
            pair.Bob.Decrypt(pair.Alice.Encrypt(Text("before")));
        }

        pair.Alice.Decrypt(pair.Bob.Encrypt(Text("sync")));
        using var leaked = Clone(pair.Alice);

        // Both sides take a DH step the attacker does not see: Alice sends with a fresh key, Bob answers to it.
        pair.Bob.Decrypt(pair.Alice.Encrypt(Text("alice ratchets")));
        pair.Alice.Decrypt(pair.Bob.Encrypt(Text("bob ratchets")));
        pair.Bob.Decrypt(pair.Alice.Encrypt(Text("alice ratchets again")));
        var later = Enumerable.Range(0, random.Next(1, 6)).Select(i => pair.Bob.Encrypt(Text($"later {i}"))).ToList();
        foreach (var message in later)
        {
            Assert.ThrowsAny<CryptoException>(() => leaked.Decrypt(message));
        }

        foreach (var message in later)
        {
            pair.Alice.Decrypt(message);
        }
    }
}
