using System.Buffers.Binary;
using System.Globalization;
using Messaging.Crypto.Primitives;

namespace Messaging.Crypto.KeyStore;

/// <summary>
/// The key store file, version 1:
/// <c>"MKS1" || 0x01 || opslimit (u32 BE) || memlimit KiB (u32 BE) || salt (16) || nonce (24) || ciphertext || tag (16)</c>.
/// The 53-byte header is the AEAD associated data, so any change to the parameters, salt or nonce fails
/// authentication. Key: Argon2id(UTF-8 passphrase, salt, opslimit, memlimit) → 32 bytes.
/// AEAD: XChaCha20-Poly1305-IETF.
/// </summary>
internal static class KeyStoreFormat
{
    public const byte Version = 0x01;
    public const int VersionOffset = 4;
    public const int OpsLimitOffset = 5;
    public const int MemoryOffset = 9;
    public const int SaltOffset = 13;
    public const int NonceOffset = SaltOffset + LibSodium.PwHashSaltBytes;
    public const int HeaderLength = NonceOffset + LibSodium.AeadNonceBytes;
    public const int MinimumFileLength = HeaderLength + LibSodium.AeadTagBytes;

    /// <summary>The largest payload accepted, so a huge file is refused before it is read into memory.</summary>
    public const int MaximumPayloadLength = 256 * 1024 * 1024;

    public const int MaximumFileLength = MinimumFileLength + MaximumPayloadLength;

    public static ReadOnlySpan<byte> Magic => "MKS1"u8;

    public static byte[] Seal(ReadOnlySpan<byte> payload, Passphrase passphrase, KeyStoreOptions options)
    {
        Span<byte> salt = stackalloc byte[LibSodium.PwHashSaltBytes];
        Span<byte> nonce = stackalloc byte[LibSodium.AeadNonceBytes];
        LibSodium.RandomBytes(salt);
        LibSodium.RandomBytes(nonce);
        return Seal(payload, passphrase, options, salt, nonce);
    }

    /// <summary>Seals with a given salt and nonce: for known-answer tests only, a reused nonce would be fatal.</summary>
    internal static byte[] Seal(ReadOnlySpan<byte> payload, Passphrase passphrase, KeyStoreOptions options, ReadOnlySpan<byte> salt, ReadOnlySpan<byte> nonce)
    {
        Span<byte> key = stackalloc byte[LibSodium.AeadKeyBytes];
        try
        {
            DeriveKey(key, passphrase, salt, options.OpsLimit, options.MemoryKiB);
            return SealWithKey(payload, key, options.OpsLimit, options.MemoryKiB, salt, nonce);
        }
        finally
        {
            LibSodium.Zero(key);
        }
    }

    /// <summary>Seals with an already derived key (an unlocked store re-saving under the same salt, fresh nonce).</summary>
    internal static byte[] SealWithKey(ReadOnlySpan<byte> payload, ReadOnlySpan<byte> key, uint opsLimit, uint memoryKiB, ReadOnlySpan<byte> salt, ReadOnlySpan<byte> nonce)
    {
        if (payload.Length > MaximumPayloadLength)
        {
            throw new ArgumentException($"A key store payload is at most {MaximumPayloadLength} bytes.", nameof(payload));
        }

        var file = new byte[MinimumFileLength + payload.Length];
        var header = file.AsSpan(0, HeaderLength);
        Magic.CopyTo(header);
        header[VersionOffset] = Version;
        BinaryPrimitives.WriteUInt32BigEndian(header[OpsLimitOffset..], opsLimit);
        BinaryPrimitives.WriteUInt32BigEndian(header[MemoryOffset..], memoryKiB);
        salt.CopyTo(header.Slice(SaltOffset, LibSodium.PwHashSaltBytes));
        nonce.CopyTo(header.Slice(NonceOffset, LibSodium.AeadNonceBytes));
        LibSodium.AeadSeal(file.AsSpan(HeaderLength), payload, header, nonce, key);
        return file;
    }

