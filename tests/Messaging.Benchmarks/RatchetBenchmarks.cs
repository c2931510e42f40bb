using BenchmarkDotNet.Attributes;
using Messaging.Crypto.Keys;
using Messaging.Crypto.Primitives;
using Messaging.Crypto.Ratchet;

namespace Messaging.Benchmarks;

/// <summary>
/// The Double Ratchet against the bare libsodium primitives it must call, for a 1 KiB message.
/// One operation = one message encrypted by one side and decrypted by the other.
/// <list type="bullet">
/// <item>One-way stream: the receiver never answers, so there is no DH step: a chain step per side and one AEAD seal+open.</item>
/// <item>Ping-pong: every message answers the previous one, so every message carries a new ratchet key (a DH step).</item>
/// </list>
/// The "primitives" rows are the baseline, unchanged: one XChaCha20-Poly1305 seal+open, two HMAC-SHA256
/// and, for ping-pong, two X25519, through the same bindings, with nothing else. The "all it must call" rows
/// are what the construction (docs/crypto.md, wire version 2) really calls per message: a fresh 24-byte random
/// nonce, seal+open over the version 2 associated data (24 bytes longer: the nonce), two KDF_CK (the sender's and
/// the receiver's chain step, one keyed BLAKE2b each) and, on a DH step, two X25519, a fresh key pair
/// (32 random bytes and a fixed-base X25519) and two KDF_RK (keyed BLAKE2b).
/// </summary>
[MemoryDiagnoser]
public class RatchetBenchmarks
{
    private const int MessageSize = 1024;
    private static readonly byte[] Nonce = new byte[LibSodium.AeadNonceBytes];
    private static readonly byte[] MessageKeyConstant = [0x01];

    private readonly byte[] _plaintext = new byte[MessageSize];
    private readonly byte[] _ciphertext = new byte[MessageSize + LibSodium.AeadTagBytes];
    private readonly byte[] _opened = new byte[MessageSize];
    private readonly byte[] _ad = new byte[128 + 42];
    private readonly byte[] _adVersion2 = new byte[128 + 2 + 40 + 24];
    private readonly byte[] _nonce = new byte[LibSodium.AeadNonceBytes];
    private readonly byte[] _key = new byte[32];
    private readonly byte[] _mac = new byte[32];
    private readonly byte[] _scalar = new byte[32];
    private readonly byte[] _point = new byte[32];
    private readonly byte[] _shared = new byte[32];
    private readonly byte[] _point2 = new byte[32];
    private readonly byte[] _kdfOutput = new byte[64];
    private readonly byte[] _secret = new byte[32];
    private static readonly byte[] RootPersonal = "messaging.rk.v1\0"u8.ToArray();
    private static readonly byte[] ChainPersonal = "messaging.ck.v1\0"u8.ToArray();

    private IdentityKeyPair _aliceIdentity = null!;
    private IdentityKeyPair _bobIdentity = null!;
    private SignedPreKeyPair _bobSignedPreKey = null!;
    private Session _oneWaySender = null!;
    private Session _oneWayReceiver = null!;
    private Session _pingPongA = null!;
    private Session _pingPongB = null!;

    [GlobalSetup]
    public void Setup()
    {
        LibSodium.RandomBytes(_plaintext);
        LibSodium.RandomBytes(_key);
        LibSodium.RandomBytes(_ad);
        LibSodium.RandomBytes(_adVersion2);
        LibSodium.RandomBytes(_scalar);
        LibSodium.X25519Base(_point, _key);
        _aliceIdentity = IdentityKeyPair.Generate();
        _bobIdentity = IdentityKeyPair.Generate();
        _bobSignedPreKey = SignedPreKeyPair.Generate(_bobIdentity, 1);
        (_oneWaySender, _oneWayReceiver) = Establish();
        (_pingPongA, _pingPongB) = Establish();
        // Settle both pairs past the prekey phase so every measured message is a normal one.
        _oneWayReceiver.Decrypt(_oneWaySender.Encrypt(_plaintext));
        _oneWaySender.Decrypt(_oneWayReceiver.Encrypt(_plaintext));
        _pingPongB.Decrypt(_pingPongA.Encrypt(_plaintext));
        _pingPongA.Decrypt(_pingPongB.Encrypt(_plaintext));
    }

