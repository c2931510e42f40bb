using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Messaging.Crypto.Keys;
using Messaging.Crypto.Primitives;

namespace Messaging.Crypto.Ratchet;

/// <summary>Source of fresh ratchet key pairs and message nonces: random in production, deterministic for test vectors.</summary>
internal interface IRatchetKeySource
{
    X25519KeyPair Next();

    /// <summary>Fills the 24-byte nonce of the next message.</summary>
    void NextNonce(Span<byte> nonce);
}

internal sealed class RandomRatchetKeySource : IRatchetKeySource
{
    public static readonly RandomRatchetKeySource Instance = new();

    public X25519KeyPair Next() => X25519KeyPair.Generate();

    public void NextNonce(Span<byte> nonce) => LibSodium.RandomBytes(nonce);
}

/// <summary>
/// The Double Ratchet (Signal's specification) over X25519, keyed BLAKE2b and XChaCha20-Poly1305.
/// <list type="bullet">
/// <item>KDF_RK(rk, dh) = BLAKE2b-512(key = rk, personal = "messaging.rk.v1\0", message = dh) → rk' = [0..32), ck = [32..64).</item>
/// <item>KDF_CK(ck) = BLAKE2b-512(key = ck, personal = "messaging.ck.v1\0", empty message) → mk = [0..32), ck' = [32..64).</item>
/// <item>ENCRYPT(mk, pt, ad) = XChaCha20-Poly1305(key = mk, nonce = a fresh random 24-byte nonce, ad). Each mk should
/// encrypt one message; the random nonce is the defence in depth for when it does not (a state restored from an older
/// copy re-derives the same mk): two encryptions still never share a key and nonce.</item>
/// <item>Header (40 bytes): ratchet public key (32) || PN (u32 BE) || N (u32 BE).</item>
/// </list>
/// A message is <c>prefix || header || nonce (24) || ciphertext</c>; the AEAD's associated data is
/// <c>sessionAD || prefix || header || nonce || callerAD</c>, so every byte before the ciphertext is authenticated.
/// Skipped message keys are deleted once <see cref="MaxSkippedKeyRatchetSteps"/> receiving DH steps have happened
/// since they were stored, or once they are <see cref="MaxSkippedKeyAge"/> old, whichever comes first.
/// Every decryption works on temporaries and commits only after the AEAD tag verified: a failed or
/// rejected message leaves the state exactly as it was.
/// </summary>
internal sealed class DoubleRatchet : IDisposable
{
    /// <summary>The most message keys one incoming message may make us skip (in one chain).</summary>
    public const int MaxSkip = 1000;

    /// <summary>The most skipped message keys kept across chains; the oldest are deleted first.</summary>
    public const int MaxStoredSkippedKeys = 2000;

    /// <summary>How many earlier remote ratchet keys are remembered to classify late replays as duplicates.</summary>
    public const int MaxRetiredRemoteKeys = 64;

    /// <summary>A skipped key is deleted once this many receiving DH ratchet steps have happened since it was stored.</summary>
    public const int MaxSkippedKeyRatchetSteps = 20;

    public const int HeaderLength = 40;
    public const int NonceLength = LibSodium.AeadNonceBytes;
    public const int KeyLength = 32;
    private const byte StateVersion = 0x02;
    private const byte StateVersion1 = 0x01;
    private const int SkippedEntryLength = KeyLength + 4 + 4 + 8 + KeyLength;

    private static ReadOnlySpan<byte> StateMagic => "MDR"u8;

    // BLAKE2b personalisations (16 bytes each): they separate the two KDFs from each other and from any other
    // use of BLAKE2b, as HKDF's info string and HMAC's constant inputs would.
    private static ReadOnlySpan<byte> RootPersonal => "messaging.rk.v1\0"u8;
    private static ReadOnlySpan<byte> ChainPersonal => "messaging.ck.v1\0"u8;

