using Messaging.Contracts;
using Messaging.Contracts.Referrals;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Messaging.Server.Tests;

/// <summary>Referral metadata on the server: who may open, respond and withdraw, every refused transition, expiry.</summary>
public abstract class ReferralFlowTests(StorageProvider storage)
{
    private sealed record World(MessagingApp App, TestOrganisation A, TestOrganisation B, ConnectedDevice WorkerA, ConnectedDevice WorkerB,
        ConnectedDevice AdminB, ConnectedDevice OutsiderC) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            foreach (var device in new[] { WorkerA, WorkerB, AdminB, OutsiderC })
            {
                await device.DisposeAsync();
            }

            await App.DisposeAsync();
        }
    }

    private async Task<World> SetUpAsync(Dictionary<string, string?>? settings = null)
    {
        var app = new MessagingApp(storage, settings);
        var a = await app.CreateOrganisationAsync();
        var b = await app.CreateOrganisationAsync();
        var c = await app.CreateOrganisationAsync();
        return new World(app, a, b, await app.ConnectWorkerAsync(a), await app.ConnectWorkerAsync(b), await app.ConnectAsync(b.Admin),
            await app.ConnectWorkerAsync(c));
    }

    [Fact]
    public async Task AReferral_IsOpenedProposed_VisibleToBothOrganisationsOnly()
    {
        await using var w = await SetUpAsync();
        var opened = await MessagingApp.OpenReferralAsync(w.WorkerA, w.B.Id);

        Assert.Equal(ReferralStatus.Proposed, opened.Status);
        Assert.Equal((w.A.Id, w.B.Id), (opened.ReferringOrganisationId, opened.ReceivingOrganisationId));
        Assert.Equal(w.App.Clock.GetUtcNow().AddDays(30).ToUnixTimeMilliseconds(), opened.ExpiresAt!.Value.ToUnixTimeMilliseconds());
        Assert.Equal(opened, await MessagingApp.ReferralAsync(w.WorkerA, opened.CaseReference));
        Assert.Equal(opened, await MessagingApp.ReferralAsync(w.WorkerB, opened.CaseReference));
        Assert.Empty(await w.OutsiderC.Hub.InvokeAsync<IReadOnlyList<ReferralEntry>>(nameof(IMessagingHub.ListReferrals)));
        Assert.Equal(1, await w.App.CountAsync("audit_log", "event_type = 'referral.status-changed' AND detail = 'proposed'"));
    }

    [Fact]
    public async Task Opening_IsRefused_ForBadReferencesUnavailableServicesAndTheWrongRoles()
    {
        await using var w = await SetUpAsync();
        var justiceHouse = await w.App.CreateOrganisationAsync(OrganisationTypes.JusticeHouse);
        var coordination = await w.App.CreateServiceAsync(OrganisationTypes.Coordination, ServiceLevels.Community, acceptsReferrals: false);
        await using var assistant = await w.App.ConnectWorkerAsync(justiceHouse, Roles.JusticeAssistant);
        await using var op = await w.App.ConnectAsync(await w.App.OperatorAsync());
        var used = await MessagingApp.OpenReferralAsync(w.WorkerA, w.B.Id);
        var before = await w.App.CountAsync("referrals");

        await Refusal.AssertHubAsync(ErrorCodes.Malformed, () => MessagingApp.OpenReferralAsync(w.WorkerA, w.B.Id, "JEAN-DUPONT-2004"));
        await Refusal.AssertHubAsync(ErrorCodes.Malformed, () => MessagingApp.OpenReferralAsync(w.WorkerA, w.A.Id));
        await Refusal.AssertHubAsync(ErrorCodes.CaseReferenceInUse, () => MessagingApp.OpenReferralAsync(w.OutsiderC, w.B.Id, used.CaseReference));
        await Refusal.AssertHubAsync(ErrorCodes.OrganisationNotFound, () => MessagingApp.OpenReferralAsync(w.WorkerA, Guid.NewGuid()));
        await Refusal.AssertHubAsync(ErrorCodes.ReferralsNotAccepted, () => MessagingApp.OpenReferralAsync(w.WorkerA, justiceHouse.Id));
        await Refusal.AssertHubAsync(ErrorCodes.ReferralsNotAccepted, () => MessagingApp.OpenReferralAsync(w.WorkerA, coordination.Id));
        await Refusal.AssertHubAsync(ErrorCodes.Forbidden, () => MessagingApp.OpenReferralAsync(assistant, w.B.Id));
        await Refusal.AssertHubAsync(ErrorCodes.Forbidden, () => MessagingApp.OpenReferralAsync(op, w.B.Id));
        Assert.Equal(before, await w.App.CountAsync("referrals"));
    }

    public static TheoryData<ReferralResponse, ReferralStatus> Responses() => new()
    {
        { ReferralResponse.Accept, ReferralStatus.Accepted },
        { ReferralResponse.Decline, ReferralStatus.Declined },
        { ReferralResponse.ProposeTripartite, ReferralStatus.TripartiteProposed },
    };

    [Theory]
    [MemberData(nameof(Responses))]
    public async Task TheReceivingService_Responds_AndOnlyIt(ReferralResponse response, ReferralStatus expected)
    {
        await using var w = await SetUpAsync();
        var referral = await MessagingApp.OpenReferralAsync(w.WorkerA, w.B.Id);
        ReferralDeclineReason? reason = response == ReferralResponse.Decline ? ReferralDeclineReason.NoCapacity : null;

        await Refusal.AssertHubAsync(ErrorCodes.ReferralWrongParty, () => MessagingApp.RespondAsync(w.WorkerA, referral.CaseReference, response, reason));
        await Refusal.AssertHubAsync(ErrorCodes.ReferralNotFound, () => MessagingApp.RespondAsync(w.OutsiderC, referral.CaseReference, response, reason));
        Assert.Equal(ReferralStatus.Proposed, (await MessagingApp.ReferralAsync(w.WorkerA, referral.CaseReference)).Status);

        w.App.Clock.Advance(TimeSpan.FromMinutes(3));
        var answered = await MessagingApp.RespondAsync(w.AdminB, referral.CaseReference, response, reason);
        Assert.Equal(expected, answered.Status);
        Assert.Equal(reason, answered.DeclineReason);
        Assert.Equal(w.App.Clock.GetUtcNow().ToUnixTimeMilliseconds(), answered.StatusChangedAt.ToUnixTimeMilliseconds());
        Assert.Equal(answered, await MessagingApp.ReferralAsync(w.WorkerA, referral.CaseReference));
        Assert.Equal(expected == ReferralStatus.TripartiteProposed, answered.ExpiresAt is not null);
    }

    [Fact]
    public async Task ADecline_NeedsAReasonFromTheClosedList_AndOtherResponsesNone()
    {
        await using var w = await SetUpAsync();
        var referral = await MessagingApp.OpenReferralAsync(w.WorkerA, w.B.Id);

        await Refusal.AssertHubAsync(ErrorCodes.Malformed, () => MessagingApp.RespondAsync(w.WorkerB, referral.CaseReference, ReferralResponse.Decline));
        await Refusal.AssertHubAsync(ErrorCodes.Malformed, () => MessagingApp.RespondAsync(w.WorkerB, referral.CaseReference, ReferralResponse.Decline, (ReferralDeclineReason)99));
        await Refusal.AssertHubAsync(ErrorCodes.Malformed, () => MessagingApp.RespondAsync(w.WorkerB, referral.CaseReference, ReferralResponse.Accept, ReferralDeclineReason.Other));
        await Refusal.AssertHubAsync(ErrorCodes.Malformed, () => MessagingApp.RespondAsync(w.WorkerB, referral.CaseReference, (ReferralResponse)7));
        Assert.Equal(ReferralStatus.Proposed, (await MessagingApp.ReferralAsync(w.WorkerA, referral.CaseReference)).Status);
    }

    [Fact]
    public async Task TheReferringService_Withdraws_AndOnlyIt_BeforeADecision()
    {
        await using var w = await SetUpAsync();
        var proposed = await MessagingApp.OpenReferralAsync(w.WorkerA, w.B.Id);
        await Refusal.AssertHubAsync(ErrorCodes.ReferralWrongParty, () => MessagingApp.WithdrawReferralAsync(w.WorkerB, proposed.CaseReference));
        await Refusal.AssertHubAsync(ErrorCodes.ReferralNotFound, () => MessagingApp.WithdrawReferralAsync(w.OutsiderC, proposed.CaseReference));
        Assert.Equal(ReferralStatus.Withdrawn, (await MessagingApp.WithdrawReferralAsync(w.WorkerA, proposed.CaseReference)).Status);

        var tripartite = await MessagingApp.OpenReferralAsync(w.WorkerA, w.B.Id);
        await MessagingApp.RespondAsync(w.WorkerB, tripartite.CaseReference, ReferralResponse.ProposeTripartite);
        Assert.Equal(ReferralStatus.Withdrawn, (await MessagingApp.WithdrawReferralAsync(w.WorkerA, tripartite.CaseReference)).Status);

        var accepted = await MessagingApp.OpenReferralAsync(w.WorkerA, w.B.Id);
        await MessagingApp.RespondAsync(w.WorkerB, accepted.CaseReference, ReferralResponse.Accept);
        await Refusal.AssertHubAsync(ErrorCodes.ReferralTransitionRefused, () => MessagingApp.WithdrawReferralAsync(w.WorkerA, accepted.CaseReference));
    }

    [Fact]
    public async Task ATripartiteProposal_LeadsToAcceptOrDecline_ButNotToASecondProposal()
    {
        await using var w = await SetUpAsync();
        var first = await MessagingApp.OpenReferralAsync(w.WorkerA, w.B.Id);
        var proposed = await MessagingApp.RespondAsync(w.WorkerB, first.CaseReference, ReferralResponse.ProposeTripartite);
        w.App.Clock.Advance(TimeSpan.FromMinutes(1));

        // Proposing again is the same answer retried: the entry as it was, no second proposal (no new deadline, no audit).
        Assert.Equal(proposed, await MessagingApp.RespondAsync(w.WorkerB, first.CaseReference, ReferralResponse.ProposeTripartite));
        Assert.Equal(1, await w.App.CountAsync("audit_log", "event_type = 'referral.status-changed' AND detail = 'tripartite-proposed'"));
        Assert.Equal(ReferralStatus.Accepted, (await MessagingApp.RespondAsync(w.AdminB, first.CaseReference, ReferralResponse.Accept)).Status);
        await Refusal.AssertHubAsync(ErrorCodes.ReferralTransitionRefused, () => MessagingApp.RespondAsync(w.WorkerB, first.CaseReference, ReferralResponse.ProposeTripartite));

        var second = await MessagingApp.OpenReferralAsync(w.WorkerA, w.B.Id);
        await MessagingApp.RespondAsync(w.WorkerB, second.CaseReference, ReferralResponse.ProposeTripartite);
        Assert.Equal(ReferralStatus.Declined, (await MessagingApp.RespondAsync(w.WorkerB, second.CaseReference, ReferralResponse.Decline, ReferralDeclineReason.PersonDeclined)).Status);
    }

    public static TheoryData<ReferralResponse?, bool> FinalStatuses() => new()
    {
        { ReferralResponse.Decline, false },
        { null, true },
        { ReferralResponse.Accept, false },
    };

    [Theory]
    [MemberData(nameof(FinalStatuses))]
    public async Task AfterAFinalStatusOrAcceptance_NoResponseChangesIt(ReferralResponse? first, bool withdraw)
    {
        await using var w = await SetUpAsync();
        var referral = await MessagingApp.OpenReferralAsync(w.WorkerA, w.B.Id);
        var settled = withdraw
            ? await MessagingApp.WithdrawReferralAsync(w.WorkerA, referral.CaseReference)
            : await MessagingApp.RespondAsync(w.WorkerB, referral.CaseReference, first!.Value, first == ReferralResponse.Decline ? ReferralDeclineReason.OutsideCompetence : null);

        foreach (var response in Enum.GetValues<ReferralResponse>().Where(r => r != first))
        {
            await Refusal.AssertHubAsync(ErrorCodes.ReferralTransitionRefused, () => MessagingApp.RespondAsync(w.WorkerB, referral.CaseReference, response,
                response == ReferralResponse.Decline ? ReferralDeclineReason.Other : null));
        }

        await Refusal.AssertHubAsync(ErrorCodes.ReferralTransitionRefused, () => MessagingApp.WithdrawReferralAsync(w.WorkerA, referral.CaseReference));
        Assert.Equal(settled, await MessagingApp.ReferralAsync(w.WorkerA, referral.CaseReference));
    }

    [Fact]
    public async Task AnUnansweredReferral_ExpiresAtItsDeadline_NotBefore()
    {
        await using var w = await SetUpAsync(new Dictionary<string, string?> { ["Messaging:Referrals:ResponseWindow"] = "10.00:00:00" });
        var proposed = await MessagingApp.OpenReferralAsync(w.WorkerA, w.B.Id);
        var tripartite = await MessagingApp.OpenReferralAsync(w.WorkerA, w.B.Id);
        var accepted = await MessagingApp.OpenReferralAsync(w.WorkerA, w.B.Id);
        await MessagingApp.RespondAsync(w.WorkerB, accepted.CaseReference, ReferralResponse.Accept);

        w.App.Clock.Advance(TimeSpan.FromDays(5));
        await using var workerB = await w.App.ReconnectAsync(w.WorkerB);
        var rearmed = await MessagingApp.RespondAsync(workerB, tripartite.CaseReference, ReferralResponse.ProposeTripartite);
        Assert.Equal(w.App.Clock.GetUtcNow().AddDays(10).ToUnixTimeMilliseconds(), rearmed.ExpiresAt!.Value.ToUnixTimeMilliseconds());

        w.App.Clock.SetUtcNow(proposed.ExpiresAt!.Value.AddMilliseconds(-1));
        await w.App.RunDueJobsAsync();
        Assert.Equal(ReferralStatus.Proposed, await w.App.ReferralStatusAsync(proposed.CaseReference));

        // A job that ran early has scheduled itself again for the deadline, and Hangfire's own poller (real time) may be
        // running such a copy with the clock read before it moved: run what is due until the expiry shows, a few times.
        w.App.Clock.SetUtcNow(proposed.ExpiresAt!.Value);
        await w.App.RunDueJobsUntilAsync(async () => await w.App.ReferralStatusAsync(proposed.CaseReference) == ReferralStatus.Expired);
        await using var workerA = await w.App.ReconnectAsync(w.WorkerA);
        await using var workerB2 = await w.App.ReconnectAsync(workerB);
        Assert.Equal(ReferralStatus.Expired, (await MessagingApp.ReferralAsync(workerA, proposed.CaseReference)).Status);
        Assert.Equal(ReferralStatus.TripartiteProposed, (await MessagingApp.ReferralAsync(workerA, tripartite.CaseReference)).Status);
        Assert.Equal(ReferralStatus.Accepted, (await MessagingApp.ReferralAsync(workerA, accepted.CaseReference)).Status);
        await Refusal.AssertHubAsync(ErrorCodes.ReferralTransitionRefused, () => MessagingApp.RespondAsync(workerB2, proposed.CaseReference, ReferralResponse.Accept));

        w.App.Clock.SetUtcNow(rearmed.ExpiresAt!.Value);
        await w.App.RunDueJobsUntilAsync(async () => await w.App.ReferralStatusAsync(tripartite.CaseReference) == ReferralStatus.Expired);
        Assert.Equal(ReferralStatus.Expired, await w.App.ReferralStatusAsync(tripartite.CaseReference));
        Assert.Equal(2, await w.App.CountAsync("audit_log", "event_type = 'referral.status-changed' AND detail = 'expired' AND actor_member_id IS NULL"));
    }

    public sealed class OnSqlite() : ReferralFlowTests(StorageProvider.Sqlite);

    public sealed class OnPostgres() : ReferralFlowTests(StorageProvider.Postgres);
}
