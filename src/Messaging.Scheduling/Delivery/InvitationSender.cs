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
/// The messages carry work addresses, places and case references: on Unix every folder this sender creates (the pickup
/// folder and its missing parents) is 0700 and every file it writes 0600, whatever the umask or the data folder's mode
/// (an existing folder keeps its mode: it may be one the operator shares with a mail system on purpose). On Windows the
/// folder's inherited ACL applies.
/// </summary>
public sealed class PickupFolderSender : IInvitationSender
{
    private const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private readonly string _folder;

    public PickupFolderSender(string folder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        _folder = folder;
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(folder);
            return;
        }

        // Directory.CreateDirectory(path, mode) gives the mode to the last folder only: missing parents (the feature's
        // own folder under the data folder) are created one by one, from the top, each owner-only.
        var missing = new Stack<string>();
        for (var directory = Path.GetFullPath(folder); !Directory.Exists(directory); directory = Path.GetDirectoryName(directory)!)
        {
            missing.Push(directory);
        }

        while (missing.TryPop(out var directory))
        {
            Directory.CreateDirectory(directory, OwnerOnlyDirectory);
        }
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
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Options = FileOptions.Asynchronous };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = OwnerOnlyFile;
        }

        var file = new FileStream(temporary, options);
        await using (file.ConfigureAwait(false))
        {
            await invitation.Message.WriteToAsync(file, cancellationToken).ConfigureAwait(false);
        }

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
