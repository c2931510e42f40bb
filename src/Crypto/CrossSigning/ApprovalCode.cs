using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Messaging.Crypto.Keys;
using Messaging.Crypto.Primitives;

namespace Messaging.Crypto.CrossSigning;

/// <summary>
/// The short code a new device shows and the approving device shows beside each pending device, for the user to
/// compare before signing. <c>h = SHA-256("messaging.device-approval.v1" || 0x00 || member id (16, RFC 4122 order) ||
/// identity key (129))</c>; the code is the big-endian u64 of <c>h[0..8]</c> mod 10^8 as two groups of four digits, and
/// <see cref="Hex"/> is <c>h</c> in lower-case hex (for a QR code). Eight digits are short enough to read out; the
/// approving side refuses when two pending devices show the same code, so grinding a colliding key gains nothing.
/// </summary>
public sealed class ApprovalCode
{
    /// <summary>Domain label.</summary>
    public const string Label = "messaging.device-approval.v1";

    private ApprovalCode(string digits, string hex)
    {
        Digits = digits;
        Hex = hex;
    }

    /// <summary>The 8 digits, as <c>dddd dddd</c>.</summary>
    public string Digits { get; }

    /// <summary>The full 32-byte hash in lower-case hex.</summary>
    public string Hex { get; }

    /// <summary>The code of a device (its member and identity key).</summary>
    public static ApprovalCode Compute(Guid memberId, IdentityPublicKey identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        var label = Encoding.UTF8.GetBytes(Label);
        var input = new byte[label.Length + 1 + 16 + IdentityPublicKey.EncodedLength];
        label.CopyTo(input, 0);
        memberId.TryWriteBytes(input.AsSpan(label.Length + 1, 16), bigEndian: true, out _);
        identity.ToBytes().CopyTo(input, label.Length + 17);
        var hash = new byte[LibSodium.Sha256Bytes];
        LibSodium.Sha256(hash, input);
        var value = BinaryPrimitives.ReadUInt64BigEndian(hash) % 100_000_000;
        var digits = value.ToString("D8", CultureInfo.InvariantCulture);
        return new ApprovalCode($"{digits[..4]} {digits[4..]}", Convert.ToHexStringLower(hash));
    }

    /// <summary>Whether <paramref name="typed"/> (spaces ignored) is this code's 8 digits.</summary>
    public bool Matches(string typed)
    {
        ArgumentNullException.ThrowIfNull(typed);
        return string.Equals(typed.Replace(" ", string.Empty, StringComparison.Ordinal), Digits.Replace(" ", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
    }

    /// <inheritdoc />
    public override string ToString() => Digits;
}
