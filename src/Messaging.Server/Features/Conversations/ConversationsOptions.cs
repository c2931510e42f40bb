using System.ComponentModel.DataAnnotations;

namespace Messaging.Server.Features.Conversations;

/// <summary>Conversation limits (section <c>Messaging:Conversations</c>).</summary>
public sealed class ConversationsOptions
{
    public const string Section = "Messaging:Conversations";

    /// <summary>Most members in one conversation, the creator included.</summary>
    [Range(2, 1000)]
    public int MaxMembers { get; set; } = 32;
}
