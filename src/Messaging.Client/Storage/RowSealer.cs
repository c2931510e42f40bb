using System.Security.Cryptography;
using System.Text;
using Sodium;

namespace Messaging.Client.Storage;

/// <summary>
/// Seals the local database's rows and derives its lookup columns, under two keys derived from the storage key
/// (BLAKE2b keyed with it, one label each). A sealed row is <c>nonce (24) || XChaCha20-Poly1305 ciphertext</c>
/// whose associated data is <c>table name || 0x00 || lookup key</c>: a row moved to another table or under another key
/// fails to open. Lookup columns are keyed hashes, so the file names no device, conversation or envelope.
/// </summary>
internal sealed class RowSealer : IDisposable
{
    private const int NonceBytes = 24;
    private readonly byte[] _sealKey;
    private readonly byte[] _lookupKey;

    public RowSealer(ReadOnlySpan<byte> storageKey)
    {
        var key = storageKey.ToArray();
        try
        {
            _sealKey = GenericHash.Hash("messaging.local.seal.v1"u8.ToArray(), key, 32);
            _lookupKey = GenericHash.Hash("messaging.local.lookup.v1"u8.ToArray(), key, 32);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>A 16-byte keyed hash naming <paramref name="value"/> in <paramref name="table"/>'s lookup column.</summary>
    public byte[] Lookup(string table, ReadOnlySpan<byte> value)
    {
        var input = new byte[Encoding.ASCII.GetByteCount(table) + 1 + value.Length];
        var written = Encoding.ASCII.GetBytes(table, input);
        value.CopyTo(input.AsSpan(written + 1));
        return GenericHash.Hash(input, _lookupKey, 16);
    }

    public byte[] Lookup(string table, Guid a) => Lookup(table, a.ToByteArray());

    public byte[] Lookup(string table, Guid a, Guid b)
    {
        Span<byte> both = stackalloc byte[32];
        a.TryWriteBytes(both[..16]);
        b.TryWriteBytes(both[16..]);
        return Lookup(table, both);
    }

    public byte[] Seal(string table, ReadOnlySpan<byte> lookup, byte[] plaintext)
    {
        var nonce = SecretAeadXChaCha20Poly1305.GenerateNonce();
        var sealedBytes = SecretAeadXChaCha20Poly1305.Encrypt(plaintext, nonce, _sealKey, AssociatedData(table, lookup));
        var row = new byte[NonceBytes + sealedBytes.Length];
        nonce.CopyTo(row, 0);
        sealedBytes.CopyTo(row, NonceBytes);
        return row;
    }

    /// <exception cref="LocalStoreCorruptedException">The row does not open under this key, table and lookup.</exception>
    public byte[] Open(string table, ReadOnlySpan<byte> lookup, byte[] row)
    {
        if (row.Length < NonceBytes + 16)
        {
            throw new LocalStoreCorruptedException($"A row of table {table} is truncated.");
        }

        try
        {
            return SecretAeadXChaCha20Poly1305.Decrypt(row[NonceBytes..], row[..NonceBytes], _sealKey, AssociatedData(table, lookup));
        }
        catch (CryptographicException ex)
        {
            throw new LocalStoreCorruptedException($"A row of table {table} does not authenticate (modified, moved, or another device's).", ex);
        }
    }

    private static byte[] AssociatedData(string table, ReadOnlySpan<byte> lookup)
    {
        var ad = new byte[table.Length + 1 + lookup.Length];
        var written = Encoding.ASCII.GetBytes(table, ad);
        lookup.CopyTo(ad.AsSpan(written + 1));
        return ad;
    }

    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(_sealKey);
        CryptographicOperations.ZeroMemory(_lookupKey);
    }
}
