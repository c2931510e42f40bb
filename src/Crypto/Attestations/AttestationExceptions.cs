namespace Messaging.Crypto.Attestations;

/// <summary>
/// An attestation or signed attestation is not in the canonical format: unknown version or tag, wrong
/// lengths, unsorted or duplicate field names, trailing bytes, invalid UTF-8 or control characters. Nothing in it may be
/// used; it cannot be repaired by the receiver.
/// </summary>
public sealed class MalformedAttestationException : CryptoException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong with the encoding.</param>
    public MalformedAttestationException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception wrapping a lower-level cause.</summary>
    /// <param name="message">What is wrong with the encoding.</param>
    /// <param name="innerException">The cause.</param>
    public MalformedAttestationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
