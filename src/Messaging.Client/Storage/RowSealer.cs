using System.Security.Cryptography;
using System.Text;
using Messaging.Crypto.Primitives;

namespace Messaging.Client.Storage;

/// <summary>
/// Seals the local database's rows and derives its lookup columns, under two keys derived from the storage key
/// (BLAKE2b keyed with it, one label each). A sealed row is <c>nonce (24) || XChaCha20-Poly1305 ciphertext</c>
/// whose associated data is <c>table name || 0x00 || lookup key</c>: a row moved to another table or under another key
/// fails to open. Lookup columns are keyed hashes, so the file names no device, conversation or envelope.
/// </summary>
internal sealed class RowSealer : IDisposable
{
    private const int NonceBytes = LibSodium.AeadNonceBytes;
    private const int LookupBytes = 16;
    private readonly byte[] _sealKey;
    private readonly byte[] _lookupKey;

    public RowSealer(ReadOnlySpan<byte> storageKey)
    {
        _sealKey = new byte[LibSodium.AeadKeyBytes];
        _lookupKey = new byte[32];
        LibSodium.Blake2b(_sealKey, storageKey, personal: default, "messaging.local.seal.v1"u8);
        LibSodium.Blake2b(_lookupKey, storageKey, personal: default, "messaging.local.lookup.v1"u8);
    }

    /// <summary>A 16-byte keyed hash naming <paramref name="value"/> in <paramref name="table"/>'s lookup column.</summary>
    public byte[] Lookup(string table, ReadOnlySpan<byte> value)
    {
        // Asked for every delivery and every stored row: no allocation but the result.
        var length = table.Length + 1 + value.Length;
        Span<byte> input = length <= 256 ? stackalloc byte[length] : new byte[length];
        var written = Encoding.ASCII.GetBytes(table, input);
        input[written] = 0;
        value.CopyTo(input[(written + 1)..]);
        var lookup = new byte[LookupBytes];
        LibSodium.Blake2b(lookup, _lookupKey, personal: default, input);
        return lookup;
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
        var row = new byte[NonceBytes + plaintext.Length + LibSodium.AeadTagBytes];
        var nonce = row.AsSpan(0, NonceBytes);
        LibSodium.RandomBytes(nonce);
        Span<byte> ad = stackalloc byte[AssociatedDataLength(table, lookup)];
        WriteAssociatedData(table, lookup, ad);
        LibSodium.AeadSeal(row.AsSpan(NonceBytes), plaintext, ad, nonce, _sealKey);
        return row;
    }

    /// <exception cref="LocalStoreCorruptedException">The row does not open under this key, table and lookup.</exception>
    public byte[] Open(string table, ReadOnlySpan<byte> lookup, byte[] row)
    {
        if (row.Length < NonceBytes + LibSodium.AeadTagBytes)
        {
            throw new LocalStoreCorruptedException($"A row of table {table} is truncated.");
        }

        Span<byte> ad = stackalloc byte[AssociatedDataLength(table, lookup)];
        WriteAssociatedData(table, lookup, ad);
        var plaintext = new byte[row.Length - NonceBytes - LibSodium.AeadTagBytes];
        if (!LibSodium.AeadOpen(plaintext, row.AsSpan(NonceBytes), ad, row.AsSpan(0, NonceBytes), _sealKey))
        {
            throw new LocalStoreCorruptedException($"A row of table {table} does not authenticate (modified, moved, or another device's).");
        }

        return plaintext;
    }

    private static int AssociatedDataLength(string table, ReadOnlySpan<byte> lookup) => table.Length + 1 + lookup.Length;

    private static void WriteAssociatedData(string table, ReadOnlySpan<byte> lookup, Span<byte> ad)
    {
        var written = Encoding.ASCII.GetBytes(table, ad);
        ad[written] = 0;
        lookup.CopyTo(ad[(written + 1)..]);
    }

    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(_sealKey);
        CryptographicOperations.ZeroMemory(_lookupKey);
    }
}
