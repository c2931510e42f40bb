using Messaging.Contracts;
using Messaging.Server.Errors;
using Messaging.Server.Features.Authentication;
using Messaging.Server.Features.Conversations;
using Messaging.Server.Persistence;

namespace Messaging.Server.Features.Devices;

/// <summary>
/// Who may fetch a member's prekey bundles (and so consume its one-time prekeys): the member's own other devices, and
/// the devices of members who share a conversation with it — exactly the devices a send can be addressed to, since a
/// send goes to a conversation's devices only. Any member may start a conversation with any other (the role policy
/// restricts message kinds, not partners: a justice assistant chats with workers, the operator with admins), but
/// starting one is rate-limited and audited with its members, so draining a member's prekeys leaves a trace and is
/// bounded by the per-(device, target) fetch limit.
/// </summary>
internal static class PreKeyBundlePolicy
{
    public static async Task RequireAsync(DbSession session, CallerDevice caller, Guid targetMemberId)
    {
        if (targetMemberId == caller.MemberId)
        {
            return;
        }

        if (!await ConversationRepository.ShareAConversationAsync(session, caller.MemberId, targetMemberId))
        {
            throw new ForbiddenException("Prekey bundles are given for members of a conversation you belong to; create the conversation first.",
                ErrorCodes.PreKeyBundleRefused);
        }
    }
}