    public static SecretBytes Open(ReadOnlySpan<byte> file, Passphrase passphrase, KeyStoreLimits limits)
        => Open(file, passphrase, limits, derivedKey: default);

    /// <summary>Checks the header, derives the key (copied to <paramref name="derivedKey"/> when not empty) and opens.</summary>
    public static SecretBytes Open(ReadOnlySpan<byte> file, Passphrase passphrase, KeyStoreLimits limits, Span<byte> derivedKey)
    {
        if (file.Length < Magic.Length || !file[..Magic.Length].SequenceEqual(Magic))
        {
            throw new KeyStoreCorruptedException("The file is not a key store (bad magic).");
        }

        if (file.Length <= VersionOffset)
        {
            throw new KeyStoreCorruptedException("The key store file is truncated.");
        }

        if (file[VersionOffset] != Version)
        {
            throw new KeyStoreCorruptedException(string.Create(
                CultureInfo.InvariantCulture,
                $"The key store format version {file[VersionOffset]} is not supported (expected {Version})."));
        }

        if (file.Length < MinimumFileLength)
        {
            throw new KeyStoreCorruptedException(string.Create(
                CultureInfo.InvariantCulture,
                $"The key store file is truncated ({file.Length} bytes, at least {MinimumFileLength} expected)."));
        }

        if (file.Length > MaximumFileLength)
        {
            throw new KeyStoreCorruptedException("The key store file is larger than any key store this version writes.");
        }

        var header = file[..HeaderLength];
        var opsLimit = BinaryPrimitives.ReadUInt32BigEndian(header[OpsLimitOffset..]);
        var memoryKiB = BinaryPrimitives.ReadUInt32BigEndian(header[MemoryOffset..]);
        CheckParameters(opsLimit, memoryKiB, limits);

        var salt = header.Slice(SaltOffset, LibSodium.PwHashSaltBytes);
        var nonce = header.Slice(NonceOffset, LibSodium.AeadNonceBytes);
        var ciphertext = file[HeaderLength..];
        var plaintext = new SecretBytes(ciphertext.Length - LibSodium.AeadTagBytes);
        Span<byte> key = stackalloc byte[LibSodium.AeadKeyBytes];
        try
        {
            DeriveKey(key, passphrase, salt, opsLimit, memoryKiB);
            if (!LibSodium.AeadOpen(plaintext.Writable, ciphertext, header, nonce, key))
            {
                throw new KeyStoreAuthenticationException("The key store did not authenticate: wrong passphrase or the file was modified.");
            }

            if (!derivedKey.IsEmpty)
            {
                key.CopyTo(derivedKey);
            }

            return plaintext;
        }
        catch
        {
            plaintext.Dispose();
            throw;
        }
        finally
        {
            LibSodium.Zero(key);
        }
    }

    /// <summary>Opens with an already derived key; the salt and parameters must be the ones the key was derived for.</summary>
    public static SecretBytes OpenWithKey(ReadOnlySpan<byte> file, ReadOnlySpan<byte> key, ReadOnlySpan<byte> expectedSalt, uint expectedOpsLimit, uint expectedMemoryKiB)
    {
        if (file.Length < MinimumFileLength || file.Length > MaximumFileLength || !file[..Magic.Length].SequenceEqual(Magic) || file[VersionOffset] != Version)
        {
            throw new KeyStoreCorruptedException("The key store file is not a key store of a supported version, or is truncated.");
        }

        var header = file[..HeaderLength];
        if (!header.Slice(SaltOffset, LibSodium.PwHashSaltBytes).SequenceEqual(expectedSalt)
            || BinaryPrimitives.ReadUInt32BigEndian(header[OpsLimitOffset..]) != expectedOpsLimit
            || BinaryPrimitives.ReadUInt32BigEndian(header[MemoryOffset..]) != expectedMemoryKiB)
        {
            throw new KeyStoreAuthenticationException("The key store was rewritten under another salt or cost since it was unlocked: unlock it again.");
        }

        var ciphertext = file[HeaderLength..];
        var plaintext = new SecretBytes(ciphertext.Length - LibSodium.AeadTagBytes);
        if (!LibSodium.AeadOpen(plaintext.Writable, ciphertext, header, header.Slice(NonceOffset, LibSodium.AeadNonceBytes), key))
        {
            plaintext.Dispose();
            throw new KeyStoreAuthenticationException("The key store did not authenticate: the file was modified.");
        }

        return plaintext;
    }