    private readonly byte[] _rootKey;
    private readonly byte[] _associatedData;
    private readonly Dictionary<SkippedKeyId, SkippedKey> _skipped = [];
    private readonly Queue<SkippedKeyId> _skippedOrder = new();
    private readonly Queue<PublicKeyId> _retiredRemoteKeys = new();
    private readonly IRatchetKeySource _keySource;
    private readonly TimeProvider _time;
    private X25519KeyPair _sendingRatchetKey;
    private byte[]? _receivingRatchetKey;
    private byte[]? _sendingChainKey;
    private byte[]? _receivingChainKey;
    private uint _sendCount;
    private uint _receiveCount;
    private uint _previousSendCount;

    // Receiving DH ratchet steps taken so far: the clock that skipped keys expire by, besides their age.
    private uint _receivingSteps;
    private bool _disposed;

    private DoubleRatchet(byte[] rootKey, byte[] associatedData, X25519KeyPair sendingRatchetKey, IRatchetKeySource keySource, TimeProvider time)
    {
        _rootKey = rootKey;
        _associatedData = associatedData;
        _sendingRatchetKey = sendingRatchetKey;
        _keySource = keySource;
        _time = time;
    }

    /// <summary>A skipped key is deleted once it is this old: a message later than that is most likely lost, and a key
    /// kept for it is one more secret a stolen state would expose.</summary>
    public static TimeSpan MaxSkippedKeyAge { get; } = TimeSpan.FromDays(7);

    public int SkippedKeyCount => _skipped.Count;

    public bool IsDisposed => _disposed;

    internal ReadOnlySpan<byte> AssociatedData => _associatedData;

    /// <summary>Alice: knows Bob's signed prekey, sends first.</summary>
    public static DoubleRatchet InitializeAsInitiator(ReadOnlySpan<byte> sharedKey, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> remoteRatchetKey, IRatchetKeySource? keySource = null, TimeProvider? time = null)
    {
        keySource ??= RandomRatchetKeySource.Instance;
        var ratchet = new DoubleRatchet(sharedKey.ToArray(), associatedData.ToArray(), keySource.Next(), keySource, time ?? TimeProvider.System)
        {
            _receivingRatchetKey = remoteRatchetKey.ToArray(),
            _sendingChainKey = new byte[KeyLength],
        };
        Span<byte> dh = stackalloc byte[KeyLength];
        ratchet._sendingRatchetKey.Agree(remoteRatchetKey, dh);
        RootStep(ratchet._rootKey, dh, ratchet._sendingChainKey);
        LibSodium.Zero(dh);
        return ratchet;
    }

    /// <summary>Bob: starts with his signed prekey as ratchet key and waits for Alice's first message.</summary>
    public static DoubleRatchet InitializeAsResponder(ReadOnlySpan<byte> sharedKey, ReadOnlySpan<byte> associatedData, X25519KeyPair signedPreKey, IRatchetKeySource? keySource = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(signedPreKey);
        // The ratchet owns (and later zeroes) a copy: the prekey store keeps its own.
        var own = X25519KeyPair.FromSecretKey(signedPreKey.SecretKey);
        return new DoubleRatchet(sharedKey.ToArray(), associatedData.ToArray(), own, keySource ?? RandomRatchetKeySource.Instance, time ?? TimeProvider.System);
    }

