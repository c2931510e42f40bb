namespace Messaging.Crypto;

/// <summary>Base type of every error raised by Messaging.Crypto. Catch a subtype to act on a specific cause.</summary>
public class CryptoException : Exception
{
    /// <summary>Creates the exception with a message that never contains key material or plaintext.</summary>
    public CryptoException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception wrapping a lower-level cause.</summary>
    public CryptoException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>Key material has the wrong length or is cryptographically unusable (for example a low-order X25519 point).
/// The caller should discard the key and obtain a fresh one.</summary>
public sealed class InvalidKeyException(string message) : CryptoException(message);

/// <summary>A signature (identity binding, signed prekey, attestation) does not verify under the expected key.
/// The signed data must not be used.</summary>
public sealed class SignatureVerificationException(string message) : CryptoException(message);

/// <summary>A message is not in a recognised format or version. Nothing was decrypted and no state changed.</summary>
public class MalformedMessageException(string message) : CryptoException(message);

/// <summary>A message is in a wire version this library no longer accepts (version 1, whose fixed AEAD nonce is unsafe
/// when a state is restored from an older copy). Nothing was decrypted and no state changed. The sender must update
/// and send the message again; the receiver should drop it and may tell the user.</summary>
/// <param name="version">The version tag the message carries.</param>
/// <param name="message">What went wrong and what the caller can do.</param>
public sealed class UnsupportedMessageVersionException(byte version, string message) : MalformedMessageException(message)
{
    /// <summary>The version tag (byte 0) of the refused message.</summary>
    public byte Version { get; } = version;
}

/// <summary>A message failed authentication: it was tampered with, or belongs to another session.
/// The session state is unchanged; the message should be dropped.</summary>
public sealed class MessageAuthenticationException(string message) : CryptoException(message);

/// <summary>A message was already decrypted (replay or duplicate), or its key was deleted. The session is unchanged.</summary>
public sealed class DuplicateMessageException(string message) : CryptoException(message);

/// <summary>A message lies further ahead in its chain than the skipped-key bound allows. The session is unchanged;
/// the sender should start a new session.</summary>
public sealed class TooManySkippedMessagesException(string message) : CryptoException(message);

/// <summary>A serialized session, key or record is not in a recognised format or version.</summary>
public sealed class InvalidStateFormatException(string message) : CryptoException(message);
