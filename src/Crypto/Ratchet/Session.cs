using System.Buffers.Binary;
using Messaging.Crypto.Keys;
using Messaging.Crypto.Primitives;
using Messaging.Crypto.X3dh;

namespace Messaging.Crypto.Ratchet;

/// <summary>What a prekey message tells the responder before it can decrypt it.</summary>
/// <param name="Initiator">The initiator's verified identity.</param>
/// <param name="EphemeralKey">The initiator's X3DH ephemeral public key (32 bytes).</param>
/// <param name="SignedPreKeyId">The responder's signed prekey the initiator used.</param>
/// <param name="OneTimePreKeyId">The responder's one-time prekey the initiator used, if any.</param>
public sealed record PreKeyMessageInfo(IdentityPublicKey Initiator, byte[] EphemeralKey, uint SignedPreKeyId, uint? OneTimePreKeyId);

/// <summary>
/// A pairwise end-to-end session between two devices: X3DH to start, the Double Ratchet afterwards.
/// <para>Wire format version 2 (see docs/crypto.md): <c>version 0x02 || type || [prekey fields] || ratchet header (40)
/// || nonce (24) || ciphertext</c>, type 0x01 a normal message, 0x02 a prekey message carrying <c>initiator identity (129)
/// || EK (32) || SPK id (u32 BE) || has-OPK (0/1) || OPK id (u32 BE)</c>. The nonce is fresh and random for every
/// message. The initiator sends prekey messages until it has decrypted the responder's first reply. Version 1
/// messages (a fixed all-zero nonce) are refused with <see cref="UnsupportedMessageVersionException"/>.</para>
/// <para>Skipped message keys expire by receiving DH steps and by age; the age is read from the
/// <see cref="TimeProvider"/> given when the session is created or deserialized (the system clock by default).</para>
/// <para>Not thread-safe: a session is one device's state for one remote device; serialise access.</para>
/// </summary>
public sealed class Session : IDisposable
{
    /// <summary>The wire version tag (byte 0 of every message); the server checks it and nothing else.</summary>
    public const byte WireVersion = 0x02;

    /// <summary>The former wire version (a fixed all-zero AEAD nonce), refused since version 2.</summary>
    public const byte RetiredWireVersion = 0x01;

    /// <summary>The length of the random AEAD nonce each message carries after its ratchet header.</summary>
    public const int NonceLength = DoubleRatchet.NonceLength;

    /// <summary>A skipped message key is deleted once this many receiving DH ratchet steps have happened since it was stored.</summary>
    public const int MaxSkippedKeyRatchetSteps = DoubleRatchet.MaxSkippedKeyRatchetSteps;

    /// <summary>Type byte of a normal message.</summary>
    public const byte NormalMessageType = 0x01;

    /// <summary>Type byte of a prekey (session-starting) message.</summary>
    public const byte PreKeyMessageType = 0x02;

    /// <summary>The bound on message keys one message may skip in a chain (lost or reordered messages).</summary>
    public const int MaxSkippedMessages = DoubleRatchet.MaxSkip;

    /// <summary>The length of the prefix a prekey message carries before its ratchet header: version, type and the
    /// prekey fields (2 + 129 + 32 + 4 + 1 + 4 = 172 bytes).</summary>
    public const int PreKeyPrefixLength = 2 + PreKeyFieldsLength;

    private const int PreKeyFieldsLength = IdentityPublicKey.EncodedLength + 32 + 4 + 1 + 4;
    private const byte StateVersion = 0x02;
    private const byte StateVersion1 = 0x01;
    private static ReadOnlySpan<byte> StateMagic => "MSS"u8;

    private readonly DoubleRatchet _ratchet;
    private readonly byte[] _initiationEphemeralKey;
    private byte[]? _pendingPreKeyPrefix;

    private Session(DoubleRatchet ratchet, IdentityPublicKey remoteIdentity, byte[] initiationEphemeralKey, byte[]? pendingPreKeyPrefix)
    {
        _ratchet = ratchet;
        RemoteIdentity = remoteIdentity;
        _initiationEphemeralKey = initiationEphemeralKey;
        _pendingPreKeyPrefix = pendingPreKeyPrefix;
    }