    /// <summary>Encrypts <paramref name="plaintext"/>; returns <c>prefix || header || nonce || ciphertext</c>.</summary>
    /// <exception cref="InvalidOperationException">No sending chain yet (a responder must first receive).</exception>
    public byte[] Encrypt(ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> callerAssociatedData)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_sendingChainKey is null)
        {
            throw new InvalidOperationException("The session has no sending chain until it has received a message.");
        }

        var headerEnd = prefix.Length + HeaderLength;
        var nonceEnd = headerEnd + NonceLength;
        var output = new byte[nonceEnd + plaintext.Length + LibSodium.AeadTagBytes];
        prefix.CopyTo(output);
        var header = output.AsSpan(prefix.Length, HeaderLength);
        _sendingRatchetKey.PublicKey.CopyTo(header);
        BinaryPrimitives.WriteUInt32BigEndian(header[32..], _previousSendCount);
        BinaryPrimitives.WriteUInt32BigEndian(header[36..], _sendCount);
        var nonce = output.AsSpan(headerEnd, NonceLength);
        _keySource.NextNonce(nonce);

        Span<byte> messageKey = stackalloc byte[KeyLength];
        ChainStep(_sendingChainKey, messageKey, _sendingChainKey);
        _sendCount = checked(_sendCount + 1);
        Seal(output.AsSpan(nonceEnd), plaintext, output.AsSpan(0, nonceEnd), nonce, callerAssociatedData, messageKey);
        LibSodium.Zero(messageKey);
        return output;
    }

    /// <summary>Decrypts a message whose ratchet header starts at <paramref name="prefixLength"/>.</summary>
    /// <exception cref="MalformedMessageException">Too short to hold a header, a nonce and a tag.</exception>
    /// <exception cref="DuplicateMessageException">Already decrypted, or its key is gone.</exception>
    /// <exception cref="TooManySkippedMessagesException">Beyond <see cref="MaxSkip"/>.</exception>
    /// <exception cref="MessageAuthenticationException">Tampered, or not for this session.</exception>
    public byte[] Decrypt(ReadOnlySpan<byte> message, int prefixLength, ReadOnlySpan<byte> callerAssociatedData)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var headerEnd = prefixLength + HeaderLength;
        var nonceEnd = headerEnd + NonceLength;
        if (prefixLength < 0 || message.Length < nonceEnd + LibSodium.AeadTagBytes)
        {
            throw new MalformedMessageException("The message is too short to hold a ratchet header, a nonce and a tag.");
        }

        var header = message.Slice(prefixLength, HeaderLength);
        var remoteKey = header[..32];
        var previousCount = BinaryPrimitives.ReadUInt32BigEndian(header[32..]);
        var number = BinaryPrimitives.ReadUInt32BigEndian(header[36..]);
        var sealedMessage = new SealedMessage(message[..nonceEnd], message.Slice(headerEnd, NonceLength), message[nonceEnd..]);

        if (_skipped.Count > 0 && TryDecryptSkipped(remoteKey, number, sealedMessage, callerAssociatedData, out var fromSkipped))
        {
            return fromSkipped;
        }

        if (_receivingRatchetKey is not null && _receivingChainKey is not null && remoteKey.SequenceEqual(_receivingRatchetKey))
        {
            return DecryptInCurrentChain(remoteKey, number, sealedMessage, callerAssociatedData);
        }

        if (_retiredRemoteKeys.Contains(PublicKeyId.From(remoteKey)))
        {
            throw new DuplicateMessageException("The message belongs to an earlier chain and its key is gone.");
        }

        return DecryptWithNewRatchetKey(remoteKey, previousCount, number, sealedMessage, callerAssociatedData);
    }

    private bool TryDecryptSkipped(ReadOnlySpan<byte> remoteKey, uint number, SealedMessage message, ReadOnlySpan<byte> callerAd, out byte[] plaintext)
    {
        var id = SkippedKeyId.From(remoteKey, number);
        var now = Now();
        if (!_skipped.TryGetValue(id, out var skipped) || IsExpired(skipped, now))
        {
            // An expired key is as good as deleted (the next commit or Serialize deletes it): the message then reads
            // as a duplicate, like any message whose key is gone.
            plaintext = [];
            return false;
        }

        plaintext = Open(message, callerAd, skipped.Key);
        _skipped.Remove(id);
        LibSodium.Zero(skipped.Key);
        DeleteExpiredSkippedKeys(now);
        return true;
    }

    private byte[] DecryptInCurrentChain(ReadOnlySpan<byte> remoteKey, uint number, SealedMessage message, ReadOnlySpan<byte> callerAd)
    {
        if (number < _receiveCount)
        {
            throw new DuplicateMessageException("The message was already decrypted or its key was deleted.");
        }

        if (number - _receiveCount > MaxSkip)
        {
            throw new TooManySkippedMessagesException($"The message would skip more than {MaxSkip} keys.");
        }

        Span<byte> chainKey = stackalloc byte[KeyLength];
        Span<byte> messageKey = stackalloc byte[KeyLength];
        _receivingChainKey.AsSpan().CopyTo(chainKey);
        List<(SkippedKeyId, byte[])>? skipped = null;
        try
        {
            SkipAhead(chainKey, remoteKey, _receiveCount, number, ref skipped);
            ChainStep(chainKey, messageKey, chainKey);
            var plaintext = Open(message, callerAd, messageKey);

            chainKey.CopyTo(_receivingChainKey);
            _receiveCount = number + 1;
            StoreSkipped(skipped);
            skipped = null;
            return plaintext;
        }
        finally
        {
            LibSodium.Zero(chainKey);
            LibSodium.Zero(messageKey);
            ZeroAll(skipped);
        }
    }

    private byte[] DecryptWithNewRatchetKey(ReadOnlySpan<byte> remoteKey, uint previousCount, uint number, SealedMessage message, ReadOnlySpan<byte> callerAd)
    {
        var hasCurrentChain = _receivingChainKey is not null && _receivingRatchetKey is not null;
        var toSkipInCurrent = hasCurrentChain && previousCount > _receiveCount ? previousCount - _receiveCount : 0;
        if (toSkipInCurrent > MaxSkip || number > MaxSkip)
        {
            throw new TooManySkippedMessagesException($"The message would skip more than {MaxSkip} keys.");
        }

        Span<byte> oldChainKey = stackalloc byte[KeyLength];
        Span<byte> dh = stackalloc byte[KeyLength];
        Span<byte> rootKey = stackalloc byte[KeyLength];
        Span<byte> chainKey = stackalloc byte[KeyLength];
        Span<byte> messageKey = stackalloc byte[KeyLength];
        List<(SkippedKeyId, byte[])>? skipped = null;
        X25519KeyPair? nextSending = null;
        try
        {
            if (toSkipInCurrent > 0)
            {
                _receivingChainKey.AsSpan().CopyTo(oldChainKey);
                SkipAhead(oldChainKey, _receivingRatchetKey, _receiveCount, previousCount, ref skipped);
            }

            _sendingRatchetKey.Agree(remoteKey, dh);
            _rootKey.AsSpan().CopyTo(rootKey);
            RootStep(rootKey, dh, chainKey);
            SkipAhead(chainKey, remoteKey, 0, number, ref skipped);
            ChainStep(chainKey, messageKey, chainKey);
            var plaintext = Open(message, callerAd, messageKey);

            // Authenticated: commit the receiving step, then the sending step (a fresh ratchet key).
            nextSending = _keySource.Next();
            nextSending.Agree(remoteKey, dh);
            _sendingChainKey ??= new byte[KeyLength];
            RootStep(rootKey, dh, _sendingChainKey);

            _receivingSteps = unchecked(_receivingSteps + 1);
            StoreSkipped(skipped);
            skipped = null;
            if (_receivingRatchetKey is null)
            {
                _receivingRatchetKey = remoteKey.ToArray();
            }
            else
            {
                _retiredRemoteKeys.Enqueue(PublicKeyId.From(_receivingRatchetKey));
                if (_retiredRemoteKeys.Count > MaxRetiredRemoteKeys)
                {
                    _retiredRemoteKeys.Dequeue();
                }

                // A public key, and only its value was retired: the array can hold the new one.
                remoteKey.CopyTo(_receivingRatchetKey);
            }

            _receivingChainKey ??= new byte[KeyLength];
            chainKey.CopyTo(_receivingChainKey);
            rootKey.CopyTo(_rootKey);
            _previousSendCount = _sendCount;
            _sendCount = 0;
            _receiveCount = number + 1;
            _sendingRatchetKey.Dispose();
            _sendingRatchetKey = nextSending;
            nextSending = null;
            return plaintext;
        }
        finally
        {
            LibSodium.Zero(oldChainKey);
            LibSodium.Zero(dh);
            LibSodium.Zero(rootKey);
            LibSodium.Zero(chainKey);
            LibSodium.Zero(messageKey);
            ZeroAll(skipped);
            nextSending?.Dispose();
        }
    }

    /// <summary>Advances <paramref name="chainKey"/> from <paramref name="from"/> to <paramref name="until"/>, collecting the skipped keys.</summary>
    private static void SkipAhead(Span<byte> chainKey, ReadOnlySpan<byte> ratchetKey, uint from, uint until, ref List<(SkippedKeyId, byte[])>? skipped)
    {
        for (var n = from; n < until; n++)
        {
            var messageKey = new byte[KeyLength];
            ChainStep(chainKey, messageKey, chainKey);
            (skipped ??= []).Add((SkippedKeyId.From(ratchetKey, n), messageKey));
        }
    }

    private void StoreSkipped(List<(SkippedKeyId Id, byte[] Key)>? skipped)
    {
        if (skipped is null)
        {
            if (_skipped.Count > 0)
            {
                DeleteExpiredSkippedKeys(Now());
            }

            return;
        }

        var now = Now();
        foreach (var (id, key) in skipped)
        {
            if (_skipped.TryAdd(id, new SkippedKey(key, _receivingSteps, now)))
            {
                _skippedOrder.Enqueue(id);
            }
            else
            {
                LibSodium.Zero(key);
            }
        }

        // The bound on stored keys: evict the oldest. The queue may hold ids already used; skip them.
        while (_skipped.Count > MaxStoredSkippedKeys && _skippedOrder.TryDequeue(out var oldest))
        {
            if (_skipped.Remove(oldest, out var evicted))
            {
                LibSodium.Zero(evicted.Key);
            }
        }

        DeleteExpiredSkippedKeys(now);

        if (_skippedOrder.Count > 2 * MaxStoredSkippedKeys)
        {
            var live = _skippedOrder.Where(_skipped.ContainsKey).ToArray();
            _skippedOrder.Clear();
            foreach (var id in live)
            {
                _skippedOrder.Enqueue(id);
            }
        }
    }

    private long Now() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private bool IsExpired(SkippedKey key, long now)
        => unchecked(_receivingSteps - key.Step) >= MaxSkippedKeyRatchetSteps
            || now - key.StoredAt >= (long)MaxSkippedKeyAge.TotalMilliseconds;

    /// <summary>Deletes (and zeroes) the expired keys at the front of the storage order. Keys are stored in order of
    /// step and time, so the scan stops at the first live one; <see cref="WriteTo"/> drops any other expired key.</summary>
    private void DeleteExpiredSkippedKeys(long now)
    {
        while (_skippedOrder.TryPeek(out var oldest))
        {
            if (_skipped.TryGetValue(oldest, out var key))
            {
                if (!IsExpired(key, now))
                {
                    return;
                }

                _skipped.Remove(oldest);
                LibSodium.Zero(key.Key);
            }

            _skippedOrder.Dequeue();
        }
    }

    private static void ZeroAll(List<(SkippedKeyId, byte[] Key)>? keys)
    {
        if (keys is null)
        {
            return;
        }

        foreach (var (_, key) in keys)
        {
            LibSodium.Zero(key);
        }
    }

    /// <summary>KDF_RK: (rk', ck) = BLAKE2b-512(key = rk, personal = "messaging.rk.v1\0", message = dh), split in halves.
    /// A PRF keyed by the root key over the fresh DH output; the output also stays pseudorandom to someone who
    /// knows the root key but not the DH output (post-compromise recovery), as with HKDF.</summary>
    internal static void RootStep(Span<byte> rootKey, ReadOnlySpan<byte> dhOutput, Span<byte> chainKey)
    {
        Span<byte> output = stackalloc byte[2 * KeyLength];
        LibSodium.Blake2b(output, rootKey, RootPersonal, dhOutput);
        output[..KeyLength].CopyTo(rootKey);
        output[KeyLength..].CopyTo(chainKey);
        LibSodium.Zero(output);
    }

    /// <summary>KDF_CK: (mk, ck') = BLAKE2b-512(key = ck, personal = "messaging.ck.v1\0", empty message), split in
    /// halves: one compression for both keys. <paramref name="nextChainKey"/> may alias <paramref name="chainKey"/>:
    /// both outputs are written only after the digest is complete.</summary>
    internal static void ChainStep(ReadOnlySpan<byte> chainKey, Span<byte> messageKey, Span<byte> nextChainKey)
    {
        Span<byte> output = stackalloc byte[2 * KeyLength];
        LibSodium.Blake2b(output, chainKey, ChainPersonal, default);
        output[..KeyLength].CopyTo(messageKey);
        output[KeyLength..].CopyTo(nextChainKey);
        LibSodium.Zero(output);
    }

    private void Seal(Span<byte> ciphertext, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> authenticated, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> callerAd, ReadOnlySpan<byte> messageKey)
    {
        var adLength = _associatedData.Length + authenticated.Length + callerAd.Length;
        byte[]? rented = null;
        var ad = adLength <= 1024 ? stackalloc byte[adLength] : (rented = ArrayPool<byte>.Shared.Rent(adLength)).AsSpan(0, adLength);
        try
        {
            WriteAssociatedData(ad, authenticated, callerAd);
            LibSodium.AeadSeal(ciphertext, plaintext, ad, nonce, messageKey);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private byte[] Open(SealedMessage message, ReadOnlySpan<byte> callerAd, ReadOnlySpan<byte> messageKey)
    {
        var adLength = _associatedData.Length + message.Authenticated.Length + callerAd.Length;
        byte[]? rented = null;
        var ad = adLength <= 1024 ? stackalloc byte[adLength] : (rented = ArrayPool<byte>.Shared.Rent(adLength)).AsSpan(0, adLength);
        try
        {
            WriteAssociatedData(ad, message.Authenticated, callerAd);
            var plaintext = new byte[message.Ciphertext.Length - LibSodium.AeadTagBytes];
            if (!LibSodium.AeadOpen(plaintext, message.Ciphertext, ad, message.Nonce, messageKey))
            {
                LibSodium.Zero(plaintext);
                throw new MessageAuthenticationException("The message failed authentication.");
            }

            return plaintext;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private void WriteAssociatedData(Span<byte> ad, ReadOnlySpan<byte> authenticated, ReadOnlySpan<byte> callerAd)
    {
        _associatedData.CopyTo(ad);
        authenticated.CopyTo(ad[_associatedData.Length..]);
        callerAd.CopyTo(ad[(_associatedData.Length + authenticated.Length)..]);
    }

    /// <summary>
    /// Versioned state encoding (version 2): "MDR" || 0x02 || RK || DHs secret || flags (bit0 DHr, bit1 CKs, bit2 CKr)
    /// || [DHr] || [CKs] || [CKr] || Ns || Nr || PN || receiving DH steps (u32 BE) || AD length (u16 BE) || AD
    /// || skipped count (u32 BE) || (ratchet key || N (u32 BE) || step stored (u32 BE) || time stored (i64 BE, Unix ms)
    /// || mk)* oldest first || retired count (u16 BE) || ratchet key*. Expired skipped keys are deleted first.
    /// Written into an array of exactly the encoded length: no growing buffer leaves copies of the keys behind.
    /// </summary>
    public byte[] Serialize()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var live = PrepareSerialization();
        var state = new byte[SerializedLength(live)];
        WriteTo(state, live);
        return state;
    }

    /// <summary>Deletes the expired skipped keys and lists the live ones, oldest first, for <see cref="WriteTo"/>.</summary>
    internal List<SkippedKeyId> PrepareSerialization()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var now = Now();
        foreach (var (id, key) in _skipped.Where(entry => IsExpired(entry.Value, now)).ToList())
        {
            _skipped.Remove(id);
            LibSodium.Zero(key.Key);
        }

        return _skippedOrder.Where(_skipped.ContainsKey).Distinct().ToList();
    }

    internal int SerializedLength(List<SkippedKeyId> live)
    {
        var chainKeys = (_receivingRatchetKey is null ? 0 : 1) + (_sendingChainKey is null ? 0 : 1) + (_receivingChainKey is null ? 0 : 1);
        return 4 + (2 * KeyLength) + 1 + (chainKeys * KeyLength) + (4 * 4) + 2 + _associatedData.Length
            + 4 + (live.Count * SkippedEntryLength) + 2 + (_retiredRemoteKeys.Count * KeyLength);
    }

    /// <summary>Writes exactly <see cref="SerializedLength"/> bytes.</summary>
    internal void WriteTo(Span<byte> destination, List<SkippedKeyId> live)
    {
        var writer = new StateWriter(destination);
        writer.Write(StateMagic);
        writer.Write(StateVersion);
        writer.Write(_rootKey);
        writer.Write(_sendingRatchetKey.SecretKey);
        writer.Write((byte)((_receivingRatchetKey is null ? 0 : 1) | (_sendingChainKey is null ? 0 : 2) | (_receivingChainKey is null ? 0 : 4)));
        if (_receivingRatchetKey is not null)
        {
            writer.Write(_receivingRatchetKey);
        }

        if (_sendingChainKey is not null)
        {
            writer.Write(_sendingChainKey);
        }

        if (_receivingChainKey is not null)
        {
            writer.Write(_receivingChainKey);
        }

        writer.WriteUInt32(_sendCount);
        writer.WriteUInt32(_receiveCount);
        writer.WriteUInt32(_previousSendCount);
        writer.WriteUInt32(_receivingSteps);
        writer.WriteUInt16((ushort)_associatedData.Length);
        writer.Write(_associatedData);
        writer.WriteUInt32((uint)live.Count);
        foreach (var id in live)
        {
            var skipped = _skipped[id];
            id.RatchetKey.Write(writer.Next(KeyLength));
            writer.WriteUInt32(id.Number);
            writer.WriteUInt32(skipped.Step);
            writer.WriteInt64(skipped.StoredAt);
            writer.Write(skipped.Key);
        }

        writer.WriteUInt16((ushort)_retiredRemoteKeys.Count);
        foreach (var retired in _retiredRemoteKeys)
        {
            retired.Write(writer.Next(KeyLength));
        }

        writer.EnsureEnd();
    }

    /// <summary>Reads version 2, and version 1 (no step or time per skipped key: they are stored anew, now, at step 0).
    /// On failure every secret read so far is zeroed.</summary>
    /// <exception cref="InvalidStateFormatException">Not a state this version can read.</exception>
    public static DoubleRatchet Deserialize(ReadOnlySpan<byte> state, IRatchetKeySource? keySource = null, TimeProvider? time = null, Action<byte[]>? secretRead = null)
    {
        time ??= TimeProvider.System;
        var reader = new StateReader(state);
        if (!reader.Take(3).SequenceEqual(StateMagic))
        {
            throw new InvalidStateFormatException("Not a ratchet state of a known version.");
        }

        var version = reader.Take(1)[0];
        if (version is not StateVersion and not StateVersion1)
        {
            throw new InvalidStateFormatException("Not a ratchet state of a known version.");
        }

        byte[]? rootKey = null;
        byte[]? sendingChainKey = null;
        byte[]? receivingChainKey = null;
        X25519KeyPair? sendingKey = null;
        DoubleRatchet? ratchet = null;
        byte[] ReadSecret(ref StateReader source)
        {
            var secret = source.Take(KeyLength).ToArray();
            secretRead?.Invoke(secret);
            return secret;
        }

        try
        {
            rootKey = ReadSecret(ref reader);
            sendingKey = X25519KeyPair.FromSecretKey(reader.Take(KeyLength));
            var flags = reader.Take(1)[0];
            if ((flags & ~7) != 0)
            {
                throw new InvalidStateFormatException("Unknown ratchet state flags.");
            }

            var receivingRatchetKey = (flags & 1) != 0 ? reader.Take(KeyLength).ToArray() : null;
            sendingChainKey = (flags & 2) != 0 ? ReadSecret(ref reader) : null;
            receivingChainKey = (flags & 4) != 0 ? ReadSecret(ref reader) : null;
            var sendCount = reader.UInt32();
            var receiveCount = reader.UInt32();
            var previousSendCount = reader.UInt32();
            var receivingSteps = version == StateVersion ? reader.UInt32() : 0;
            var ad = reader.Take(reader.UInt16()).ToArray();
            ratchet = new DoubleRatchet(rootKey, ad, sendingKey, keySource ?? RandomRatchetKeySource.Instance, time)
            {
                _receivingRatchetKey = receivingRatchetKey,
                _sendingChainKey = sendingChainKey,
                _receivingChainKey = receivingChainKey,
                _sendCount = sendCount,
                _receiveCount = receiveCount,
                _previousSendCount = previousSendCount,
                _receivingSteps = receivingSteps,
            };
            var skippedCount = reader.UInt32();
            if (skippedCount > MaxStoredSkippedKeys)
            {
                throw new InvalidStateFormatException("The state holds more skipped keys than allowed.");
            }

            var now = ratchet.Now();
            for (var i = 0; i < skippedCount; i++)
            {
                var id = SkippedKeyId.From(reader.Take(KeyLength), reader.UInt32());
                var step = version == StateVersion ? reader.UInt32() : 0;
                var storedAt = version == StateVersion ? reader.Int64() : now;
                var key = ReadSecret(ref reader);
                if (!ratchet._skipped.TryAdd(id, new SkippedKey(key, step, storedAt)))
                {
                    LibSodium.Zero(key);
                    throw new InvalidStateFormatException("Duplicate skipped key in the state.");
                }

                ratchet._skippedOrder.Enqueue(id);
            }

            var retiredCount = reader.UInt16();
            if (retiredCount > MaxRetiredRemoteKeys)
            {
                throw new InvalidStateFormatException("The state holds more retired keys than allowed.");
            }

            for (var i = 0; i < retiredCount; i++)
            {
                ratchet._retiredRemoteKeys.Enqueue(PublicKeyId.From(reader.Take(KeyLength)));
            }

            reader.EnsureEnd();
            return ratchet;
        }
        catch
        {
            if (ratchet is not null)
            {
                ratchet.Dispose();
            }
            else
            {
                LibSodium.Zero(rootKey);
                LibSodium.Zero(sendingChainKey);
                LibSodium.Zero(receivingChainKey);
                sendingKey?.Dispose();
            }

            throw;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        LibSodium.Zero(_rootKey);
        LibSodium.Zero(_sendingChainKey);
        LibSodium.Zero(_receivingChainKey);
        foreach (var key in _skipped.Values)
        {
            LibSodium.Zero(key.Key);
        }

        _skipped.Clear();
        _sendingRatchetKey.Dispose();
        _disposed = true;
    }

    /// <summary>The parts of a received message the AEAD needs: everything before the ciphertext (authenticated), the
    /// nonce (also inside the authenticated part) and the ciphertext with its tag.</summary>
    private readonly ref struct SealedMessage(ReadOnlySpan<byte> authenticated, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext)
    {
        public ReadOnlySpan<byte> Authenticated { get; } = authenticated;

        public ReadOnlySpan<byte> Nonce { get; } = nonce;

        public ReadOnlySpan<byte> Ciphertext { get; } = ciphertext;
    }

    /// <summary>A stored skipped message key, with the receiving DH step and the time (Unix ms) it was stored at.</summary>
    private readonly record struct SkippedKey(byte[] Key, uint Step, long StoredAt);

    /// <summary>A skipped key's identity: the remote ratchet key and the message number, without allocating.</summary>
    internal readonly record struct SkippedKeyId(PublicKeyId RatchetKey, uint Number)
    {
        public static SkippedKeyId From(ReadOnlySpan<byte> ratchetKey, uint number) => new(PublicKeyId.From(ratchetKey), number);
    }

    /// <summary>A 32-byte public ratchet key held as four words: compared and stored without allocating
    /// (public values, so the comparison need not be constant-time).</summary>
    internal readonly record struct PublicKeyId(ulong K0, ulong K1, ulong K2, ulong K3)
    {
        public static PublicKeyId From(ReadOnlySpan<byte> key)
        {
            var words = MemoryMarshal.Cast<byte, ulong>(key[..KeyLength]);
            return new PublicKeyId(words[0], words[1], words[2], words[3]);
        }

        public void Write(Span<byte> destination)
        {
            var words = MemoryMarshal.Cast<byte, ulong>(destination[..KeyLength]);
            words[0] = K0;
            words[1] = K1;
            words[2] = K2;
            words[3] = K3;
        }
    }
}