    private (Session Alice, Session Bob) Establish()
    {
        var bundle = new PreKeyBundle(_bobIdentity.PublicKey, _bobSignedPreKey.PublicKey, null);
        var alice = Session.Initiate(_aliceIdentity, bundle);
        var bob = Session.AcceptPreKeyMessage(_bobIdentity, _bobSignedPreKey, null, alice.Encrypt(_plaintext), default, out _);
        return (alice, bob);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _oneWaySender.Dispose();
        _oneWayReceiver.Dispose();
        _pingPongA.Dispose();
        _pingPongB.Dispose();
        _bobSignedPreKey.Dispose();
        _aliceIdentity.Dispose();
        _bobIdentity.Dispose();
    }

    [Benchmark(Description = "OneWay: ratchet encrypt+decrypt")]
    public byte[] OneWayRatchet() => _oneWayReceiver.Decrypt(_oneWaySender.Encrypt(_plaintext));

    [Benchmark(Description = "OneWay: primitives (seal+open, 2 HMAC)")]
    public byte[] OneWayPrimitives()
    {
        SealOpen();
        Hmac();
        Hmac();
        return _opened;
    }

    [Benchmark(Description = "OneWay: all it must call (nonce, seal+open, 2 KDF_CK)")]
    public byte[] OneWayPrimitivesBothChainSteps()
    {
        SealOpenVersion2();
        ChainKdf();
        ChainKdf();
        return _opened;
    }

    [Benchmark(Description = "PingPong: ratchet encrypt+decrypt")]
    public byte[] PingPongRatchet()
    {
        var plaintext = _pingPongB.Decrypt(_pingPongA.Encrypt(_plaintext));
        (_pingPongA, _pingPongB) = (_pingPongB, _pingPongA);
        return plaintext;
    }

    [Benchmark(Description = "PingPong: primitives (seal+open, 2 HMAC, 2 X25519)")]
    public byte[] PingPongPrimitives()
    {
        SealOpen();
        Hmac();
        Hmac();
        LibSodium.X25519(_shared, _scalar, _point);
        LibSodium.X25519(_shared, _scalar, _point);
        return _opened;
    }

    [Benchmark(Description = "PingPong: all it must call (+keygen, 2 KDF_RK, 2 KDF_CK, nonce)")]
    public byte[] PingPongPrimitivesWithKeyGeneration()
    {
        SealOpenVersion2();
        ChainKdf();
        ChainKdf();
        LibSodium.X25519(_shared, _scalar, _point);
        LibSodium.X25519(_shared, _scalar, _point);
        LibSodium.RandomBytes(_secret);
        LibSodium.X25519Base(_point2, _secret);
        LibSodium.Blake2b(_kdfOutput, _key, RootPersonal, _shared);
        LibSodium.Blake2b(_kdfOutput, _key, RootPersonal, _shared);
        return _opened;
    }

    private void SealOpen()
    {
        LibSodium.AeadSeal(_ciphertext, _plaintext, _ad, Nonce, _key);
        LibSodium.AeadOpen(_opened, _ciphertext, _ad, Nonce, _key);
    }

    /// <summary>What wire version 2 does per message: a fresh random nonce, and the nonce in the associated data.</summary>
    private void SealOpenVersion2()
    {
        LibSodium.RandomBytes(_nonce);
        LibSodium.AeadSeal(_ciphertext, _plaintext, _adVersion2, _nonce, _key);
        LibSodium.AeadOpen(_opened, _ciphertext, _adVersion2, _nonce, _key);
    }

    private void Hmac() => LibSodium.HmacSha256(_mac, _key, MessageKeyConstant);

    private void ChainKdf() => LibSodium.Blake2b(_kdfOutput, _key, ChainPersonal, default);
}
