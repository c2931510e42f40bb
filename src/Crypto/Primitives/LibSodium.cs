using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Messaging.Crypto.Primitives;

/// <summary>
/// Span-based bindings to the libsodium shipped by the LibSodium.Core package. LibSodium.Core's own API
/// allocates a fresh array per call and lacks HMAC-SHA256 with arbitrary keys, HKDF and memzero;
/// the ratchet's hot path needs none of those costs, so it calls libsodium directly here.
/// Every method checks lengths before crossing into native code: a wrong size is a bug, never UB.
/// </summary>
internal static unsafe partial class LibSodium
{
    private const string Lib = "libsodium";

    public const int X25519KeyBytes = 32;
    public const int Ed25519PublicKeyBytes = 32;
    public const int Ed25519SecretKeyBytes = 64;
    public const int Ed25519SeedBytes = 32;
    public const int Ed25519SignatureBytes = 64;
    public const int AeadKeyBytes = 32;
    public const int AeadNonceBytes = 24;
    public const int AeadTagBytes = 16;
    public const int HmacSha256Bytes = 32;
    public const int Sha256Bytes = 32;
    public const int Sha512Bytes = 64;
    public const int HkdfPrkBytes = 32;
    public const int Blake2bBytesMax = 64;
    public const int Blake2bKeyBytesMax = 64;
    public const int Blake2bPersonalBytes = 16;
    private const int Blake2bStateBytes = 384;
    private const int Blake2bStateAlignment = 64;
    public const int PwHashSaltBytes = 16;
    public const int PwHashAlgArgon2id13 = 2;
    public const int SealOverheadBytes = 48;

    static LibSodium()
    {
        if (sodium_init() < 0)
        {
            throw new CryptoException("libsodium could not be initialised.");
        }

        if (crypto_generichash_blake2b_statebytes() > Blake2bStateBytes)
        {
            throw new CryptoException("This libsodium's BLAKE2b state is larger than the buffer reserved for it.");
        }
    }

    /// <summary>Forces the static initialiser (sodium_init) to run.</summary>
    public static void EnsureInitialised() => RuntimeHelpers.RunClassConstructor(typeof(LibSodium).TypeHandle);