    /// <summary>The remote device's identity, as verified when the session started.</summary>
    public IdentityPublicKey RemoteIdentity { get; }

    /// <summary>A skipped message key is deleted once it is this old (it is also deleted after
    /// <see cref="MaxSkippedKeyRatchetSteps"/> DH steps).</summary>
    public static TimeSpan MaxSkippedKeyAge => DoubleRatchet.MaxSkippedKeyAge;

    /// <summary>True until the initiator has decrypted a reply: its messages still carry the prekey fields.</summary>
    public bool IsAwaitingReply => _pendingPreKeyPrefix is not null;

    /// <summary>The X3DH ephemeral key that started this session (identifies it among prekey messages).</summary>
    public ReadOnlySpan<byte> InitiationEphemeralKey => _initiationEphemeralKey;

    /// <summary>Starts a session towards the device that published <paramref name="remote"/>.</summary>
    /// <exception cref="SignatureVerificationException">The bundle's signed prekey is not signed by its identity.</exception>
    /// <exception cref="InvalidKeyException">A bundle key is unusable (low-order point).</exception>
    public static Session Initiate(IdentityKeyPair local, PreKeyBundle remote) => Initiate(local, remote, RandomRatchetKeySource.Instance, TimeProvider.System);

    /// <summary>Starts a session towards the device that published <paramref name="remote"/>, reading the age of skipped
    /// message keys from <paramref name="timeProvider"/>.</summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="SignatureVerificationException">The bundle's signed prekey is not signed by its identity.</exception>
    /// <exception cref="InvalidKeyException">A bundle key is unusable (low-order point).</exception>
    public static Session Initiate(IdentityKeyPair local, PreKeyBundle remote, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        return Initiate(local, remote, RandomRatchetKeySource.Instance, timeProvider);
    }

    internal static Session Initiate(IdentityKeyPair local, PreKeyBundle remote, IRatchetKeySource keySource, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(local);
        ArgumentNullException.ThrowIfNull(remote);
        using var ephemeral = keySource.Next();
        using var secret = X3dhAgreement.Initiate(local, remote, ephemeral);
        var prefix = new byte[2 + PreKeyFieldsLength];
        prefix[0] = WireVersion;
        prefix[1] = PreKeyMessageType;
        var fields = prefix.AsSpan(2);
        local.PublicKey.ToBytes().CopyTo(fields);
        ephemeral.PublicKey.CopyTo(fields[IdentityPublicKey.EncodedLength..]);
        var ids = fields[(IdentityPublicKey.EncodedLength + 32)..];
        BinaryPrimitives.WriteUInt32BigEndian(ids, remote.SignedPreKey.Id);
        if (remote.OneTimePreKey is { } opk)
        {
            ids[4] = 1;
            BinaryPrimitives.WriteUInt32BigEndian(ids[5..], opk.Id);
        }

        var ratchet = DoubleRatchet.InitializeAsInitiator(secret.SharedKey, secret.AssociatedData, remote.SignedPreKey.PublicKey, keySource, time);
        return new Session(ratchet, remote.Identity, ephemeral.PublicKey.ToArray(), prefix);
    }

    /// <summary>Reads the prekey fields of a message without decrypting it; null for a normal message.</summary>
    /// <exception cref="UnsupportedMessageVersionException">A version 1 message.</exception>
    /// <exception cref="MalformedMessageException">Unknown version or type, truncated, or an invalid identity.</exception>
    public static PreKeyMessageInfo? ReadPreKeyInfo(ReadOnlySpan<byte> message) => ReadPreKeyInfo(message, knownInitiator: null);

