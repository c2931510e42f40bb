using Messaging.Crypto.Primitives;

namespace Messaging.Crypto.KeyStore;

/// <summary>
/// Decrypted secret bytes in a pinned buffer that is zeroed on <see cref="Dispose"/>. Dispose it as soon as
/// the keys have been parsed out of it. <see cref="ToString"/> never shows the content.
/// </summary>
public sealed class SecretBytes : IDisposable
{
    private readonly byte[] _buffer;
    private bool _disposed;

    internal SecretBytes(int length)
    {
        // Pinned so the GC never leaves a moved copy of the plaintext behind.
        _buffer = GC.AllocateArray<byte>(length, pinned: true);
    }

    /// <summary>The number of bytes.</summary>
    public int Length => _buffer.Length;

    /// <summary>The bytes, valid until <see cref="Dispose"/>.</summary>
    /// <exception cref="ObjectDisposedException">The buffer was disposed (and zeroed).</exception>
    public ReadOnlySpan<byte> Span
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _buffer;
        }
    }

    internal Span<byte> Writable => _buffer;

    /// <summary>A copy the caller owns and must clear itself (for example with <c>CryptographicOperations.ZeroMemory</c>).</summary>
    /// <returns>A new array with the bytes.</returns>
    /// <exception cref="ObjectDisposedException">The buffer was disposed (and zeroed).</exception>
    public byte[] ToArray() => Span.ToArray();

    /// <summary>Never the content.</summary>
    /// <returns><c>[REDACTED]</c>.</returns>
    public override string ToString() => "[REDACTED]";

    /// <summary>Zeroes the bytes.</summary>
    public void Dispose()
    {
        if (!_disposed)
        {
            LibSodium.Zero(_buffer);
            _disposed = true;
        }
    }
}
