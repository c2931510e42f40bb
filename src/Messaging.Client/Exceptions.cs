namespace Messaging.Client;

/// <summary>Base type of the client SDK's errors. The message never contains plaintext, keys or tokens.</summary>
public class MessagingClientException : Exception
{
    /// <summary>Creates the exception.</summary>
    public MessagingClientException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception around a cause.</summary>
    public MessagingClientException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The server refused a call with a stable error code (see <c>Messaging.Contracts.ErrorCodes</c>).
/// Nothing was stored; fix the request (or the caller's rights) before retrying.</summary>
public sealed class ServerRefusedException(string code, string message) : MessagingClientException($"{code}: {message}")
{
    /// <summary>The stable error code.</summary>
    public string Code { get; } = code;
}

/// <summary>
/// A remote device presented an identity key different from the one pinned for it (or from the key log).
/// Never accepted silently: compare safety numbers out of band, then call
/// <see cref="MessagingClient.TrustIdentityAsync"/> to accept the new key.
/// </summary>
public sealed class IdentityKeyChangedException(Guid deviceId, Guid memberId)
    : MessagingClientException($"The identity key of device {deviceId} (member {memberId}) changed. Verify the safety number before trusting it.")
{
    /// <summary>The device whose key changed.</summary>
    public Guid DeviceId { get; } = deviceId;

    /// <summary>Its member.</summary>
    public Guid MemberId { get; } = memberId;
}

/// <summary>The server's key log does not verify against the head this device recorded: the server rewrote history.
/// The client stops trusting the server's keys; report it to the platform's security contact.</summary>
public sealed class KeyLogTamperedException(long index)
    : MessagingClientException($"The key log does not verify at index {index}: the server's key history changed.")
{
    /// <summary>The first index that does not verify.</summary>
    public long Index { get; } = index;
}

/// <summary>A send could not be completed after fixing the recipient devices several times (devices kept changing).</summary>
public sealed class SendNotCompletedException(string message) : MessagingClientException(message);