    /// <summary>Reads the salt of a file already opened successfully.</summary>
    public static byte[] ReadSalt(ReadOnlySpan<byte> file) => file.Slice(SaltOffset, LibSodium.PwHashSaltBytes).ToArray();

    /// <summary>Reads the cost parameters of a file already opened successfully.</summary>
    public static (uint OpsLimit, uint MemoryKiB) ReadParameters(ReadOnlySpan<byte> file)
        => (BinaryPrimitives.ReadUInt32BigEndian(file[OpsLimitOffset..]), BinaryPrimitives.ReadUInt32BigEndian(file[MemoryOffset..]));

    private static void CheckParameters(uint opsLimit, uint memoryKiB, KeyStoreLimits limits)
    {
        if (opsLimit < limits.MinimumOpsLimit || memoryKiB < limits.MinimumMemoryKiB)
        {
            throw new KeyStoreParametersRejectedException(string.Create(
                CultureInfo.InvariantCulture,
                $"The key store's Argon2id cost (opslimit {opsLimit}, memlimit {memoryKiB} KiB) is below the accepted minimum (opslimit {limits.MinimumOpsLimit}, memlimit {limits.MinimumMemoryKiB} KiB): the file was weakened, possibly by an attacker. It was not opened."));
        }

        if (opsLimit > KeyStoreOptions.MaximumOpsLimit || memoryKiB > KeyStoreOptions.MaximumMemoryKiB)
        {
            throw new KeyStoreParametersRejectedException(string.Create(
                CultureInfo.InvariantCulture,
                $"The key store's Argon2id cost (opslimit {opsLimit}, memlimit {memoryKiB} KiB) exceeds the accepted maximum (opslimit {KeyStoreOptions.MaximumOpsLimit}, memlimit {KeyStoreOptions.MaximumMemoryKiB} KiB). It was not opened."));
        }
    }

    /// <summary>Derives the key of a new store (the caller's pinned buffer) for <paramref name="options"/>.</summary>
    public static void DeriveKey(Span<byte> key, Passphrase passphrase, ReadOnlySpan<byte> salt, KeyStoreOptions options)
        => DeriveKey(key, passphrase, salt, options.OpsLimit, options.MemoryKiB);

    private static void DeriveKey(Span<byte> key, Passphrase passphrase, ReadOnlySpan<byte> salt, uint opsLimit, uint memoryKiB)
        => LibSodium.Argon2id(key, passphrase.Utf8Bytes, salt, opsLimit, checked((nuint)(memoryKiB * 1024UL)));
}

/// <summary>
/// What identifies one written version of a key store file, for compare-and-swap saves: its length, its 53-byte
/// header (which holds the nonce, fresh and random on every save) and its 16-byte tag (which authenticates the
/// rest). Two saves never share a nonce, so a file with the same identity is the same save; reading the header and
/// the tag costs two small reads whatever the payload's size, unlike hashing the whole file.
/// </summary>
internal static class KeyStoreFileIdentity
{
    public static byte[] Of(ReadOnlySpan<byte> file)
        => Of(file[..KeyStoreFormat.HeaderLength], file[^LibSodium.AeadTagBytes..], file.Length);

    public static byte[] Of(ReadOnlySpan<byte> header, ReadOnlySpan<byte> tag, long length)
    {
        var identity = new byte[8 + KeyStoreFormat.HeaderLength + LibSodium.AeadTagBytes];
        BinaryPrimitives.WriteInt64BigEndian(identity, length);
        header.CopyTo(identity.AsSpan(8));
        tag.CopyTo(identity.AsSpan(8 + KeyStoreFormat.HeaderLength));
        return identity;
    }
}
