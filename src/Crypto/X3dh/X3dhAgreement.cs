using System.Text;
using Messaging.Crypto.Keys;
using Messaging.Crypto.Primitives;

namespace Messaging.Crypto.X3dh;

/// <summary>The result of an X3DH agreement: the shared secret and the associated data binding both identities.</summary>
internal sealed class X3dhSecret : IDisposable
{
    public X3dhSecret(byte[] sharedKey, byte[] associatedData)
    {
        SharedKey = sharedKey;
        AssociatedData = associatedData;
    }

    /// <summary>SK, 32 bytes: the Double Ratchet's first root key.</summary>
    public byte[] SharedKey { get; }

    /// <summary>AD = initiator Ed25519 pk || initiator X25519 pk || responder Ed25519 pk || responder X25519 pk (128 bytes).</summary>
    public byte[] AssociatedData { get; }

    public void Dispose() => LibSodium.Zero(SharedKey);
}

/// <summary>
/// X3DH key agreement (Signal's specification, Curve25519 variant, HKDF-SHA256). The identity key used in
/// DH1/DH2 is the identity's X25519 agreement key, which its Ed25519 key binds by signature.
/// <code>
/// DH1 = DH(IK_A, SPK_B)   DH2 = DH(EK_A, IK_B)   DH3 = DH(EK_A, SPK_B)   DH4 = DH(EK_A, OPK_B) (optional)
/// SK  = HKDF-SHA256(salt = 0^32, ikm = 0xFF^32 || DH1 || DH2 || DH3 [|| DH4], info = "messaging.x3dh.v1", L = 32)
/// </code>
/// </summary>
internal static class X3dhAgreement
{
    public const int AssociatedDataLength = 128;
    private static readonly byte[] Info = Encoding.ASCII.GetBytes("messaging.x3dh.v1");

    /// <summary>Initiator side. Verifies the signed prekey against the bundle's identity before any DH.</summary>
    /// <exception cref="SignatureVerificationException">The signed prekey is not signed by the bundle's identity.</exception>
    public static X3dhSecret Initiate(IdentityKeyPair local, PreKeyBundle remote, X25519KeyPair ephemeral)
    {
        ArgumentNullException.ThrowIfNull(local);
        ArgumentNullException.ThrowIfNull(remote);
        ArgumentNullException.ThrowIfNull(ephemeral);
        var spk = remote.SignedPreKey;
        if (!remote.Identity.Verify(DomainSignature.SignedPreKey, SignedPreKeyPublic.SignedData(spk.Id, spk.PublicKey), spk.Signature))
        {
            throw new SignatureVerificationException($"Signed prekey {spk.Id} is not signed by the bundle's identity.");
        }

        var dhCount = remote.OneTimePreKey is null ? 3 : 4;
        Span<byte> ikm = stackalloc byte[32 * (1 + dhCount)];
        try
        {
            ikm[..32].Fill(0xFF);
            local.Agree(spk.PublicKey, ikm.Slice(32, 32));
            ephemeral.Agree(remote.Identity.AgreementKey, ikm.Slice(64, 32));
            ephemeral.Agree(spk.PublicKey, ikm.Slice(96, 32));
            if (remote.OneTimePreKey is { } opk)
            {
                ephemeral.Agree(opk.PublicKey, ikm.Slice(128, 32));
            }

            return Derive(ikm, local.PublicKey, remote.Identity);
        }
        finally
        {
            LibSodium.Zero(ikm);
        }
    }

    /// <summary>Responder side, from the initiator's identity and ephemeral key and the prekeys it named.</summary>
    public static X3dhSecret Respond(IdentityKeyPair local, SignedPreKeyPair signedPreKey, OneTimePreKeyPair? oneTimePreKey, IdentityPublicKey initiator, ReadOnlySpan<byte> ephemeralPublic)
    {
        ArgumentNullException.ThrowIfNull(local);
        ArgumentNullException.ThrowIfNull(signedPreKey);
        ArgumentNullException.ThrowIfNull(initiator);
        var dhCount = oneTimePreKey is null ? 3 : 4;
        Span<byte> ikm = stackalloc byte[32 * (1 + dhCount)];
        try
        {
            ikm[..32].Fill(0xFF);
            signedPreKey.KeyPair.Agree(initiator.AgreementKey, ikm.Slice(32, 32));
            local.Agree(ephemeralPublic, ikm.Slice(64, 32));
            signedPreKey.KeyPair.Agree(ephemeralPublic, ikm.Slice(96, 32));
            oneTimePreKey?.KeyPair.Agree(ephemeralPublic, ikm.Slice(128, 32));
            return Derive(ikm, initiator, local.PublicKey);
        }
        finally
        {
            LibSodium.Zero(ikm);
        }
    }

    private static X3dhSecret Derive(ReadOnlySpan<byte> ikm, IdentityPublicKey initiator, IdentityPublicKey responder)
    {
        var sharedKey = new byte[32];
        Span<byte> salt = stackalloc byte[32];
        salt.Clear();
        LibSodium.Hkdf(sharedKey, salt, ikm, Info);
        var ad = new byte[AssociatedDataLength];
        initiator.SigningKey.CopyTo(ad);
        initiator.AgreementKey.CopyTo(ad.AsSpan(32));
        responder.SigningKey.CopyTo(ad.AsSpan(64));
        responder.AgreementKey.CopyTo(ad.AsSpan(96));
        return new X3dhSecret(sharedKey, ad);
    }
}
