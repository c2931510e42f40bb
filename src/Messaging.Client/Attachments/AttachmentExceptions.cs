using Messaging.Contracts;

namespace Messaging.Client.Attachments;

/// <summary>
/// The file is larger than an attachment may be (<see cref="AttachmentFile.MaxBytes"/>, so that its encrypted blob fits
/// the server's 25 MiB): raised on the device before anything is uploaded, or by the server
/// (<c>attachment.too-large</c>) if its limit is lower. Send a smaller file; nothing was sent.
/// </summary>
public sealed class AttachmentTooLargeException(string code, string message) : ServerRefusedException(code, message)
{
    internal static AttachmentTooLargeException OnDevice(long size)
        => new(ErrorCodes.AttachmentTooLarge, $"An attachment is at most {AttachmentFile.MaxBytes} bytes; this file has {size}. Nothing was uploaded.");
}

/// <summary>This device keeps too many bytes of unexpired attachments on the server (<c>attachment.quota-exceeded</c>):
/// wait until older ones expire. Nothing was sent.</summary>
public sealed class AttachmentQuotaExceededException(string code, string message) : ServerRefusedException(code, message);

/// <summary>The server holds no attachment under that id (<c>attachment.not-found</c>): it expired with the envelope
/// retention period, or was never uploaded. Ask the sender to send the file again.</summary>
public sealed class AttachmentNotFoundException(string code, string message) : ServerRefusedException(code, message);

/// <summary>
/// The downloaded blob is not the one the case note names: another size, another SHA-256, another format, or it does not
/// decrypt. It was altered on the server or in transit; the file is never shown. Retrying fetches the same bytes: tell
/// the sender and the platform operator.
/// </summary>
public sealed class AttachmentIntegrityException(string message) : MessagingClientException(message);

/// <summary>Maps the server's attachment error codes to their typed exceptions (the other codes keep the SDK's mapping).</summary>
internal static class AttachmentErrors
{
    public static ServerRefusedException Map(ServerRefusedException refused)
    {
        var text = refused.Message.StartsWith(refused.Code + ": ", StringComparison.Ordinal) ? refused.Message[(refused.Code.Length + 2)..] : refused.Message;
        return refused.Code switch
        {
            ErrorCodes.AttachmentTooLarge => new AttachmentTooLargeException(refused.Code, text),
            ErrorCodes.AttachmentQuotaExceeded => new AttachmentQuotaExceededException(refused.Code, text),
            ErrorCodes.AttachmentNotFound => new AttachmentNotFoundException(refused.Code, text),
            _ => refused,
        };
    }
}
