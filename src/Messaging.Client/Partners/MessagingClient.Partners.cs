using Messaging.Contracts;

namespace Messaging.Client;

public sealed partial class MessagingClient
{
    /// <summary>Every request of a public entity to join the protocol, newest first, with its objection deadline and
    /// objection count (protocol section 9; organisation admins and the platform operator).</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The join requests; <see cref="JoinRequestEntry.ObjectedByMyOrganisation"/> says whether this member's
    /// organisation objected.</returns>
    /// <exception cref="InvalidOperationException">Not connected.</exception>
    /// <exception cref="NotPermittedException">This member is neither an organisation admin nor the platform operator.</exception>
    public Task<IReadOnlyList<JoinRequestEntry>> ListJoinRequestsAsync(CancellationToken cancellationToken = default)
        => InvokeAsync<IReadOnlyList<JoinRequestEntry>>(nameof(IMessagingHub.ListJoinRequests), cancellationToken);

    /// <summary>Objects, on behalf of this member's organisation, to a pending join request before its deadline. One
    /// objection is enough to reject the request; objecting again changes nothing.</summary>
    /// <param name="joinRequestId">The join request.</param>
    /// <param name="reasonCode">A reason from the closed list <see cref="ObjectionReasons"/> (no free text).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The join request with its objection count.</returns>
    /// <exception cref="ArgumentException"><paramref name="reasonCode"/> is not in <see cref="ObjectionReasons"/>; nothing was sent.</exception>
    /// <exception cref="InvalidOperationException">Not connected.</exception>
    /// <exception cref="NotPermittedException">This member is not an organisation admin of a party to the protocol.</exception>
    /// <exception cref="ServerRefusedException">No such join request (<c>partners.join-request-not-found</c>), or its
    /// objection window is over (<c>partners.objection-window-closed</c>).</exception>
    public Task<JoinRequestEntry> ObjectToJoinRequestAsync(Guid joinRequestId, string reasonCode, CancellationToken cancellationToken = default)
    {
        if (!ObjectionReasons.IsKnown(reasonCode))
        {
            throw new ArgumentException($"An objection reason is one of: {string.Join(", ", ObjectionReasons.All)}.", nameof(reasonCode));
        }

        return InvokeAsync<JoinRequestEntry>(nameof(IMessagingHub.ObjectToJoinRequest), new ObjectToJoinRequest(joinRequestId, reasonCode), cancellationToken);
    }
}