    /// <summary>Reads the prekey fields; an identity encoded exactly as <paramref name="knownInitiator"/> (already
    /// verified when the session started) is not verified again — every later message of a session that has had no reply
    /// carries it.</summary>
    private static PreKeyMessageInfo? ReadPreKeyInfo(ReadOnlySpan<byte> message, IdentityPublicKey? knownInitiator)
    {
        var type = ReadType(message);
        if (type == NormalMessageType)
        {
            return null;
        }

        var fields = message.Slice(2, PreKeyFieldsLength);
        IdentityPublicKey initiator;
        try
        {
            var encodedInitiator = fields[..IdentityPublicKey.EncodedLength];
            initiator = knownInitiator is not null && knownInitiator.IsEncodedAs(encodedInitiator)
                ? knownInitiator
                : IdentityPublicKey.Parse(encodedInitiator);
        }
        catch (SignatureVerificationException)
        {
            throw new MalformedMessageException("The prekey message's identity binding does not verify.");
        }

        var ephemeral = fields.Slice(IdentityPublicKey.EncodedLength, 32).ToArray();
        var ids = fields[(IdentityPublicKey.EncodedLength + 32)..];
        var signedPreKeyId = BinaryPrimitives.ReadUInt32BigEndian(ids);
        uint? oneTimePreKeyId = ids[4] switch
        {
            0 => null,
            1 => BinaryPrimitives.ReadUInt32BigEndian(ids[5..]),
            _ => throw new MalformedMessageException("Invalid one-time prekey flag."),
        };
        if (oneTimePreKeyId is null && BinaryPrimitives.ReadUInt32BigEndian(ids[5..]) != 0)
        {
            throw new MalformedMessageException("A prekey message without a one-time prekey must carry id 0.");
        }

        return new PreKeyMessageInfo(initiator, ephemeral, signedPreKeyId, oneTimePreKeyId);
    }

    /// <summary>
    /// Responder: starts a session from a prekey message and decrypts it. Nothing is kept when it fails;
    /// delete the one-time prekey only after this returns.
    /// </summary>
    /// <exception cref="MalformedMessageException">Not a well-formed prekey message, or the prekeys do not match its ids.</exception>
    /// <exception cref="MessageAuthenticationException">The message does not authenticate.</exception>
    public static Session AcceptPreKeyMessage(IdentityKeyPair local, SignedPreKeyPair signedPreKey, OneTimePreKeyPair? oneTimePreKey, ReadOnlySpan<byte> message, ReadOnlySpan<byte> associatedData, out byte[] plaintext)
        => AcceptPreKeyMessage(local, signedPreKey, oneTimePreKey, message, associatedData, RandomRatchetKeySource.Instance, TimeProvider.System, out plaintext);

