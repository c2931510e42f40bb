using Messaging.Contracts;
using Messaging.Server.Features.Authentication;
using Messaging.Server.Features.Conversations;
using Messaging.Server.Persistence;

namespace Messaging.Server.Features.Envelopes;

/// <summary>
/// A send rule that arrives with the feature owning an envelope kind (referrals today; interviews and notices next).
/// <see cref="EnvelopeService"/> runs every registered gate inside the send's write transaction, after the shape, the
/// membership and the kind policy and before the recipient set is compared and anything is written; a gate refuses by
/// throwing a domain exception (see <c>Errors/DomainExceptions.cs</c>), which rolls the unit back. A gate reads only:
/// the send path writes nothing until every gate passed. Register one with
/// <see cref="EnvelopesFeature.AddEnvelopeGate{TGate}"/> from the feature's own <c>AddX</c>.
/// <para><see cref="Applies"/>, <see cref="ReadsState"/> and <see cref="ChecksRequestOnly"/> depend on the kind alone:
/// the service reads them once per kind when it starts.</para>
/// </summary>
internal interface IEnvelopeGate
{
    /// <summary>Where the gate runs among the others: lower first (see <see cref="EnvelopeGateOrder"/>); gates of equal
    /// order run by type name, so the sequence never depends on registration order.</summary>
    int Order { get; }

    /// <summary>Whether the gate has anything to say about <paramref name="kind"/>; cheap and pure.</summary>
    bool Applies(EnvelopeKind kind);

    /// <summary>Whether the check for <paramref name="kind"/> reads rows that other units change (a referral's status, a
    /// consent, a mandate): such a send must run serializable so the check still holds at commit (see
    /// <see cref="WriteIsolation"/>). By default, every kind the gate applies to; a gate that only checks the request's
    /// shape for some kinds says so.</summary>
    bool ReadsState(EnvelopeKind kind) => Applies(kind);

    /// <summary>Whether the check for <paramref name="kind"/> reads the request only: no participant, no row. Then
    /// <see cref="CheckRequest"/> says the same as <see cref="CheckAsync"/> for that kind, before the unit of work, and a
    /// send of that kind may be decided by the store's own checks in the statement that stores it
    /// (<see cref="EnvelopeRepository.StoreIfAllowedAsync"/>). By default no kind: a gate that checks the request's shape
    /// only, for some kinds, says so.</summary>
    bool ChecksRequestOnly(EnvelopeKind kind) => false;

    /// <summary>The check of a kind for which <see cref="ChecksRequestOnly"/> is true: refuses the send by throwing.</summary>
    void CheckRequest(SendEnvelopeRequest request) => throw new NotSupportedException("This gate reads more than the request.");

    /// <summary>Refuses the send by throwing; returns when the send may go on.</summary>
    Task CheckAsync(DbSession session, EnvelopeGateContext context);
}

/// <summary>What a gate sees of a send: the caller, the request, the conversation's participants and the send's
/// instant (storage precision, from the injected clock).</summary>
internal sealed record EnvelopeGateContext(CallerDevice Sender, SendEnvelopeRequest Request, bool Collective,
    IReadOnlyList<Participant> Participants, DateTimeOffset Now);

/// <summary>The order slots of the known gates; leave gaps so a later feature can slot in between.</summary>
internal static class EnvelopeGateOrder
{
    /// <summary>Referral, response, identity share and case file: the referral and consent rules (protocol 7.A).</summary>
    public const int Referrals = 100;

    /// <summary>Slot for the interview rules (protocol 7.A/7.B, tripartite interviews).</summary>
    public const int Interviews = 200;

    /// <summary>Slot for the attendance-notice rules (protocol 7.C).</summary>
    public const int Notices = 300;
}
