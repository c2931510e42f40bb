using Messaging.Contracts.Referrals;

namespace Messaging.Server.Tests;

/// <summary>The pure rules in Messaging.Contracts, shared with the clients: every status × action pair, who may act, the
/// client-only follow-up rule, and the case-reference shape.</summary>
public sealed class ReferralStateMachineTests
{
    private static readonly Dictionary<(ReferralStatus, ReferralAction), ReferralStatus> Allowed = new()
    {
        [(ReferralStatus.Proposed, ReferralAction.Accept)] = ReferralStatus.Accepted,
        [(ReferralStatus.Proposed, ReferralAction.Decline)] = ReferralStatus.Declined,
        [(ReferralStatus.Proposed, ReferralAction.ProposeTripartite)] = ReferralStatus.TripartiteProposed,
        [(ReferralStatus.Proposed, ReferralAction.Withdraw)] = ReferralStatus.Withdrawn,
        [(ReferralStatus.Proposed, ReferralAction.Expire)] = ReferralStatus.Expired,
        [(ReferralStatus.Proposed, ReferralAction.Close)] = ReferralStatus.Closed,
        [(ReferralStatus.TripartiteProposed, ReferralAction.Accept)] = ReferralStatus.Accepted,
        [(ReferralStatus.TripartiteProposed, ReferralAction.Decline)] = ReferralStatus.Declined,
        [(ReferralStatus.TripartiteProposed, ReferralAction.Withdraw)] = ReferralStatus.Withdrawn,
        [(ReferralStatus.TripartiteProposed, ReferralAction.Expire)] = ReferralStatus.Expired,
        [(ReferralStatus.TripartiteProposed, ReferralAction.Close)] = ReferralStatus.Closed,
        [(ReferralStatus.Accepted, ReferralAction.Close)] = ReferralStatus.Closed,
    };

    public static TheoryData<ReferralStatus, ReferralAction> EveryPair()
    {
        var data = new TheoryData<ReferralStatus, ReferralAction>();
        foreach (var status in Enum.GetValues<ReferralStatus>())
        {
            foreach (var action in Enum.GetValues<ReferralAction>())
            {
                data.Add(status, action);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EveryPair))]
    public void EveryTransition_IsAllowedOnlyAsTheTableSays(ReferralStatus from, ReferralAction action)
    {
        var expected = Allowed.TryGetValue((from, action), out var to) ? to : (ReferralStatus?)null;
        Assert.Equal(expected, ReferralStateMachine.Next(from, action));
        foreach (var party in Enum.GetValues<ReferralParty>())
        {
            Assert.Equal(expected is not null && ReferralStateMachine.PartyOf(action) == party, ReferralStateMachine.IsAllowed(from, action, party));
        }
    }

    [Theory]
    [InlineData(ReferralStatus.Declined)]
    [InlineData(ReferralStatus.Withdrawn)]
    [InlineData(ReferralStatus.Expired)]
    [InlineData(ReferralStatus.Closed)]
    public void FinalStatuses_AdmitNoAction(ReferralStatus status)
    {
        Assert.True(ReferralStateMachine.IsFinal(status));
        Assert.False(ReferralStateMachine.IsLive(status));
        Assert.All(Enum.GetValues<ReferralAction>(), a => Assert.Null(ReferralStateMachine.Next(status, a)));
    }

    [Fact]
    public void OnlyTheReceivingServiceResponds_OnlyTheReferringServiceWithdraws_OnlyTheServerExpiresAndCloses()
    {
        Assert.Equal(ReferralParty.Receiving, ReferralStateMachine.PartyOf(ReferralAction.Accept));
        Assert.Equal(ReferralParty.Receiving, ReferralStateMachine.PartyOf(ReferralAction.Decline));
        Assert.Equal(ReferralParty.Receiving, ReferralStateMachine.PartyOf(ReferralAction.ProposeTripartite));
        Assert.Equal(ReferralParty.Referring, ReferralStateMachine.PartyOf(ReferralAction.Withdraw));
        Assert.Equal(ReferralParty.System, ReferralStateMachine.PartyOf(ReferralAction.Expire));
        Assert.Equal(ReferralParty.System, ReferralStateMachine.PartyOf(ReferralAction.Close));
        Assert.False(ReferralStateMachine.IsAllowed(ReferralStatus.Proposed, ReferralAction.Accept, ReferralParty.Referring));
        Assert.False(ReferralStateMachine.IsAllowed(ReferralStatus.Proposed, ReferralAction.Withdraw, ReferralParty.Receiving));
        Assert.False(ReferralStateMachine.IsAllowed(ReferralStatus.Proposed, ReferralAction.Expire, ReferralParty.Referring));
    }

    [Fact]
    public void WithAFollowUpRunning_TheOnlyFirstResponse_IsATripartiteInterview()
    {
        Assert.Equal([ReferralResponse.ProposeTripartite], ReferralStateMachine.AllowedResponses(ReferralStatus.Proposed, followUpOngoing: true));
        Assert.False(ReferralStateMachine.IsAllowedWithFollowUp(ReferralStatus.Proposed, ReferralResponse.Accept, true));
        Assert.False(ReferralStateMachine.IsAllowedWithFollowUp(ReferralStatus.Proposed, ReferralResponse.Decline, true));
        Assert.True(ReferralStateMachine.IsAllowedWithFollowUp(ReferralStatus.Proposed, ReferralResponse.ProposeTripartite, true));

        // After the interview is proposed the receiving service decides freely (complementary intervention, 7.B).
        Assert.Equal([ReferralResponse.Accept, ReferralResponse.Decline], ReferralStateMachine.AllowedResponses(ReferralStatus.TripartiteProposed, true));

        // Without the flag, every response the state machine allows.
        Assert.Equal([ReferralResponse.Accept, ReferralResponse.Decline, ReferralResponse.ProposeTripartite],
            ReferralStateMachine.AllowedResponses(ReferralStatus.Proposed, followUpOngoing: false));
        Assert.Empty(ReferralStateMachine.AllowedResponses(ReferralStatus.Accepted, false));
        Assert.Empty(ReferralStateMachine.AllowedResponses(ReferralStatus.Declined, true));
    }

    [Fact]
    public void ACaseReference_Is26Base32Characters_From128RandomBits()
    {
        var references = Enumerable.Range(0, 200).Select(_ => CaseReference.New()).ToList();
        Assert.All(references, r => Assert.True(CaseReference.IsWellFormed(r), r));
        Assert.Equal(references.Count, references.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal("AAAAAAAAAAAAAAAAAAAAAAAAAA", CaseReference.Encode(new byte[16]));
        Assert.Equal("77777777777777777777777774", CaseReference.Encode(Enumerable.Repeat((byte)0xFF, 16).ToArray()));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAA1")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAB")]
    [InlineData("Dupont Jean 02/03/2004 xx")]
    public void AMalformedCaseReference_IsRecognised(string? value) => Assert.False(CaseReference.IsWellFormed(value));
}
