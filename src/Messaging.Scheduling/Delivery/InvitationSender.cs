using Messaging.Scheduling.Invitations;

namespace Messaging.Scheduling.Delivery;

/// <summary>What became of one message.</summary>
public enum DeliveryStatus
{
    /// <summary>The mail server accepted it (or it was written to the pickup folder).</summary>
    Sent,

    /// <summary>An earlier attempt already delivered it: nothing was sent again.</summary>
    AlreadySent,

    /// <summary>The server refused it for good (5xx): show the organiser; retrying will not help.</summary>
    PermanentFailure,

    /// <summary>Every attempt failed temporarily (4xx, connection): the job may try again later, the ledger keeps it
    /// exactly-once.</summary>
    TemporaryFailure,
}

/// <summary>The outcome of sending one message: its delivery id, status, and for failures the server's reply code
/// (no content, no address).</summary>
public sealed record DeliveryResult(string DeliveryId, DeliveryStatus Status, int? ReplyCode = null, string? Reason = null);

/// <summary>Sends invitation emails, each at most once per delivery id.</summary>
public interface IInvitationSender
{
    /// <summary>Sends <paramref name="invitation"/> unless its delivery id was already sent.</summary>
    /// <exception cref="OperationCanceledException">Cancelled; the ledger says whether the message went out.</exception>
    Task<DeliveryResult> SendAsync(OutgoingInvitation invitation, CancellationToken cancellationToken);
}

/// <summary>
/// The embedded default without SMTP: each message is written as <c>&lt;delivery id&gt;.eml</c> into a pickup folder
/// (written to a temporary name, then moved, so a reader never sees half a message). The file itself is the ledger.
/// </summary>
public sealed class PickupFolderSender : IInvitationSender
{
    private readonly string _folder;

    public PickupFolderSender(string folder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        _folder = folder;
        Directory.CreateDirectory(folder);
    }

    public async Task<DeliveryResult> SendAsync(OutgoingInvitation invitation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(invitation);
        DeliveryIds.Check(invitation.DeliveryId);
        var target = Path.Combine(_folder, invitation.DeliveryId + ".eml");
        if (File.Exists(target))
        {
            return new DeliveryResult(invitation.DeliveryId, DeliveryStatus.AlreadySent);
        }

        var temporary = Path.Combine(_folder, $".{invitation.DeliveryId}.{Guid.NewGuid():N}.tmp");
        await invitation.Message.WriteToAsync(temporary, cancellationToken).ConfigureAwait(false);
        try
        {
            File.Move(temporary, target, overwrite: false);
        }
        catch (IOException) when (File.Exists(target))
        {
            File.Delete(temporary);
            return new DeliveryResult(invitation.DeliveryId, DeliveryStatus.AlreadySent);
        }

        return new DeliveryResult(invitation.DeliveryId, DeliveryStatus.Sent);
    }
}
