namespace Messaging.Contracts;

/// <summary>
/// The only thing the server knows about a ciphertext: byte 0 is a format version tag. Everything after it is opaque.
/// </summary>
public static class CiphertextFormat
{
    /// <summary>Version 1: the Double Ratchet / X3DH message format of Messaging.Crypto with a fixed nonce (clients now refuse it).</summary>
    public const byte Version1 = 0x01;

    /// <summary>Version 2: the same with a random 24-byte nonce per message (docs/crypto.md, section 5).</summary>
    public const byte Version2 = 0x02;

    /// <summary>True when <paramref name="ciphertext"/> is at least two bytes and starts with a known version tag.</summary>
    public static bool HasKnownVersion(ReadOnlySpan<byte> ciphertext) => ciphertext.Length >= 2 && ciphertext[0] is Version1 or Version2;
}
