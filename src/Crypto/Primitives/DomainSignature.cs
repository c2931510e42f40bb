using System.Text;

namespace Messaging.Crypto.Primitives;

/// <summary>
/// Ed25519 signatures with domain separation: the signed bytes are
/// <c>UTF8(label) || 0x00 || data</c>, so a signature made for one purpose (a prekey, an attestation,
/// a login challenge) can never be replayed as another.
/// </summary>
internal static class DomainSignature
{
    public const string IdentityBinding = "messaging.identity-binding.v1";
    public const string SignedPreKey = "messaging.signed-prekey.v1";
    public const string AuthChallenge = "messaging.auth-challenge.v1";
    public const string Attestation = "messaging.attestation.v1";
    public const string MemberKey = "messaging.member-key.v1";
    public const string DeviceCertificate = "messaging.device-certificate.v1";
    public const string ConversationMembership = "messaging.conversation-membership.v1";

    public static byte[] Sign(ReadOnlySpan<byte> secretKey, string label, ReadOnlySpan<byte> data)
    {
        var input = Frame(label, data);
        var signature = new byte[LibSodium.Ed25519SignatureBytes];
        LibSodium.Ed25519Sign(signature, input, secretKey);
        return signature;
    }

    public static bool Verify(ReadOnlySpan<byte> publicKey, string label, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
        => LibSodium.Ed25519Verify(signature, Frame(label, data), publicKey);

    internal static byte[] Frame(string label, ReadOnlySpan<byte> data)
    {
        var labelBytes = Encoding.UTF8.GetByteCount(label);
        var input = new byte[labelBytes + 1 + data.Length];
        Encoding.UTF8.GetBytes(label, input);
        input[labelBytes] = 0x00;
        data.CopyTo(input.AsSpan(labelBytes + 1));
        return input;
    }
}
