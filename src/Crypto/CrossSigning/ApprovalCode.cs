using System.Text;
using Messaging.Crypto.Keys;
using Messaging.Crypto.Primitives;

namespace Messaging.Crypto.CrossSigning;

/// <summary>
/// The code a new device shows and the approving device shows beside each pending device, for the user to compare
/// (or type) before signing. With <c>m = member id (16, RFC 4122 order) || identity key (129)</c>:
/// <c>h = SHA-512("messaging.device-approval.v2" || 0x00 || m)</c>, then <see cref="Iterations"/> times
/// <c>h = SHA-512(h || m)</c>; the code is <c>h[0..20]</c> read as four big-endian 40-bit integers, each mod 100000 and
/// written as 5 digits (20 digits in four groups of five), and <see cref="Hex"/> is <c>h</c> in lower-case hex (for a
/// QR code).
/// </summary>
/// <remarks>
/// The approving device learns its list of pending devices from the key log, which the server writes: a server can hide
/// the device the user holds and list one of its own instead. Only the code stops it, so the code must be out of reach
/// of a second-preimage search: 20 digits (about 2^66.4 codes) at 5201 SHA-512 calls per try (about 2^12.3) cost about
/// 2^78 hash calls to match one given device, and the search can only start once that device has enrolled (its identity
/// key is random). See SECURITY.md, "Devices are vouched for by their member".
/// </remarks>
public sealed class ApprovalCode
{
    /// <summary>Domain label.</summary>
    public const string Label = "messaging.device-approval.v2";

    /// <summary>The number of SHA-512 iterations after the first hash.</summary>
    public const int Iterations = 5200;

    /// <summary>Number of digits in a code.</summary>
    public const int DigitCount = 20;

    private readonly byte[] _digits;

    private ApprovalCode(string digits, string hex)
    {
        _digits = Encoding.ASCII.GetBytes(digits);
        Digits = DecimalCode.Group(digits);
        Hex = hex;
    }

    /// <summary>The 20 digits as four groups of five separated by single spaces (<c>ddddd ddddd ddddd ddddd</c>).</summary>
    public string Digits { get; }

    /// <summary>The full 64-byte hash in lower-case hex.</summary>
    public string Hex { get; }

    /// <summary>The code of a device (its member and identity key).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="identity"/> is null.</exception>
    public static ApprovalCode Compute(Guid memberId, IdentityPublicKey identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        var device = new byte[16 + IdentityPublicKey.EncodedLength];
        memberId.TryWriteBytes(device.AsSpan(0, 16), bigEndian: true, out _);
        identity.ToBytes().CopyTo(device, 16);
        var label = Encoding.UTF8.GetBytes(Label);
        var first = new byte[label.Length + 1 + device.Length];
        label.CopyTo(first, 0);
        device.CopyTo(first, label.Length + 1);
        var hash = DecimalCode.IteratedSha512(first, device, Iterations);
        return new ApprovalCode(DecimalCode.Digits(hash, DigitCount / DecimalCode.GroupDigits), Convert.ToHexStringLower(hash));
    }

    /// <summary>Whether <paramref name="typed"/> has the shape of a code: exactly 20 ASCII digits once spaces are removed.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="typed"/> is null.</exception>
    public static bool IsWellFormed(string typed)
    {
        ArgumentNullException.ThrowIfNull(typed);
        return DecimalCode.Compact(typed, DigitCount) is not null;
    }

    /// <summary>Whether <paramref name="typed"/> (spaces ignored) is this code's 20 digits, every one of them; a shorter
    /// or longer input never matches. Constant time once the length agrees.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="typed"/> is null.</exception>
    public bool Matches(string typed)
    {
        ArgumentNullException.ThrowIfNull(typed);
        return DecimalCode.Matches(typed, _digits);
    }

    /// <inheritdoc />
    public override string ToString() => Digits;
}
