using System.Buffers.Binary;

namespace Messaging.Client;

/// <summary>
/// The plaintext inside every ciphertext: <c>0x01 || length (u32 BE) || body || zero padding</c>, padded to a
/// multiple of <see cref="Bucket"/> bytes so the server learns only the size bucket, not the exact length.
/// </summary>
internal static class PlaintextFrame
{
    public const int Bucket = 256;
    private const byte Version = 0x01;
    private const int HeaderLength = 5;

    public static byte[] Wrap(ReadOnlySpan<byte> body)
    {
        var padded = (HeaderLength + body.Length + Bucket - 1) / Bucket * Bucket;
        var frame = new byte[padded];
        frame[0] = Version;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)body.Length);
        body.CopyTo(frame.AsSpan(HeaderLength));
        return frame;
    }

    public static byte[] Unwrap(ReadOnlySpan<byte> frame)
    {
        if (frame.Length < HeaderLength || frame[0] != Version)
        {
            throw new MessagingClientException("The decrypted message has an unknown frame version.");
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(frame[1..]);
        if (length > frame.Length - HeaderLength)
        {
            throw new MessagingClientException("The decrypted message frame is truncated.");
        }

        return frame.Slice(HeaderLength, (int)length).ToArray();
    }
}
