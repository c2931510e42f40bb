using System.Buffers;
using System.Text.Unicode;
using Messaging.Crypto.Primitives;

namespace Messaging.Crypto.KeyStore;

/// <summary>
/// A key store passphrase, held as UTF-8 in a pinned buffer that is zeroed on <see cref="Dispose"/>.
/// It never prints itself: <see cref="ToString"/> is <c>[REDACTED]</c>. The characters are encoded as
/// given, without Unicode normalization.
/// </summary>
public sealed class Passphrase : IDisposable
{
    private readonly byte[] _utf8;
    private readonly int _length;
    private bool _disposed;

    /// <summary>Copies <paramref name="passphrase"/> as UTF-8. Clear the caller's own copy when done with it.</summary>
    /// <param name="passphrase">The passphrase characters; not empty.</param>
    /// <exception cref="ArgumentException">The passphrase is empty or is not valid UTF-16 (a lone surrogate).</exception>
    public Passphrase(ReadOnlySpan<char> passphrase)
    {
        if (passphrase.IsEmpty)
        {
            throw new ArgumentException("A passphrase is not empty.", nameof(passphrase));
        }

        // Pinned so the GC never leaves a moved copy of the secret behind; 3 bytes per UTF-16 unit is the worst case.
        _utf8 = GC.AllocateArray<byte>(checked(passphrase.Length * 3), pinned: true);
        var status = Utf8.FromUtf16(passphrase, _utf8, out _, out _length, replaceInvalidSequences: false);
        if (status != OperationStatus.Done)
        {
            LibSodium.Zero(_utf8);
            throw new ArgumentException("A passphrase must be valid UTF-16 (no lone surrogates).", nameof(passphrase));
        }
    }

    /// <summary>The UTF-8 bytes.</summary>
    internal ReadOnlySpan<byte> Utf8Bytes
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _utf8.AsSpan(0, _length);
        }
    }

    /// <summary>Never the passphrase.</summary>
    /// <returns><c>[REDACTED]</c>.</returns>
    public override string ToString() => "[REDACTED]";

    /// <summary>Zeroes the UTF-8 copy.</summary>
    public void Dispose()
    {
        if (!_disposed)
        {
            LibSodium.Zero(_utf8);
            _disposed = true;
        }
    }
}