    public static void RandomBytes(Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            randombytes_buf(p, (nuint)buffer.Length);
        }
    }

    public static void Zero(Span<byte> buffer)
    {
        if (buffer.IsEmpty)
        {
            return;
        }

        fixed (byte* p = buffer)
        {
            sodium_memzero(p, (nuint)buffer.Length);
        }
    }

    /// <summary>Constant-time equality of two equal-length buffers.</summary>
    public static bool FixedTimeEquals(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        if (a.Length != b.Length)
        {
            return false;
        }

        if (a.IsEmpty)
        {
            return true;
        }

        fixed (byte* pa = a)
        fixed (byte* pb = b)
        {
            return sodium_memcmp(pa, pb, (nuint)a.Length) == 0;
        }
    }

    /// <summary>X25519 (RFC 7748) of a scalar and a u-coordinate. Fails on an all-zero output (low-order point).</summary>
    public static void X25519(Span<byte> shared, ReadOnlySpan<byte> scalar, ReadOnlySpan<byte> point)
    {
        CheckLength(shared, X25519KeyBytes, nameof(shared));
        CheckLength(scalar, X25519KeyBytes, nameof(scalar));
        CheckLength(point, X25519KeyBytes, nameof(point));
        fixed (byte* q = shared)
        fixed (byte* n = scalar)
        fixed (byte* p = point)
        {
            if (crypto_scalarmult_curve25519(q, n, p) != 0)
            {
                throw new InvalidKeyException("The X25519 public key is a low-order point.");
            }
        }
    }

    /// <summary>The X25519 public key of a scalar (fixed-base multiplication).</summary>
    public static void X25519Base(Span<byte> publicKey, ReadOnlySpan<byte> scalar)
    {
        CheckLength(publicKey, X25519KeyBytes, nameof(publicKey));
        CheckLength(scalar, X25519KeyBytes, nameof(scalar));
        fixed (byte* q = publicKey)
        fixed (byte* n = scalar)
        {
            if (crypto_scalarmult_curve25519_base(q, n) != 0)
            {
                throw new CryptoException("X25519 base multiplication failed.");
            }
        }
    }

    /// <summary>Anonymous sealed box (crypto_box_seal: ephemeral X25519, XSalsa20-Poly1305) to an X25519 public key.</summary>
    public static byte[] BoxSeal(ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> recipientPublicKey)
    {
        CheckLength(recipientPublicKey, X25519KeyBytes, nameof(recipientPublicKey));
        var ciphertext = new byte[plaintext.Length + SealOverheadBytes];
        fixed (byte* c = ciphertext)
        fixed (byte* m = plaintext)
        fixed (byte* pk = recipientPublicKey)
        {
            if (crypto_box_seal(c, m, (ulong)plaintext.Length, pk) != 0)
            {
                throw new CryptoException("Sealing failed.");
            }
        }

        return ciphertext;
    }

    /// <summary>Opens a sealed box; false (and nothing written) when it does not authenticate.</summary>
    public static bool BoxSealOpen(Span<byte> plaintext, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> secretKey)
    {
        CheckLength(publicKey, X25519KeyBytes, nameof(publicKey));
        CheckLength(secretKey, X25519KeyBytes, nameof(secretKey));
        if (ciphertext.Length < SealOverheadBytes || plaintext.Length != ciphertext.Length - SealOverheadBytes)
        {
            return false;
        }

        fixed (byte* m = plaintext)
        fixed (byte* c = ciphertext)
        fixed (byte* pk = publicKey)
        fixed (byte* sk = secretKey)
        {
            return crypto_box_seal_open(m, c, (ulong)ciphertext.Length, pk, sk) == 0;
        }
    }

    /// <summary>Ed25519 key pair from a 32-byte seed (RFC 8032 secret key).</summary>
    public static void Ed25519SeedKeyPair(Span<byte> publicKey, Span<byte> secretKey, ReadOnlySpan<byte> seed)
    {
        CheckLength(publicKey, Ed25519PublicKeyBytes, nameof(publicKey));
        CheckLength(secretKey, Ed25519SecretKeyBytes, nameof(secretKey));
        CheckLength(seed, Ed25519SeedBytes, nameof(seed));
        fixed (byte* pk = publicKey)
        fixed (byte* sk = secretKey)
        fixed (byte* s = seed)
        {
            if (crypto_sign_ed25519_seed_keypair(pk, sk, s) != 0)
            {
                throw new CryptoException("Ed25519 key generation failed.");
            }
        }
    }

    public static void Ed25519Sign(Span<byte> signature, ReadOnlySpan<byte> message, ReadOnlySpan<byte> secretKey)
    {
        CheckLength(signature, Ed25519SignatureBytes, nameof(signature));
        CheckLength(secretKey, Ed25519SecretKeyBytes, nameof(secretKey));
        fixed (byte* sig = signature)
        fixed (byte* m = message)
        fixed (byte* sk = secretKey)
        {
            if (crypto_sign_ed25519_detached(sig, null, m, (ulong)message.Length, sk) != 0)
            {
                throw new CryptoException("Ed25519 signing failed.");
            }
        }
    }

    public static bool Ed25519Verify(ReadOnlySpan<byte> signature, ReadOnlySpan<byte> message, ReadOnlySpan<byte> publicKey)
    {
        if (signature.Length != Ed25519SignatureBytes || publicKey.Length != Ed25519PublicKeyBytes)
        {
            return false;
        }

        fixed (byte* sig = signature)
        fixed (byte* m = message)
        fixed (byte* pk = publicKey)
        {
            return crypto_sign_ed25519_verify_detached(sig, m, (ulong)message.Length, pk) == 0;
        }
    }

    /// <summary>HMAC-SHA256 with a key of any length.</summary>
    public static void HmacSha256(Span<byte> mac, ReadOnlySpan<byte> key, ReadOnlySpan<byte> message)
    {
        CheckLength(mac, HmacSha256Bytes, nameof(mac));
        if (key.Length == HmacSha256Bytes)
        {
            // The ratchet's chain keys are 32 bytes: one native call instead of three.
            fixed (byte* o = mac)
            fixed (byte* k = key)
            fixed (byte* m = message)
            {
                Check(crypto_auth_hmacsha256(o, m, (ulong)message.Length, k), "HMAC-SHA256");
            }

            return;
        }

        // crypto_auth_hmacsha256_state is 208 bytes; 256 leaves headroom and keeps it on the stack.
        var state = stackalloc byte[256];
        fixed (byte* o = mac)
        fixed (byte* k = key)
        fixed (byte* m = message)
        {
            var rc = crypto_auth_hmacsha256_init(state, k, (nuint)key.Length)
                | crypto_auth_hmacsha256_update(state, m, (ulong)message.Length)
                | crypto_auth_hmacsha256_final(state, o);
            sodium_memzero(state, 256);
            Check(rc, "HMAC-SHA256");
        }
    }

    /// <summary>
    /// BLAKE2b (RFC 7693, with the parameter block of the BLAKE2 specification): a digest of
    /// <paramref name="output"/>'s length (1..64 bytes) of <paramref name="message"/>, keyed when
    /// <paramref name="key"/> is not empty (up to 64 bytes), with the personalisation <paramref name="personal"/>
    /// (16 bytes; empty means 16 zero bytes) and an all-zero salt. The key fills the first 128-byte block, so a
    /// keyed digest of an empty message is a single compression.
    /// </summary>
    public static void Blake2b(Span<byte> output, ReadOnlySpan<byte> key, ReadOnlySpan<byte> personal, ReadOnlySpan<byte> message)
    {
        if (output.IsEmpty || output.Length > Blake2bBytesMax)
        {
            throw new ArgumentException($"A BLAKE2b digest is 1..{Blake2bBytesMax} bytes, got {output.Length}.", nameof(output));
        }

        if (key.Length > Blake2bKeyBytesMax)
        {
            throw new ArgumentException($"A BLAKE2b key is at most {Blake2bKeyBytesMax} bytes, got {key.Length}.", nameof(key));
        }

        if (!personal.IsEmpty)
        {
            CheckLength(personal, Blake2bPersonalBytes, nameof(personal));
        }

        // The streaming calls on a state we own, rather than the one-shot call: the one-shot leaves its state
        // (the padded key block and the digest) on the native stack, while this one is zeroed here.
        // The state type is declared 64-byte aligned.
        var unaligned = stackalloc byte[Blake2bStateBytes + Blake2bStateAlignment];
        var state = (byte*)(((nuint)unaligned + (Blake2bStateAlignment - 1)) & ~(nuint)(Blake2bStateAlignment - 1));

        // An empty span pins to a null pointer, which libsodium reads as "no key" (length 0), "empty message"
        // and "all-zero personalisation".
        fixed (byte* o = output)
        fixed (byte* k = key)
        fixed (byte* p = personal)
        fixed (byte* m = message)
        {
            var rc = crypto_generichash_blake2b_init_salt_personal(state, k, (nuint)key.Length, (nuint)output.Length, null, p);
            if (rc == 0)
            {
                rc = crypto_generichash_blake2b_update(state, m, (ulong)message.Length)
                    | crypto_generichash_blake2b_final(state, o, (nuint)output.Length);
            }

            sodium_memzero(state, Blake2bStateBytes);
            Check(rc, "BLAKE2b");
        }
    }

    /// <summary>HKDF-SHA256 (RFC 5869): extract with <paramref name="salt"/>, then expand to <paramref name="output"/>.</summary>
    public static void Hkdf(Span<byte> output, ReadOnlySpan<byte> salt, ReadOnlySpan<byte> inputKeyMaterial, ReadOnlySpan<byte> info)
    {
        if (output.IsEmpty || output.Length > 255 * HmacSha256Bytes)
        {
            throw new ArgumentOutOfRangeException(nameof(output), "HKDF-SHA256 output must be 1..8160 bytes.");
        }

        var prk = stackalloc byte[HkdfPrkBytes];
        fixed (byte* o = output)
        fixed (byte* s = salt)
        fixed (byte* ikm = inputKeyMaterial)
        fixed (byte* i = info)
        {
            var rc = crypto_kdf_hkdf_sha256_extract(prk, s, (nuint)salt.Length, ikm, (nuint)inputKeyMaterial.Length)
                | crypto_kdf_hkdf_sha256_expand(o, (nuint)output.Length, i, (nuint)info.Length, prk);
            sodium_memzero(prk, HkdfPrkBytes);
            if (rc != 0)
            {
                throw new CryptoException("HKDF-SHA256 expansion failed.");
            }
        }
    }

    public static void Sha256(Span<byte> digest, ReadOnlySpan<byte> message)
    {
        CheckLength(digest, Sha256Bytes, nameof(digest));
        fixed (byte* d = digest)
        fixed (byte* m = message)
        {
            Check(crypto_hash_sha256(d, m, (ulong)message.Length), "SHA-256");
        }
    }

    public static void Sha512(Span<byte> digest, ReadOnlySpan<byte> message)
    {
        CheckLength(digest, Sha512Bytes, nameof(digest));
        fixed (byte* d = digest)
        fixed (byte* m = message)
        {
            Check(crypto_hash_sha512(d, m, (ulong)message.Length), "SHA-512");
        }
    }

    /// <summary>XChaCha20-Poly1305 (IETF) seal: <paramref name="ciphertext"/> is plaintext length + 16.</summary>
    public static void AeadSeal(Span<byte> ciphertext, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> key)
    {
        CheckLength(ciphertext, plaintext.Length + AeadTagBytes, nameof(ciphertext));
        CheckLength(nonce, AeadNonceBytes, nameof(nonce));
        CheckLength(key, AeadKeyBytes, nameof(key));
        fixed (byte* c = ciphertext)
        fixed (byte* m = plaintext)
        fixed (byte* ad = associatedData)
        fixed (byte* npub = nonce)
        fixed (byte* k = key)
        {
            ulong clen;
            if (crypto_aead_xchacha20poly1305_ietf_encrypt(c, &clen, m, (ulong)plaintext.Length, ad, (ulong)associatedData.Length, null, npub, k) != 0)
            {
                throw new CryptoException("AEAD encryption failed.");
            }
        }
    }

    /// <summary>XChaCha20-Poly1305 (IETF) open. Returns false, writing nothing usable, when authentication fails.</summary>
    public static bool AeadOpen(Span<byte> plaintext, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> key)
    {
        if (ciphertext.Length < AeadTagBytes)
        {
            return false;
        }

        CheckLength(plaintext, ciphertext.Length - AeadTagBytes, nameof(plaintext));
        CheckLength(nonce, AeadNonceBytes, nameof(nonce));
        CheckLength(key, AeadKeyBytes, nameof(key));
        fixed (byte* m = plaintext)
        fixed (byte* c = ciphertext)
        fixed (byte* ad = associatedData)
        fixed (byte* npub = nonce)
        fixed (byte* k = key)
        {
            ulong mlen;
            return crypto_aead_xchacha20poly1305_ietf_decrypt(m, &mlen, null, c, (ulong)ciphertext.Length, ad, (ulong)associatedData.Length, npub, k) == 0;
        }
    }

    /// <summary>Argon2id v1.3 (crypto_pwhash with ALG_ARGON2ID13).</summary>
    public static void Argon2id(Span<byte> output, ReadOnlySpan<byte> password, ReadOnlySpan<byte> salt, ulong opsLimit, nuint memLimit)
    {
        CheckLength(salt, PwHashSaltBytes, nameof(salt));
        fixed (byte* o = output)
        fixed (byte* p = password)
        fixed (byte* s = salt)
        {
            if (crypto_pwhash(o, (ulong)output.Length, p, (ulong)password.Length, s, opsLimit, memLimit, PwHashAlgArgon2id13) != 0)
            {
                throw new CryptoException("Argon2id failed (out of memory, or parameters out of range).");
            }
        }
    }

    private static void Check(int rc, string what)
    {
        if (rc != 0)
        {
            throw new CryptoException($"{what} failed in libsodium.");
        }
    }

    private static void CheckLength(ReadOnlySpan<byte> buffer, int expected, string name)
    {
        if (buffer.Length != expected)
        {
            throw new ArgumentException($"Expected {expected} bytes, got {buffer.Length}.", name);
        }
    }

    [LibraryImport(Lib)]
    private static partial int sodium_init();

    [LibraryImport(Lib)]
    private static partial void randombytes_buf(byte* buf, nuint size);

    [LibraryImport(Lib)]
    private static partial void sodium_memzero(byte* pnt, nuint len);

    [LibraryImport(Lib)]
    private static partial int sodium_memcmp(byte* b1, byte* b2, nuint len);

    [LibraryImport(Lib)]
    private static partial int crypto_scalarmult_curve25519(byte* q, byte* n, byte* p);

    [LibraryImport(Lib)]
    private static partial int crypto_box_seal(byte* c, byte* m, ulong mlen, byte* pk);

    [LibraryImport(Lib)]
    private static partial int crypto_box_seal_open(byte* m, byte* c, ulong clen, byte* pk, byte* sk);

    [LibraryImport(Lib)]
    private static partial int crypto_scalarmult_curve25519_base(byte* q, byte* n);

    [LibraryImport(Lib)]
    private static partial int crypto_sign_ed25519_seed_keypair(byte* pk, byte* sk, byte* seed);

    [LibraryImport(Lib)]
    private static partial int crypto_sign_ed25519_detached(byte* sig, ulong* siglen, byte* m, ulong mlen, byte* sk);

    [LibraryImport(Lib)]
    private static partial int crypto_sign_ed25519_verify_detached(byte* sig, byte* m, ulong mlen, byte* pk);

    [LibraryImport(Lib)]
    private static partial int crypto_auth_hmacsha256(byte* output, byte* input, ulong inlen, byte* k);

    [LibraryImport(Lib)]
    private static partial int crypto_auth_hmacsha256_init(byte* state, byte* key, nuint keylen);

    [LibraryImport(Lib)]
    private static partial int crypto_auth_hmacsha256_update(byte* state, byte* input, ulong inlen);

    [LibraryImport(Lib)]
    private static partial int crypto_auth_hmacsha256_final(byte* state, byte* output);

    [LibraryImport(Lib)]
    private static partial nuint crypto_generichash_blake2b_statebytes();

    [LibraryImport(Lib)]
    private static partial int crypto_generichash_blake2b_init_salt_personal(byte* state, byte* key, nuint keylen, nuint outlen, byte* salt, byte* personal);

    [LibraryImport(Lib)]
    private static partial int crypto_generichash_blake2b_update(byte* state, byte* input, ulong inlen);

    [LibraryImport(Lib)]
    private static partial int crypto_generichash_blake2b_final(byte* state, byte* output, nuint outlen);

    [LibraryImport(Lib)]
    private static partial int crypto_kdf_hkdf_sha256_extract(byte* prk, byte* salt, nuint saltLen, byte* ikm, nuint ikmLen);

    [LibraryImport(Lib)]
    private static partial int crypto_kdf_hkdf_sha256_expand(byte* output, nuint outLen, byte* ctx, nuint ctxLen, byte* prk);

    [LibraryImport(Lib)]
    private static partial int crypto_hash_sha256(byte* output, byte* input, ulong inlen);

    [LibraryImport(Lib)]
    private static partial int crypto_hash_sha512(byte* output, byte* input, ulong inlen);

    [LibraryImport(Lib)]
    private static partial int crypto_aead_xchacha20poly1305_ietf_encrypt(byte* c, ulong* clen, byte* m, ulong mlen, byte* ad, ulong adlen, byte* nsec, byte* npub, byte* k);

    [LibraryImport(Lib)]
    private static partial int crypto_aead_xchacha20poly1305_ietf_decrypt(byte* m, ulong* mlen, byte* nsec, byte* c, ulong clen, byte* ad, ulong adlen, byte* npub, byte* k);

    [LibraryImport(Lib)]
    private static partial int crypto_pwhash(byte* output, ulong outlen, byte* passwd, ulong passwdlen, byte* salt, ulong opslimit, nuint memlimit, int alg);
}