    /// <summary>
    /// Responder: starts a session from a prekey message and decrypts it, reading the age of skipped message keys from
    /// <paramref name="timeProvider"/>. Nothing is kept when it fails; delete the one-time prekey only after this returns.
    /// </summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="UnsupportedMessageVersionException">A version 1 message.</exception>
    /// <exception cref="MalformedMessageException">Not a well-formed prekey message, or the prekeys do not match its ids.</exception>
    /// <exception cref="MessageAuthenticationException">The message does not authenticate.</exception>
    public static Session AcceptPreKeyMessage(IdentityKeyPair local, SignedPreKeyPair signedPreKey, OneTimePreKeyPair? oneTimePreKey, ReadOnlySpan<byte> message, ReadOnlySpan<byte> associatedData, TimeProvider timeProvider, out byte[] plaintext)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        return AcceptPreKeyMessage(local, signedPreKey, oneTimePreKey, message, associatedData, RandomRatchetKeySource.Instance, timeProvider, out plaintext);
    }

    internal static Session AcceptPreKeyMessage(IdentityKeyPair local, SignedPreKeyPair signedPreKey, OneTimePreKeyPair? oneTimePreKey, ReadOnlySpan<byte> message, ReadOnlySpan<byte> associatedData, IRatchetKeySource keySource, TimeProvider time, out byte[] plaintext)
    {
        ArgumentNullException.ThrowIfNull(local);
        ArgumentNullException.ThrowIfNull(signedPreKey);
        var info = ReadPreKeyInfo(message) ?? throw new MalformedMessageException("Not a prekey message.");
        if (info.SignedPreKeyId != signedPreKey.Id || info.OneTimePreKeyId != oneTimePreKey?.Id)
        {
            throw new MalformedMessageException("The prekeys given do not match the ids the message names.");
        }

        using var secret = X3dhAgreement.Respond(local, signedPreKey, oneTimePreKey, info.Initiator, info.EphemeralKey);
        var ratchet = DoubleRatchet.InitializeAsResponder(secret.SharedKey, secret.AssociatedData, signedPreKey.KeyPair, keySource, time);
        try
        {
            plaintext = ratchet.Decrypt(message, PreKeyPrefixLength, associatedData);
        }
        catch
        {
            ratchet.Dispose();
            throw;
        }

        return new Session(ratchet, info.Initiator, info.EphemeralKey, pendingPreKeyPrefix: null);
    }

    /// <summary>True when a prekey message continues this session (same initiator and ephemeral key), rather than starting a new one.</summary>
    public bool Continues(PreKeyMessageInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        return info.Initiator.Equals(RemoteIdentity) && LibSodium.FixedTimeEquals(info.EphemeralKey, _initiationEphemeralKey);
    }

    /// <summary>Encrypts for the remote device. <paramref name="associatedData"/> (for example the envelope id and kind)
    /// is authenticated, not sent: the receiver must pass the same bytes.</summary>
    public byte[] Encrypt(ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData = default)
        => _ratchet.Encrypt(_pendingPreKeyPrefix ?? [WireVersion, NormalMessageType], plaintext, associatedData);

    /// <summary>Decrypts a message of this session (normal, or a prekey message that <see cref="Continues"/> it).
    /// On any exception the session is unchanged.</summary>
    /// <exception cref="UnsupportedMessageVersionException">A version 1 message.</exception>
    /// <exception cref="MalformedMessageException">Unknown version or type, truncated, or a prekey message of another session.</exception>
    /// <exception cref="DuplicateMessageException">A replay or duplicate, or a late message whose skipped key expired.</exception>
    /// <exception cref="TooManySkippedMessagesException">Beyond <see cref="MaxSkippedMessages"/>.</exception>
    /// <exception cref="MessageAuthenticationException">Tampered, or not for this session.</exception>
    public byte[] Decrypt(ReadOnlySpan<byte> message, ReadOnlySpan<byte> associatedData = default)
    {
        var type = ReadType(message);
        var prefixLength = 2;
        if (type == PreKeyMessageType)
        {
            var info = ReadPreKeyInfo(message, RemoteIdentity)!;
            if (!Continues(info))
            {
                throw new MalformedMessageException("The prekey message starts another session.");
            }

            prefixLength += PreKeyFieldsLength;
        }

        var plaintext = _ratchet.Decrypt(message, prefixLength, associatedData);
        _pendingPreKeyPrefix = null;
        return plaintext;
    }

    private static byte ReadType(ReadOnlySpan<byte> message)
    {
        if (message.Length >= 2 && message[0] == RetiredWireVersion)
        {
            throw new UnsupportedMessageVersionException(
                RetiredWireVersion,
                "A version 1 session message (fixed nonce) is no longer accepted: the sender must update and send it again.");
        }

        if (message.Length < 2 || message[0] != WireVersion)
        {
            throw new MalformedMessageException($"Not a version {WireVersion} session message.");
        }

        var type = message[1];
        if (type is not NormalMessageType and not PreKeyMessageType)
        {
            throw new MalformedMessageException("Unknown session message type.");
        }

        if (type == PreKeyMessageType && message.Length < 2 + PreKeyFieldsLength)
        {
            throw new MalformedMessageException("The prekey message is truncated.");
        }

        return type;
    }

    /// <summary>Versioned encoding (version 2): "MSS" || 0x02 || remote identity (129) || EK (32) || pending prefix length
    /// (u16 BE, 0 or 172) || pending prefix || ratchet state length (u32 BE) || ratchet state. Written into an array of
    /// exactly that length, with no intermediate copy of the ratchet state. Expired skipped keys are deleted first.
    /// Store it only encrypted (the key store), and clear it when done.</summary>
    /// <returns>The encoded state.</returns>
    /// <exception cref="ObjectDisposedException">The session was disposed.</exception>
    public byte[] Serialize()
    {
        var live = _ratchet.PrepareSerialization();
        var ratchetLength = _ratchet.SerializedLength(live);
        var pending = _pendingPreKeyPrefix ?? [];
        var state = new byte[4 + IdentityPublicKey.EncodedLength + 32 + 2 + pending.Length + 4 + ratchetLength];
        var writer = new StateWriter(state);
        writer.Write(StateMagic);
        writer.Write(StateVersion);
        writer.Write(RemoteIdentity.ToBytes());
        writer.Write(_initiationEphemeralKey);
        writer.WriteUInt16((ushort)pending.Length);
        writer.Write(pending);
        writer.WriteUInt32((uint)ratchetLength);
        _ratchet.WriteTo(writer.Next(ratchetLength), live);
        writer.EnsureEnd();
        return state;
    }

    /// <summary>Restores a session from <see cref="Serialize"/> (versions 1 and 2), reading the age of skipped message
    /// keys from the system clock. On failure every secret read so far is zeroed.</summary>
    /// <exception cref="InvalidStateFormatException">Not a session state of a known version.</exception>
    public static Session Deserialize(ReadOnlySpan<byte> state) => Deserialize(state, TimeProvider.System);

    /// <summary>Restores a session from <see cref="Serialize"/> (versions 1 and 2), reading the age of skipped message
    /// keys from <paramref name="timeProvider"/>. A version 1 state is upgraded: its pending prefix is re-tagged
    /// version 2, and its skipped keys count as stored now. On failure every secret read so far is zeroed.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="timeProvider"/> is null.</exception>
    /// <exception cref="InvalidStateFormatException">Not a session state of a known version.</exception>
    public static Session Deserialize(ReadOnlySpan<byte> state, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        return Deserialize(state, timeProvider, secretRead: null);
    }

    /// <summary>Test seam: <paramref name="secretRead"/> sees every secret array the ratchet state is read into.</summary>
    internal static Session Deserialize(ReadOnlySpan<byte> state, TimeProvider timeProvider, Action<byte[]>? secretRead)
    {
        var reader = new StateReader(state);
        if (!reader.Take(3).SequenceEqual(StateMagic))
        {
            throw new InvalidStateFormatException("Not a session state of a known version.");
        }

        var version = reader.Take(1)[0];
        if (version is not StateVersion and not StateVersion1)
        {
            throw new InvalidStateFormatException("Not a session state of a known version.");
        }

        if (!IdentityPublicKey.TryParse(reader.Take(IdentityPublicKey.EncodedLength), out var remote))
        {
            throw new InvalidStateFormatException("The session's remote identity is invalid.");
        }

        var ephemeral = reader.Take(32).ToArray();
        var pendingLength = reader.UInt16();
        if (pendingLength is not 0 and not PreKeyPrefixLength)
        {
            throw new InvalidStateFormatException("Invalid pending prekey prefix.");
        }

        var pending = pendingLength == 0 ? null : reader.Take(pendingLength).ToArray();
        if (pending is not null)
        {
            var expectedTag = version == StateVersion ? WireVersion : RetiredWireVersion;
            if (pending[0] != expectedTag || pending[1] != PreKeyMessageType)
            {
                throw new InvalidStateFormatException("Invalid pending prekey prefix.");
            }

            pending[0] = WireVersion;
        }

        var ratchet = DoubleRatchet.Deserialize(reader.Take((int)Math.Min(reader.UInt32(), int.MaxValue)), keySource: null, timeProvider, secretRead);
        try
        {
            reader.EnsureEnd();
        }
        catch
        {
            ratchet.Dispose();
            throw;
        }

        return new Session(ratchet, remote!, ephemeral, pending);
    }

    /// <inheritdoc />
    public void Dispose() => _ratchet.Dispose();
}
