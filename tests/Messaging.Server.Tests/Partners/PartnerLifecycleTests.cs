using System.Net;
using System.Net.Http.Json;
using Messaging.Contracts;
using Messaging.Contracts.Referrals;
using Messaging.Server.Features.Audit;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Messaging.Server.Tests;

/// <summary>Protocol section 9 on the fake clock: join requests with and without objection, withdrawal after exactly
/// the notice period.</summary>
public abstract class PartnerLifecycleTests(StorageProvider storage)
{
    private static async Task<JoinRequestEntry> FileJoinRequestAsync(MessagingApp app, string name = "Ville de Mons")
    {
        var http = await app.ClientAsync(await app.OperatorAsync());
        var response = await http.PostAsJsonAsync(ApiRoutes.JoinRequests,
            new FileJoinRequest(name, OrganisationTypes.PreventionService, ServiceLevels.Local, CommuneCodes: ["21009"]));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JoinRequestEntry>())!;
    }

    [Fact]
    public async Task AJoinRequest_IsAnnouncedToPartners_AndAdmittedWhenNobodyObjectsBeforeTheDeadline()
    {
        await using var app = new MessagingApp(storage);
        var a = await app.CreateOrganisationAsync();
        await using var adminA = await app.ConnectAsync(a.Admin);
        await using var workerA = await app.ConnectWorkerAsync(a);

        var filed = await FileJoinRequestAsync(app);
        Assert.Equal(JoinRequestStatuses.Pending, filed.Status);
        Assert.Equal(filed.FiledAt.AddDays(30), filed.ObjectionDeadline);
        var announced = await adminA.AnnouncementAsync();
        Assert.Equal((PartnerAnnouncementKinds.JoinRequested, filed.JoinRequestId, "Ville de Mons", filed.ObjectionDeadline),
            (announced.Kind, announced.SubjectId, announced.Name, announced.Deadline));
        Assert.Equal(filed.JoinRequestId, (await workerA.AnnouncementAsync()).SubjectId);
        Assert.Equal(filed, Assert.Single(await adminA.Hub.InvokeAsync<IReadOnlyList<JoinRequestEntry>>(nameof(IMessagingHub.ListJoinRequests))));
        await Refusal.AssertHubAsync(ErrorCodes.Forbidden, () => workerA.Hub.InvokeAsync<IReadOnlyList<JoinRequestEntry>>(nameof(IMessagingHub.ListJoinRequests)));

        app.Clock.SetUtcNow(filed.ObjectionDeadline.AddMilliseconds(-1));
        await app.RunDueJobsAsync();
        Assert.Equal(1, await app.CountAsync("partner_join_requests", "status = 'pending' AND organisation_id IS NULL"));

        app.Clock.SetUtcNow(filed.ObjectionDeadline);
        await app.RunDueJobsUntilAsync(async () => await app.CountAsync("partner_join_requests", "status = 'pending'") == 0);
        var http = await app.FreshClientAsync(await app.OperatorAsync());
        var decided = Assert.Single((await http.GetFromJsonAsync<List<JoinRequestEntry>>(ApiRoutes.JoinRequests))!);
        Assert.Equal((JoinRequestStatuses.Admitted, (DateTimeOffset?)filed.ObjectionDeadline), (decided.Status, decided.DecidedAt));
        var services = (await http.GetFromJsonAsync<List<DirectoryServiceEntry>>(ApiRoutes.DirectoryServices))!;
        var admitted = Assert.Single(services, s => s.OrganisationId == decided.OrganisationId);
        Assert.Equal(("Ville de Mons", ServiceLevels.Local, true, PartnerStatuses.Active), (admitted.Name, admitted.Level, admitted.AcceptsReferrals, admitted.PartnerStatus));
        Assert.Equal(["21009"], admitted.CommuneCodes);
        var orientation = (await http.GetFromJsonAsync<OrientationResult>($"{ApiRoutes.Orientation}?commune=21009"))!;
        Assert.Equal("Ville de Mons", orientation.Services[0].Name);
        Assert.Equal(1, await app.CountAsync("audit_log", "event_type = 'partner.admitted'"));
        Assert.Equal(1, await app.CountAsync("audit_log", $"event_type = 'partner.join-requested' AND subjects = 'join-request:{filed.JoinRequestId:D}'"));
        Assert.Equal(1, await app.CountAsync("audit_log", $"event_type = 'organisation.created' AND subjects = 'organisation:{decided.OrganisationId:D}'"));

        // Too late to object now.
        await using var lateAdmin = await app.ReconnectAsync(adminA);
        await Refusal.AssertHubAsync(ErrorCodes.ObjectionWindowClosed, () => lateAdmin.InvokeAsync<JoinRequestEntry>(nameof(IMessagingHub.ObjectToJoinRequest),
            new ObjectToJoinRequest(filed.JoinRequestId, ObjectionReasons.Other)));
        Assert.Equal(0, await app.CountAsync("partner_objections"));
    }

    [Fact]
    public async Task AJoinRequest_WithAnObjectionBeforeTheDeadline_IsRejected()
    {
        await using var app = new MessagingApp(storage);
        var a = await app.CreateOrganisationAsync();
        var b = await app.CreateOrganisationAsync();
        await using var adminA = await app.ConnectAsync(a.Admin);
        await using var adminB = await app.ConnectAsync(b.Admin);
        await using var workerB = await app.ConnectWorkerAsync(b);
        await using var op = await app.ConnectAsync(await app.OperatorAsync());
        var filed = await FileJoinRequestAsync(app);
        ObjectToJoinRequest Objection(string reason) => new(filed.JoinRequestId, reason);

        await Refusal.AssertHubAsync(ErrorCodes.Forbidden, () => workerB.InvokeAsync<JoinRequestEntry>(nameof(IMessagingHub.ObjectToJoinRequest), Objection(ObjectionReasons.Other)));
        await Refusal.AssertHubAsync(ErrorCodes.Forbidden, () => op.InvokeAsync<JoinRequestEntry>(nameof(IMessagingHub.ObjectToJoinRequest), Objection(ObjectionReasons.Other)));
        await Refusal.AssertHubAsync(ErrorCodes.Malformed, () => adminA.InvokeAsync<JoinRequestEntry>(nameof(IMessagingHub.ObjectToJoinRequest), Objection("we just do not like them")));
        await Refusal.AssertHubAsync(ErrorCodes.JoinRequestNotFound, () => adminA.InvokeAsync<JoinRequestEntry>(nameof(IMessagingHub.ObjectToJoinRequest),
            new ObjectToJoinRequest(Guid.NewGuid(), ObjectionReasons.Other)));

        app.Clock.SetUtcNow(filed.ObjectionDeadline.AddMinutes(-1));
        await using var lateAdminA = await app.ReconnectAsync(adminA);
        var objected = await lateAdminA.InvokeAsync<JoinRequestEntry>(nameof(IMessagingHub.ObjectToJoinRequest), Objection(ObjectionReasons.OutsideScope));
        Assert.Equal((1, true), (objected.Objections, objected.ObjectedByMyOrganisation));
        Assert.Equal(1, (await lateAdminA.InvokeAsync<JoinRequestEntry>(nameof(IMessagingHub.ObjectToJoinRequest), Objection(ObjectionReasons.Other))).Objections);
        await using var lateAdminB = await app.ReconnectAsync(adminB);
        var listedByB = Assert.Single(await lateAdminB.Hub.InvokeAsync<IReadOnlyList<JoinRequestEntry>>(nameof(IMessagingHub.ListJoinRequests)));
        Assert.Equal((1, false), (listedByB.Objections, listedByB.ObjectedByMyOrganisation));

        var organisationsBefore = await app.CountAsync("organisations");
        app.Clock.SetUtcNow(filed.ObjectionDeadline);
        await app.RunDueJobsAsync();
        Assert.Equal(1, await app.CountAsync("partner_join_requests", "status = 'rejected' AND organisation_id IS NULL"));
        Assert.Equal(organisationsBefore, await app.CountAsync("organisations"));
        Assert.Equal(1, await app.CountAsync("audit_log", "event_type = 'partner.objected' AND detail = 'outside-scope'"));
        Assert.Equal(1, await app.CountAsync("audit_log", "event_type = 'partner.rejected'"));
    }

    [Fact]
    public async Task OnlyTheOperator_FilesJoinRequests()
    {
        await using var app = new MessagingApp(storage);
        var a = await app.CreateOrganisationAsync();
        var http = await app.ClientAsync(a.Admin);
        await Refusal.AssertHttpAsync(ErrorCodes.Forbidden, 403, await http.PostAsJsonAsync(ApiRoutes.JoinRequests,
            new FileJoinRequest("Ville de Mons", OrganisationTypes.PreventionService, ServiceLevels.Local)));
        var op = await app.ClientAsync(await app.OperatorAsync());
        await Refusal.AssertHttpAsync(ErrorCodes.Malformed, 400, await op.PostAsJsonAsync(ApiRoutes.JoinRequests,
            new FileJoinRequest("Région flamande", OrganisationTypes.Coordination, ServiceLevels.Regional, "flanders")));
        await Refusal.AssertHttpAsync(ErrorCodes.CommuneNotFound, 404, await op.PostAsJsonAsync(ApiRoutes.JoinRequests,
            new FileJoinRequest("Ville de Mons", OrganisationTypes.PreventionService, ServiceLevels.Local, CommuneCodes: ["53053"])));
        Assert.Equal(0, await app.CountAsync("partner_join_requests"));
    }

    [Fact]
    public async Task AWithdrawal_TakesEffectAfterExactlyOneCalendarMonth_RevokingDevicesAndClosingReferrals()
    {
        // Referrals wait longer than the notice here, so that only the withdrawal closes them.
        await using var app = new MessagingApp(storage, new Dictionary<string, string?> { ["Messaging:Referrals:ResponseWindow"] = "90.00:00:00" });
        var a = await app.CreateOrganisationAsync();
        var b = await app.CreateOrganisationAsync();
        var c = await app.CreateOrganisationAsync();
        await using var workerA = await app.ConnectWorkerAsync(a);
        await using var workerB = await app.ConnectWorkerAsync(b);
        await using var adminB = await app.ConnectAsync(b.Admin);
        var toB = await MessagingApp.OpenReferralAsync(workerA, b.Id);
        var fromB = await MessagingApp.OpenReferralAsync(workerB, a.Id);
        await MessagingApp.RespondAsync(workerA, fromB.CaseReference, ReferralResponse.Accept);
        var declined = await MessagingApp.OpenReferralAsync(workerA, b.Id);
        await MessagingApp.RespondAsync(workerB, declined.CaseReference, ReferralResponse.Decline, ReferralDeclineReason.NoCapacity);
        var unrelated = await MessagingApp.OpenReferralAsync(workerA, c.Id);
        var pendingMember = await app.CreateMemberAsync(b);
        await app.IssueCodeAsync(pendingMember);
        var operatorHttp = await app.ClientAsync(await app.OperatorAsync());
        (await operatorHttp.PutAsJsonAsync(ApiRoutes.DirectoryServiceFor(b.Id), new UpdateDirectoryServiceRequest(CommuneCodes: ["21004"]))).EnsureSuccessStatusCode();
        Assert.Contains((await workerA.InvokeAsync<OrientationResult>(nameof(IMessagingHub.Orient), new OrientRequest("21004"))).Services, s => s.OrganisationId == b.Id);

        await Refusal.AssertHttpAsync(ErrorCodes.Forbidden, 403, await (await app.ClientAsync(a.Admin)).PostAsJsonAsync(ApiRoutes.Withdrawals, new FileWithdrawalRequest(b.Id)));
        await Refusal.AssertHttpAsync(ErrorCodes.Forbidden, 403, await (await app.ClientAsync(workerB.Device)).PostAsJsonAsync(ApiRoutes.Withdrawals, new FileWithdrawalRequest(b.Id)));
        var response = await (await app.ClientAsync(b.Admin)).PostAsJsonAsync(ApiRoutes.Withdrawals, new FileWithdrawalRequest(b.Id));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var withdrawal = (await response.Content.ReadFromJsonAsync<WithdrawalEntry>())!;
        Assert.Equal(withdrawal.FiledAt.UtcDateTime.AddMonths(1), withdrawal.EffectiveAt.UtcDateTime);
        var announced = await workerA.AnnouncementAsync();
        Assert.Equal((PartnerAnnouncementKinds.WithdrawalFiled, (Guid?)b.Id, withdrawal.EffectiveAt), (announced.Kind, announced.OrganisationId, announced.Deadline));
        await Refusal.AssertHttpAsync(ErrorCodes.PartnerWithdrawn, 409, await (await app.ClientAsync(b.Admin)).PostAsJsonAsync(ApiRoutes.Withdrawals, new FileWithdrawalRequest(b.Id)));
        Assert.Equal([withdrawal], await (await app.ClientAsync(a.Admin)).GetFromJsonAsync<List<WithdrawalEntry>>(ApiRoutes.Withdrawals));
        await Refusal.AssertHttpAsync(ErrorCodes.Forbidden, 403, await (await app.ClientAsync(workerB.Device)).GetAsync(new Uri(ApiRoutes.Withdrawals, UriKind.Relative)));

        // Still a party during the notice: still oriented to.
        Assert.Contains((await workerA.InvokeAsync<OrientationResult>(nameof(IMessagingHub.Orient), new OrientRequest("21004"))).Services, s => s.OrganisationId == b.Id);

        // One millisecond before: still a party, nothing revoked, referrals untouched. The month closed the connections
        // with their tokens; the devices reconnect with fresh ones, as the SDK does.
        app.Clock.SetUtcNow(withdrawal.EffectiveAt.AddMilliseconds(-1));
        await using var liveA = await app.ReconnectAsync(workerA);
        await using var liveB = await app.ReconnectAsync(workerB);
        await using var liveAdminB = await app.ReconnectAsync(adminB);
        await app.RunDueJobsAsync();
        Assert.Equal(1, await app.CountAsync("organisations", $"id = '{b.Id:D}' AND partner_status = 'withdrawing'"));
        Assert.Equal(0, await app.CountAsync("devices", "status = 'revoked'"));
        Assert.Equal(ReferralStatus.Proposed, await app.ReferralStatusAsync(toB.CaseReference));
        Assert.False(liveB.Closed.IsCompleted);

        // Overlapping passes (timer and job) do the work once.
        app.Clock.SetUtcNow(withdrawal.EffectiveAt);
        await Task.WhenAll(app.RunDueJobsAsync(), app.RunDueJobsAsync());
        await app.RunDueJobsAsync();

        await liveB.Closed.WaitAsync(TimeSpan.FromSeconds(10));
        await liveAdminB.Closed.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(liveA.Closed.IsCompleted);
        var devicesOfB = $"member_id IN (SELECT id FROM members WHERE organisation_id = '{b.Id:D}')";
        Assert.Equal(0, await app.CountAsync("devices", $"{devicesOfB} AND status = 'active'"));
        Assert.Equal(2, await app.CountAsync("devices", $"{devicesOfB} AND status = 'revoked'"));
        Assert.Equal(2, await app.CountAsync("key_log", $"action = 2 AND {devicesOfB}"));
        Assert.Equal(2, await app.CountAsync("audit_log", "event_type = 'device.revoked' AND actor_member_id IS NULL"));
        Assert.Equal(0, await app.CountAsync("enrolment_codes", $"member_id = '{pendingMember.Id:D}'"));
        Assert.Equal(1, await app.CountAsync("organisations", $"id = '{b.Id:D}' AND partner_status = 'withdrawn'"));
        Assert.Equal(1, await app.CountAsync("partner_withdrawals", "status = 'effective'"));
        Assert.Equal(1, await app.CountAsync("audit_log", "event_type = 'partner.withdrawn'"));
        Assert.Equal(1, await app.CountAsync("audit_log", $"event_type = 'partner.withdrawal-filed' AND subjects LIKE '%organisation:{b.Id:D}'"));
        Assert.Equal(2, await app.CountAsync("audit_log", "event_type = 'referral.status-changed' AND detail = 'closed' AND actor_member_id IS NULL"));
        Assert.True((await AuditLog.VerifyAsync(app.Database, CancellationToken.None)).IsIntact);
        Assert.Equal(ReferralStatus.Closed, await app.ReferralStatusAsync(toB.CaseReference));
        Assert.Equal(ReferralStatus.Closed, await app.ReferralStatusAsync(fromB.CaseReference));
        Assert.Equal(ReferralStatus.Declined, await app.ReferralStatusAsync(declined.CaseReference));
        Assert.Equal(ReferralStatus.Proposed, await app.ReferralStatusAsync(unrelated.CaseReference));

        // A withdrawn partner receives no referral, no member and no device.
        await using var freshA = await app.ReconnectAsync(liveA);
        await Refusal.AssertHubAsync(ErrorCodes.ReferralsNotAccepted, () => MessagingApp.OpenReferralAsync(freshA, b.Id));
        Assert.DoesNotContain((await freshA.InvokeAsync<OrientationResult>(nameof(IMessagingHub.Orient), new OrientRequest("21004"))).Services, s => s.OrganisationId == b.Id);
        var op = await app.FreshClientAsync(await app.OperatorAsync());
        await Refusal.AssertHttpAsync(ErrorCodes.PartnerWithdrawn, 403, await op.PostAsJsonAsync(ApiRoutes.Members,
            new CreateMemberRequest(b.Id, "New admin", Roles.OrganisationAdmin, "new.admin@b.example")));
    }

    public sealed class OnSqlite() : PartnerLifecycleTests(StorageProvider.Sqlite);

    public sealed class OnPostgres() : PartnerLifecycleTests(StorageProvider.Postgres);
}
