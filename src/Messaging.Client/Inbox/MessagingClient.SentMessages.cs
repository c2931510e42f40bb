using Messaging.Contracts;

namespace Messaging.Client;

/// <summary>Own sent messages kept on the device: the server never hands a device its own envelopes back, so without this
/// a conversation shown after a restart would hold only what the others wrote.</summary>
public sealed partial class MessagingClient
{
    /// <summary>
    /// Keeps a chat message this device sent (<paramref name="receipt"/> from <see cref="SendTextAsync"/>) in the sealed local
    /// database beside the received ones: <see cref="GetInboxAsync"/> then lists it with this member and device as its
    /// sender, at the server's sequence and acceptance time, and <see cref="DeleteMessagesAsync"/> prunes it like any other.
    /// Keeping it twice changes nothing. Written to disk before it returns.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="receipt"/> or <paramref name="text"/> is null.</exception>
    public Task KeepSentTextAsync(Guid conversationId, SendReceipt receipt, string text, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(receipt);
        ArgumentNullException.ThrowIfNull(text);
        var message = new InboxMessage(receipt.Sequence, receipt.EnvelopeId, conversationId, MemberId, DeviceId, EnvelopeKind.Chat,
            System.Text.Encoding.UTF8.GetBytes(text), receipt.AcceptedAt);
        return _store.UnderLockAsync(() =>
        {
            using var batch = _store.Database.Begin();
            batch.AddMessage(message, receipt.AcceptedAt);
            batch.Commit();
            return true;
        }, cancellationToken);
    }
}
