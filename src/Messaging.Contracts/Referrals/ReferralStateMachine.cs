namespace Messaging.Contracts.Referrals;

/// <summary>
/// The referral state machine, shared by the server (which enforces <see cref="Next"/> and <see cref="PartyOf"/>) and
/// the clients (which additionally enforce <see cref="IsAllowedWithFollowUp"/>).
/// <code>
/// proposed            --accept (receiving)-------------&gt; accepted
/// proposed            --decline (receiving, reason)----&gt; declined           (final)
/// proposed            --propose-tripartite (receiving)-&gt; tripartite-proposed
/// proposed            --withdraw (referring)-----------&gt; withdrawn          (final)
/// proposed            --expire (system)----------------&gt; expired            (final)
/// tripartite-proposed --accept | decline (receiving)---&gt; accepted | declined
/// tripartite-proposed --withdraw (referring)-----------&gt; withdrawn
/// tripartite-proposed --expire (system)----------------&gt; expired
/// proposed | tripartite-proposed | accepted --close (system: a partner left the protocol)--&gt; closed (final)
/// </code>
/// Accepted is not final only because a partner's withdrawal closes it; no party can undo an acceptance, and a
/// tripartite interview is proposed at most once. The receiving service decides freely (protocol 7): nothing here
/// assigns work to it.
/// </summary>
public static class ReferralStateMachine
{
    /// <summary>Declined, withdrawn, expired and closed admit no further action.</summary>
    public static bool IsFinal(ReferralStatus status) => status is ReferralStatus.Declined or ReferralStatus.Withdrawn
        or ReferralStatus.Expired or ReferralStatus.Closed;

    /// <summary>Proposed and tripartite-proposed wait for the receiving service (and expire when unanswered).</summary>
    public static bool IsAwaitingDecision(ReferralStatus status) => status is ReferralStatus.Proposed or ReferralStatus.TripartiteProposed;

    /// <summary>Case-bound envelopes may travel under the referral (awaiting a decision or accepted).</summary>
    public static bool IsLive(ReferralStatus status) => IsAwaitingDecision(status) || status == ReferralStatus.Accepted;

    /// <summary>Who may perform an action.</summary>
    public static ReferralParty PartyOf(ReferralAction action) => action switch
    {
        ReferralAction.Accept or ReferralAction.Decline or ReferralAction.ProposeTripartite => ReferralParty.Receiving,
        ReferralAction.Withdraw => ReferralParty.Referring,
        _ => ReferralParty.System,
    };

    /// <summary>The action a response performs.</summary>
    public static ReferralAction ActionOf(ReferralResponse response) => response switch
    {
        ReferralResponse.Accept => ReferralAction.Accept,
        ReferralResponse.Decline => ReferralAction.Decline,
        ReferralResponse.ProposeTripartite => ReferralAction.ProposeTripartite,
        _ => throw new ArgumentOutOfRangeException(nameof(response), response, "Unknown response."),
    };

    /// <summary>The status after <paramref name="action"/>, or null when the transition is not allowed.</summary>
    public static ReferralStatus? Next(ReferralStatus from, ReferralAction action) => (from, action) switch
    {
        (ReferralStatus.Proposed, ReferralAction.Accept) => ReferralStatus.Accepted,
        (ReferralStatus.Proposed, ReferralAction.Decline) => ReferralStatus.Declined,
        (ReferralStatus.Proposed, ReferralAction.ProposeTripartite) => ReferralStatus.TripartiteProposed,
        (ReferralStatus.Proposed, ReferralAction.Withdraw) => ReferralStatus.Withdrawn,
        (ReferralStatus.Proposed, ReferralAction.Expire) => ReferralStatus.Expired,
        (ReferralStatus.Proposed, ReferralAction.Close) => ReferralStatus.Closed,
        (ReferralStatus.TripartiteProposed, ReferralAction.Accept) => ReferralStatus.Accepted,
        (ReferralStatus.TripartiteProposed, ReferralAction.Decline) => ReferralStatus.Declined,
        (ReferralStatus.TripartiteProposed, ReferralAction.Withdraw) => ReferralStatus.Withdrawn,
        (ReferralStatus.TripartiteProposed, ReferralAction.Expire) => ReferralStatus.Expired,
        (ReferralStatus.TripartiteProposed, ReferralAction.Close) => ReferralStatus.Closed,
        (ReferralStatus.Accepted, ReferralAction.Close) => ReferralStatus.Closed,
        _ => null,
    };

    /// <summary>True when <paramref name="party"/> may perform <paramref name="action"/> on a referral in
    /// <paramref name="from"/>.</summary>
    public static bool IsAllowed(ReferralStatus from, ReferralAction action, ReferralParty party)
        => PartyOf(action) == party && Next(from, action) is not null;

    /// <summary>
    /// Protocol 7.A/7.B, enforced by the clients only: when the end-to-end encrypted referral says a follow-up is
    /// already running elsewhere, the only possible next step from <see cref="ReferralStatus.Proposed"/> is a
    /// tripartite interview — the receiving service may neither take the person over nor dismiss the referral before
    /// that interview. Once the interview is proposed, it decides freely (accept a complementary intervention, 7.B, or
    /// decline). The server never sees the flag (it sees only the case reference, the organisations, the status and
    /// timestamps), so it enforces <see cref="Next"/> alone; the receiving client must check this rule before it
    /// responds, and the referring client should flag a response that breaks it.
    /// </summary>
    public static bool IsAllowedWithFollowUp(ReferralStatus from, ReferralResponse response, bool followUpOngoing)
    {
        if (Next(from, ActionOf(response)) is null)
        {
            return false;
        }

        return !followUpOngoing || from != ReferralStatus.Proposed || response == ReferralResponse.ProposeTripartite;
    }

    /// <summary>The responses a receiving client may offer, given the client-only follow-up flag.</summary>
    public static IReadOnlyList<ReferralResponse> AllowedResponses(ReferralStatus from, bool followUpOngoing)
        => [.. new[] { ReferralResponse.Accept, ReferralResponse.Decline, ReferralResponse.ProposeTripartite }
            .Where(r => IsAllowedWithFollowUp(from, r, followUpOngoing))];

    /// <summary>The kebab-case name used in audit details and documentation.</summary>
    public static string Name(ReferralStatus status) => status switch
    {
        ReferralStatus.Proposed => "proposed",
        ReferralStatus.TripartiteProposed => "tripartite-proposed",
        ReferralStatus.Accepted => "accepted",
        ReferralStatus.Declined => "declined",
        ReferralStatus.Withdrawn => "withdrawn",
        ReferralStatus.Expired => "expired",
        ReferralStatus.Closed => "closed",
        _ => "unknown",
    };
}
