using System.Collections.Concurrent;
using Messaging.Client.Connection;
using Messaging.Client.KeyLog;
using Messaging.Client.Sessions;
using Messaging.Contracts;

namespace Messaging.Client.Sending;

/// <summary>
/// Sends an envelope to every device of a conversation: encrypts once per device, carries the waiting
/// acknowledgements, and when the server reports missing or stale devices, fixes the sessions and resends with the
/// same envelope id (idempotent on the server).
/// </summary>
internal sealed class Sender(HubLink hub, SessionBook sessions, KeyDirectory keys, ConversationMembers members, Inbox.Inbox inbox, MessagingClientOptions options, Guid deviceId)
{
    private const int SendAttempts = 4;

    /// <summary>A device of the conversation left out because its member did not vouch for it, or because the
    /// conversation's signed membership does not justify its member.</summary>
    public event EventHandler<UnreachableDevice>? DeviceNotVouched;

    // The devices of each conversation as the server last listed them, with the members its verified membership log
    // justifies. A send uses them without asking again; the server refuses a recipient set that is no longer right
    // (naming the missing and stale devices), and only then is the list fetched anew. Trust does not come from this
    // list: every identity is checked against the key log, every member against the signed membership log.
    private readonly ConcurrentDictionary<Guid, VerifiedDevices> _conversationDevices = new();

    public async Task<SendReceipt> SendAsync(Guid conversationId, EnvelopeKind kind, ReadOnlyMemory<byte> body, string? caseReference, Guid? consentId, Guid id, CancellationToken cancellationToken, NoticeRouting? notice = null)
    {
        var frame = PlaintextFrame.Wrap(body.Span);
        for (var attempt = 0; attempt < SendAttempts; attempt++)
        {
            var listed = !_conversationDevices.TryGetValue(conversationId, out var devices);
            if (listed)
            {
                devices = await members.ListAsync(conversationId, cancellationToken).ConfigureAwait(false);
                _conversationDevices[conversationId] = devices;
            }

            // Only devices of members the signed membership justifies, and that their member vouched for (a certificate
            // under the pinned member key), get the message; the others are named to the server as unreachable and
            // reported to the user. A list fresh from the server is checked against a freshly synced key log (a device
            // it lists again may have been revoked meanwhile).
            var others = devices!.Devices.Where(d => d.DeviceId != deviceId).ToList();
            var notMembers = devices.Members is { } justified
                ? others.Where(d => !justified.Contains(d.MemberId)).Select(d => new UnreachableDevice(d.DeviceId, d.MemberId, UnreachableDevice.NotInSignedMembershipReason)).ToList()
                : [];
            var (targets, notVouched) = await keys.PartitionAsync([.. others.Where(d => devices.Members?.Contains(d.MemberId) != false)], synced: listed, cancellationToken).ConfigureAwait(false);
            notVouched.AddRange(notMembers);
            foreach (var device in notVouched)
            {
                DeviceNotVouched?.Invoke(this, device);
            }

            var (recipients, unreachable) = await sessions.EncryptForAsync(targets, frame, MessagingClient.AssociatedData(id, conversationId, deviceId, kind), cancellationToken).ConfigureAwait(false);
            unreachable.AddRange(notVouched);
            if (recipients.Count == 0 && unreachable.Count > 0)
            {
                throw new SendNotCompletedException($"No device of conversation {conversationId} could be reached: none is vouched for by its member with a usable prekey bundle.");
            }

            // Pending acknowledgements ride along; the server applies them only if it accepts the send.
            var acknowledge = inbox.TakeAcknowledgements();
            SendEnvelopeResult result;
            try
            {
                result = await hub.InvokeAsync<SendEnvelopeResult>(nameof(IMessagingHub.SendEnvelope), new SendEnvelopeRequest(id, conversationId, kind, recipients, caseReference, consentId, acknowledge,
                    unreachable.Count > 0 ? [.. unreachable.Select(u => u.DeviceId)] : null, notice), cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                inbox.QueueAcknowledgements(acknowledge);
                _conversationDevices.TryRemove(conversationId, out _);
                throw;
            }

            if (result.Outcome == SendOutcome.Accepted)
            {
                return new SendReceipt(id, result.Sequence, result.AcceptedAt ?? options.Time.GetUtcNow(), recipients.Count) { Unreachable = unreachable };
            }

            // The device set changed: list it anew for the next attempt.
            inbox.QueueAcknowledgements(acknowledge);
            _conversationDevices.TryRemove(conversationId, out _);
            await sessions.DropAsync(result.StaleDeviceIds, cancellationToken).ConfigureAwait(false);
        }

        throw new SendNotCompletedException($"The devices of conversation {conversationId} kept changing; the send was not completed.");
    }
}
