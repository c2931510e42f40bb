using Messaging.Client.KeyLog;

namespace Messaging.Client;

/// <summary>Cross-signing: the member signing key, device approval, member-key changes (issue 10).</summary>
public sealed partial class MessagingClient
{
    /// <summary>
    /// Raised when the verified key log names a new signing key for a member this device had pinned (a reset): a blocking
    /// warning. Every send to that member is refused with <see cref="MemberKeyChangedException"/> until the user compares
    /// the new safety number (<see cref="GetMemberSafetyNumberAsync"/>) and calls <see cref="ConfirmMemberKeyAsync"/>.
    /// </summary>
    public event EventHandler<Guid>? MemberKeyChanged;

    /// <summary>Raised when a member this device knows gained a device that one of their existing devices approved.</summary>
    public event EventHandler<MemberDevice>? MemberDeviceAdded;

    /// <summary>Whether this device holds its member's signing key: it receives messages and can approve the member's
    /// next devices. False while it waits for approval.</summary>
    public bool IsApproved => _trust.IsApproved;

    /// <summary>The code this device shows while it waits for approval (20 digits in four groups of five; the approving
    /// device must type every one).</summary>
    public string ApprovalCode => _trust.ApprovalCode.Digits;

    /// <summary>The full approval hash in hex (for a QR code).</summary>
    public string ApprovalCodeHex => _trust.ApprovalCode.Hex;

    /// <summary>The devices of this member waiting for approval, each with the code it shows.</summary>
    /// <exception cref="KeyLogTamperedException">The key log does not verify.</exception>
    public Task<IReadOnlyList<PendingDevice>> GetPendingDevicesAsync(CancellationToken cancellationToken = default) => _trust.PendingAsync(cancellationToken);

    /// <summary>
    /// Approves the device of this member that shows <paramref name="approvalCode"/> (compare it on the new device first):
    /// signs its certificate with the member key and seals the member key to it, so it can approve the next one.
    /// </summary>
    /// <returns>The approved device.</returns>
    /// <exception cref="MessagingClientException">The code is not 20 digits (spaces are ignored), this device is not
    /// approved itself, or no single pending device shows this code.</exception>
    /// <exception cref="ServerRefusedException">The server refused the approval.</exception>
    public Task<Guid> ApproveDeviceAsync(string approvalCode, CancellationToken cancellationToken = default) => _trust.ApproveAsync(approvalCode, cancellationToken);

    /// <summary>Checks whether another device of this member approved this one, and takes the member key if so.</summary>
    /// <returns><see cref="IsApproved"/>.</returns>
    public Task<bool> RefreshApprovalAsync(CancellationToken cancellationToken = default) => _trust.RefreshAsync(cancellationToken);

    /// <summary>
    /// Replaces this member's signing key, for a member who lost every device: the server revokes the member's other
    /// devices, and every contact sees a blocking warning until they confirm the new key.
    /// </summary>
    /// <exception cref="ServerRefusedException">This device is already vouched for under the current key
    /// (<c>trust.member-key-exists</c>).</exception>
    public Task ResetMemberKeyAsync(CancellationToken cancellationToken = default) => _trust.ResetAsync(cancellationToken);

    /// <summary>Accepts the new signing key of <paramref name="memberId"/> after a reset, once the user compared the new
    /// safety number; sends to that member resume.</summary>
    /// <exception cref="MessagingClientException">The key log names no key for this member.</exception>
    public Task ConfirmMemberKeyAsync(Guid memberId, CancellationToken cancellationToken = default) => _keys.ConfirmMemberKeyAsync(memberId, cancellationToken);

    /// <summary>Whether sends to <paramref name="memberId"/> wait for <see cref="ConfirmMemberKeyAsync"/> (its key changed).</summary>
    public async Task<bool> IsMemberKeyUnconfirmedAsync(Guid memberId, CancellationToken cancellationToken = default)
    {
        await _keys.SyncAsync(cancellationToken).ConfigureAwait(false);
        return await _store.UnderLockAsync(() => _keys.IsUnconfirmed(memberId), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The safety number between this member and <paramref name="memberId"/>, over both member signing keys
    /// (the new key of a reset awaiting confirmation). Comparing it once covers the member's future devices. Null while
    /// either member has no signing key.</summary>
    public Task<string?> GetMemberSafetyNumberAsync(Guid memberId, CancellationToken cancellationToken = default) => _keys.MemberSafetyNumberAsync(memberId, cancellationToken);
}
