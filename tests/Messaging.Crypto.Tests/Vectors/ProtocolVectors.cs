using System.Text;
using Messaging.Crypto.Keys;
using Messaging.Crypto.Ratchet;
using Messaging.Crypto.X3dh;

namespace Messaging.Crypto.Tests.Vectors;

/// <summary>
/// The fixed inputs of the protocol test vectors in docs/crypto.md, and the computation that turns them into
/// outputs. Every secret and every message nonce is a fixed byte pattern and Ed25519 is deterministic, so the
/// outputs are exact and an independent implementation can reproduce them byte for byte.
/// </summary>
internal static class ProtocolVectors
{
    public static byte[] Pattern(byte first) => Enumerable.Range(0, 32).Select(i => (byte)(first + i)).ToArray();

    public static byte[] Repeat(byte value) => Enumerable.Repeat(value, 32).ToArray();

    public static byte[] Nonce(byte value) => Enumerable.Repeat(value, 24).ToArray();

    /// <summary>Hands out fixed key pairs and message nonces in order; the first key pair is the X3DH ephemeral
    /// (initiator only).</summary>
    private sealed class FixedKeys(byte[][] nonces, params byte[][] secrets) : IRatchetKeySource
    {
        private int _next;
        private int _nextNonce;

        public X25519KeyPair Next() => X25519KeyPair.FromSecretKey(secrets[_next++]);

        public void NextNonce(Span<byte> nonce) => nonces[_nextNonce++].CopyTo(nonce);
    }

    public static IReadOnlyList<(string Name, string Hex)> Compute()
    {
        var outputs = new List<(string, string)>();
        void Add(string name, ReadOnlySpan<byte> value) => outputs.Add((name, Convert.ToHexStringLower(value)));

        using var alice = IdentityKeyPair.FromSecrets(Pattern(0x00), Pattern(0x20));
        using var bob = IdentityKeyPair.FromSecrets(Pattern(0x40), Pattern(0x60));
        using var spk = SignedPreKeyPair.FromSecret(bob, 1, Pattern(0x80));
        using var opk = OneTimePreKeyPair.FromSecret(2, Pattern(0xA0));
        Add("alice.identity", alice.PublicKey.ToBytes());
        Add("bob.identity", bob.PublicKey.ToBytes());
        Add("bob.spk.public", spk.PublicKey.PublicKey);
        Add("bob.spk.signature", spk.PublicKey.Signature);
        Add("bob.opk.public", opk.PublicKey.PublicKey);

        var bundle = new PreKeyBundle(bob.PublicKey, spk.PublicKey, opk.PublicKey);
        using (var ephemeral = X25519KeyPair.FromSecretKey(Pattern(0xC0)))
        using (var secret = X3dhAgreement.Initiate(alice, bundle, ephemeral))
        {
            Add("alice.ek.public", ephemeral.PublicKey);
            Add("x3dh.sk", secret.SharedKey);
            Add("x3dh.ad", secret.AssociatedData);
        }

        using var aliceSession = Session.Initiate(alice, bundle, new FixedKeys([Nonce(0xF1), Nonce(0xF3)], Pattern(0xC0), Repeat(0xE1), Repeat(0xE3)));
        var m1 = aliceSession.Encrypt(Encoding.UTF8.GetBytes("hello bob"), Encoding.UTF8.GetBytes("vector-1"));
        Add("m1", m1);
        using var bobSession = Session.AcceptPreKeyMessage(bob, spk, opk, m1, Encoding.UTF8.GetBytes("vector-1"), new FixedKeys([Nonce(0xF2)], Repeat(0xE2), Repeat(0xE4)), TimeProvider.System, out var p1);
        Add("m1.plaintext", p1);
        var m2 = bobSession.Encrypt(Encoding.UTF8.GetBytes("hello alice"), Encoding.UTF8.GetBytes("vector-2"));
        Add("m2", m2);
        Add("m2.plaintext", aliceSession.Decrypt(m2, Encoding.UTF8.GetBytes("vector-2")));
        var m3 = aliceSession.Encrypt(Encoding.UTF8.GetBytes("third"), default);
        Add("m3", m3);
        Add("m3.plaintext", bobSession.Decrypt(m3));
        return outputs;
    }
}
