using System.Text;
using Messaging.Crypto.KeyStore;

namespace Messaging.Crypto.Tests.KeyStore;

/// <summary>
/// A fixed-salt, fixed-nonce key store file, computed independently with pyca/cryptography (Argon2id with one
/// lane, HChaCha20 + ChaCha20-Poly1305) from the layout in docs/crypto-keystore-attestations-safety.md.
/// </summary>
public sealed class KeyStoreFormatKnownAnswerTests
{
    private const string Passphrase = "correct horse battery staple";
    private const string SaltHex = "101112131415161718191a1b1c1d1e1f";
    private const string NonceHex = "404142434445464748494a4b4c4d4e4f5051525354555657";
    private const string PayloadText = "device keys and sessions";

    private const string ExpectedFileHex =
        "4d4b5331010000000200010000101112131415161718191a1b1c1d1e1f404142434445464748494a4b4c4d4e4f5051525354555657"
        + "4541be5b3a23010597675c367828fc7994c8202fea7c77a2a63a4cce9fa6e57cfbe9238dd94af77b";

    [Fact]
    public void Seal_WithFixedSaltAndNonce_GivesTheKnownFile()
    {
        using var passphrase = new Passphrase(Passphrase);

        var file = KeyStoreFormat.Seal(
            Encoding.ASCII.GetBytes(PayloadText), passphrase, KeyStoreOptions.Interactive,
            Convert.FromHexString(SaltHex), Convert.FromHexString(NonceHex));

        Assert.Equal(ExpectedFileHex, Convert.ToHexStringLower(file));
    }

    [Fact]
    public void Open_TheKnownFile_GivesThePayload()
    {
        using var passphrase = new Passphrase(Passphrase);

        using var payload = KeyStoreFormat.Open(Convert.FromHexString(ExpectedFileHex), passphrase, KeyStoreLimits.Production);

        Assert.Equal(PayloadText, Encoding.ASCII.GetString(payload.Span));
    }
}
