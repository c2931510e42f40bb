using System.Security.Cryptography;
using System.Text;
using Sodium;

namespace Messaging.Client.Attachments;

/// <summary>
/// The blob format of an attachment: <c>version (1 byte = 1) ‖ nonce (24 bytes) ‖ XChaCha20-Poly1305(file) (file + 16-byte tag)</c>,
/// under a fresh random 32-byte key per file, with the format tag as associated data.
/// <para>One AEAD over the whole file rather than a chunked stream (libsodium's secretstream): the file is at most
/// 25 MiB, which a worker's device holds in memory without trouble, the receiver checks the SHA-256 of the whole blob
/// before decrypting anyway (so it never shows a partial file), and a single seal has no chunk ordering or truncation
/// rules to get wrong. A chunked format would pay off only for streaming to disk or files far beyond the server's limit.
/// The nonce is random although each key seals one file only: it costs nothing and stays safe if a key were reused.</para>
/// </summary>
internal static class AttachmentCipher
{
    /// <summary>The format version byte.</summary>
    public const byte FormatVersion = 1;

    /// <summary>The key length.</summary>
    public const int KeyBytes = 32;

    /// <summary>The digest length (SHA-256 of the blob).</summary>
    public const int DigestBytes = 32;

    private const int NonceBytes = 24;
    private const int TagBytes = 16;

    /// <summary>Bytes the blob adds to the file: version, nonce and tag.</summary>
    public const int Overhead = 1 + NonceBytes + TagBytes;

    private static readonly byte[] AssociatedData = Encoding.ASCII.GetBytes("messaging.attachment.v1");

    /// <summary>Encrypts <paramref name="file"/> under a fresh key.</summary>
    /// <returns>The blob to upload, its key, and the SHA-256 of the blob.</returns>
    public static (byte[] Blob, byte[] Key, byte[] Digest) Seal(ReadOnlySpan<byte> file)
    {
        var key = SodiumCore.GetRandomBytes(KeyBytes);
        var nonce = SecretAeadXChaCha20Poly1305.GenerateNonce();
        var sealedBytes = SecretAeadXChaCha20Poly1305.Encrypt(file.ToArray(), nonce, key, AssociatedData);
        var blob = new byte[1 + NonceBytes + sealedBytes.Length];
        blob[0] = FormatVersion;
        nonce.CopyTo(blob, 1);
        sealedBytes.CopyTo(blob, 1 + NonceBytes);
        return (blob, key, SHA256.HashData(blob));
    }

    /// <summary>Checks the blob's length and digest against what the (end-to-end encrypted) case note says, then
    /// decrypts it.</summary>
    /// <exception cref="AttachmentIntegrityException">Another length, another digest, another format, or the tag does
    /// not verify: the blob was altered or is not the one the note names. Nothing is returned.</exception>
    public static byte[] Open(ReadOnlySpan<byte> blob, ReadOnlySpan<byte> key, ReadOnlySpan<byte> expectedDigest, long expectedFileBytes)
    {
        if (blob.Length != expectedFileBytes + Overhead)
        {
            throw new AttachmentIntegrityException("The downloaded attachment does not have the size the case note gives.");
        }

        if (!CryptographicOperations.FixedTimeEquals(SHA256.HashData(blob), expectedDigest))
        {
            throw new AttachmentIntegrityException("The downloaded attachment does not match the digest the case note gives.");
        }

        if (blob[0] != FormatVersion)
        {
            throw new AttachmentIntegrityException("The downloaded attachment is not in a format this device reads.");
        }

        try
        {
            return SecretAeadXChaCha20Poly1305.Decrypt(blob[(1 + NonceBytes)..].ToArray(), blob.Slice(1, NonceBytes).ToArray(), key.ToArray(), AssociatedData);
        }
        catch (CryptographicException)
        {
            // Only reachable if the sender itself sealed garbage under the digest it announced.
            throw new AttachmentIntegrityException("The attachment does not decrypt with the key the case note gives.");
        }
    }
}
