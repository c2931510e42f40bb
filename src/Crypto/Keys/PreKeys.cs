using System.Buffers.Binary;
using Messaging.Crypto.Primitives;

namespace Messaging.Crypto.Keys;

/// <summary>
/// The public half of a signed prekey. The signature (by the identity's Ed25519 key, label
/// <c>messaging.signed-prekey.v1</c>) covers <c>id (u32 big-endian) || X25519 pk (32)</c>.
/// </summary>
public sealed record SignedPreKeyPublic
{
    private SignedPreKeyPublic(uint id, byte[] publicKey, byte[] signature)
    {
        Id = id;
        PublicKey = publicKey;
        Signature = signature;
    }

    /// <summary>Stable id chosen by the device; rotation uses a new id.</summary>
    public uint Id { get; }

    /// <summary>The X25519 public key (32 bytes).</summary>
    public byte[] PublicKey { get; }

    /// <summary>The Ed25519 signature (64 bytes).</summary>
    public byte[] Signature { get; }

    /// <summary>Creates the record after checking lengths and the signature against <paramref name="identity"/>.</summary>
    /// <exception cref="InvalidKeyException">A field has the wrong length.</exception>
    /// <exception cref="SignatureVerificationException">The signature does not verify under the identity.</exception>
    public static SignedPreKeyPublic Create(uint id, ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> signature, IdentityPublicKey identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        if (publicKey.Length != LibSodium.X25519KeyBytes || signature.Length != LibSodium.Ed25519SignatureBytes)
        {
            throw new InvalidKeyException("A signed prekey is a 32-byte X25519 key with a 64-byte signature.");
        }

        if (!identity.Verify(DomainSignature.SignedPreKey, SignedData(id, publicKey), signature))
        {
            throw new SignatureVerificationException($"Signed prekey {id} is not signed by the identity.");
        }

        return new SignedPreKeyPublic(id, publicKey.ToArray(), signature.ToArray());
    }

    internal static byte[] SignedData(uint id, ReadOnlySpan<byte> publicKey)
    {
        var data = new byte[4 + LibSodium.X25519KeyBytes];
        BinaryPrimitives.WriteUInt32BigEndian(data, id);
        publicKey.CopyTo(data.AsSpan(4));
        return data;
    }

    internal static SignedPreKeyPublic Trusted(uint id, byte[] publicKey, byte[] signature) => new(id, publicKey, signature);
}

/// <summary>The public half of a one-time prekey.</summary>
public sealed record OneTimePreKeyPublic
{
    private OneTimePreKeyPublic(uint id, byte[] publicKey)
    {
        Id = id;
        PublicKey = publicKey;
    }

    /// <summary>Stable id chosen by the device.</summary>
    public uint Id { get; }

    /// <summary>The X25519 public key (32 bytes).</summary>
    public byte[] PublicKey { get; }

    /// <summary>Creates the record after checking the key length.</summary>
    /// <exception cref="InvalidKeyException">The key is not 32 bytes.</exception>
    public static OneTimePreKeyPublic Create(uint id, ReadOnlySpan<byte> publicKey)
    {
        if (publicKey.Length != LibSodium.X25519KeyBytes)
        {
            throw new InvalidKeyException("A one-time prekey is a 32-byte X25519 key.");
        }

        return new OneTimePreKeyPublic(id, publicKey.ToArray());
    }
}

/// <summary>A signed prekey with its secret. Disposing zeroes the secret.</summary>
public sealed class SignedPreKeyPair : IDisposable
{
    private SignedPreKeyPair(uint id, X25519KeyPair keyPair, byte[] signature)
    {
        Id = id;
        KeyPair = keyPair;
        PublicKey = SignedPreKeyPublic.Trusted(id, keyPair.PublicKey, signature);
    }

    /// <summary>The prekey's id.</summary>
    public uint Id { get; }

    /// <summary>The public record to publish.</summary>
    public SignedPreKeyPublic PublicKey { get; }

    internal X25519KeyPair KeyPair { get; }

    /// <summary>Generates a new signed prekey with <paramref name="id"/>, signed by <paramref name="identity"/>.</summary>
    public static SignedPreKeyPair Generate(IdentityKeyPair identity, uint id) => Create(identity, id, X25519KeyPair.Generate());

    /// <summary>Builds a signed prekey from a fixed secret (test vectors, restore).</summary>
    public static SignedPreKeyPair FromSecret(IdentityKeyPair identity, uint id, ReadOnlySpan<byte> secretKey)
        => Create(identity, id, X25519KeyPair.FromSecretKey(secretKey));

    private static SignedPreKeyPair Create(IdentityKeyPair identity, uint id, X25519KeyPair keyPair)
    {
        ArgumentNullException.ThrowIfNull(identity);
        var signature = identity.Sign(DomainSignature.SignedPreKey, SignedPreKeyPublic.SignedData(id, keyPair.PublicKey));
        return new SignedPreKeyPair(id, keyPair, signature);
    }

    internal static SignedPreKeyPair Restore(uint id, ReadOnlySpan<byte> secretKey, byte[] signature)
        => new(id, X25519KeyPair.FromSecretKey(secretKey), signature);

    /// <inheritdoc />
    public void Dispose() => KeyPair.Dispose();
}

/// <summary>A one-time prekey with its secret. Disposing zeroes the secret.</summary>
public sealed class OneTimePreKeyPair : IDisposable
{
    private OneTimePreKeyPair(uint id, X25519KeyPair keyPair)
    {
        Id = id;
        KeyPair = keyPair;
        PublicKey = OneTimePreKeyPublic.Create(id, keyPair.PublicKey);
    }

    /// <summary>The prekey's id.</summary>
    public uint Id { get; }

    /// <summary>The public record to publish.</summary>
    public OneTimePreKeyPublic PublicKey { get; }

    internal X25519KeyPair KeyPair { get; }

    /// <summary>Generates <paramref name="count"/> one-time prekeys with consecutive ids from <paramref name="firstId"/>.</summary>
    public static IReadOnlyList<OneTimePreKeyPair> GenerateBatch(uint firstId, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var batch = new OneTimePreKeyPair[count];
        for (var i = 0; i < count; i++)
        {
            batch[i] = new OneTimePreKeyPair(unchecked(firstId + (uint)i), X25519KeyPair.Generate());
        }

        return batch;
    }

    /// <summary>Builds a one-time prekey from a fixed secret (test vectors, restore).</summary>
    public static OneTimePreKeyPair FromSecret(uint id, ReadOnlySpan<byte> secretKey) => new(id, X25519KeyPair.FromSecretKey(secretKey));

    /// <inheritdoc />
    public void Dispose() => KeyPair.Dispose();
}

/// <summary>What a sender fetches to start a session with one device: identity, signed prekey, optional one-time prekey.</summary>
/// <param name="Identity">The device's verified identity.</param>
/// <param name="SignedPreKey">The signed prekey, already verified against <paramref name="Identity"/>.</param>
/// <param name="OneTimePreKey">A one-time prekey, or null when the server had none left.</param>
public sealed record PreKeyBundle(IdentityPublicKey Identity, SignedPreKeyPublic SignedPreKey, OneTimePreKeyPublic? OneTimePreKey);
