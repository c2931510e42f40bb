using Messaging.Contracts;

namespace Messaging.Client;

/// <summary>A decrypted message kept in the device's local, encrypted inbox.</summary>
/// <param name="Sequence">The server sequence number (order of acceptance).</param>
/// <param name="EnvelopeId">The sender's envelope id.</param>
/// <param name="ConversationId">The conversation.</param>
/// <param name="SenderMemberId">Who sent it.</param>
/// <param name="SenderDeviceId">From which device.</param>
/// <param name="Kind">The envelope kind.</param>
/// <param name="Body">The decrypted body (UTF-8 text for chat).</param>
/// <param name="SentAt">When the server accepted it.</param>
public sealed record InboxMessage(long Sequence, Guid EnvelopeId, Guid ConversationId, Guid SenderMemberId, Guid SenderDeviceId, EnvelopeKind Kind, byte[] Body, DateTimeOffset SentAt)
{
    /// <summary>The body as UTF-8 text.</summary>
    public string Text => System.Text.Encoding.UTF8.GetString(Body);

    /// <summary>Never prints the body.</summary>
    public override string ToString() => $"InboxMessage {{ Sequence = {Sequence}, EnvelopeId = {EnvelopeId}, Kind = {Kind} }}";
}
