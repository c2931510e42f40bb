using System.Net;
using System.Net.Http.Json;
using Messaging.Contracts;
using Messaging.Contracts.Referrals;
using Messaging.Server.Features.Partners;
using Messaging.Server.Features.Referrals;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Messaging.Server.Tests.Jobs;

/// <summary>
/// The one-off deadline jobs on Hangfire: each runs at its deadline on the injected clock and not before, is scheduled
/// again after a restart (the in-memory job storage forgets; the database does not), and never acts twice — a second
/// run, two runs at once, or a run after the effect committed (a crash before Hangfire recorded completion) change
/// nothing.
/// </summary>
public abstract class DeadlineJobTests(StorageProvider storage)
{
    [Fact]
    public async Task AReferralExpires_OnceAtItsDeadline_EvenAfterARestartWhileItWaited()
    {
        var app = new MessagingApp(storage);
        try
        {
            var a = await app.CreateOrganisationAsync();
            var b = await app.CreateOrganisationAsync();
            string caseReference;
            await using (var worker = await app.ConnectWorkerAsync(a))
            {
                caseReference = (await MessagingApp.OpenReferralAsync(worker, b.Id)).CaseReference;
            }

            var (id, deadline) = await ReferralDeadlineAsync(app, caseReference);
            Assert.Contains(("ReferralExpiryJob.RunAsync", id.ToString()), app.ScheduledJobs());

            app.Clock.SetUtcNow(deadline.AddMinutes(-1)); // (a minute early: a job under a second early is re-run by Hangfire within the second)
            await app.RunDueJobsAsync();
            Assert.Equal(ReferralStatus.Proposed, await app.ReferralStatusAsync(caseReference));
            Assert.Contains(("ReferralExpiryJob.RunAsync", id.ToString()), app.ScheduledJobs()); // ran early: waits again

            app = await app.RestartAsync();
            Assert.Contains(("ReferralExpiryJob.RunAsync", id.ToString()), app.ScheduledJobs()); // re-derived from the table

            app.Clock.SetUtcNow(deadline);
            await app.RunDueJobsAsync();
            Assert.Equal(ReferralStatus.Expired, await app.ReferralStatusAsync(caseReference));

            var job = app.Services.GetRequiredService<ReferralExpiryJob>();
            var again = await Task.WhenAll(job.RunAsync(id, CancellationToken.None), job.RunAsync(id, CancellationToken.None));
            Assert.DoesNotContain(true, again);
            await app.RunDueJobsAsync();
            Assert.Equal(1, await app.CountAsync("audit_log", "event_type = 'referral.status-changed' AND detail = 'expired'"));
            Assert.DoesNotContain(app.ScheduledJobs(), j => j.Method == "ReferralExpiryJob.RunAsync");
        }
        finally
        {
            await app.DisposeAsync();
        }
    }

    [Fact]
    public async Task AJoinRequest_IsAdmittedOnceAtItsObjectionDeadline_EvenAfterARestartWhileItWaited()
    {
        var app = new MessagingApp(storage);
        try
        {
            var http = await app.ClientAsync(await app.OperatorAsync());
            var response = await http.PostAsJsonAsync(ApiRoutes.JoinRequests,
                new FileJoinRequest("Ville de Mons", OrganisationTypes.PreventionService, ServiceLevels.Local, CommuneCodes: ["21009"]));
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            var filed = (await response.Content.ReadFromJsonAsync<JoinRequestEntry>())!;
            var organisations = await app.CountAsync("organisations");

            app.Clock.SetUtcNow(filed.ObjectionDeadline.AddMinutes(-1));
            await app.RunDueJobsAsync();
            Assert.Equal(1, await app.CountAsync("partner_join_requests", "status = 'pending'"));

            app = await app.RestartAsync();
            Assert.Contains(("JoinRequestDecisionJob.RunAsync", filed.JoinRequestId.ToString()), app.ScheduledJobs());
            app.Clock.SetUtcNow(filed.ObjectionDeadline);
            await app.RunDueJobsAsync();
            Assert.Equal(1, await app.CountAsync("partner_join_requests", "status = 'admitted' AND organisation_id IS NOT NULL"));

            var job = app.Services.GetRequiredService<JoinRequestDecisionJob>();
            var again = await Task.WhenAll(
                job.RunAsync(filed.JoinRequestId, CancellationToken.None), job.RunAsync(filed.JoinRequestId, CancellationToken.None));
            Assert.All(again, Assert.Null);
            Assert.Equal(organisations + 1, await app.CountAsync("organisations"));
            Assert.Equal(1, await app.CountAsync("audit_log", "event_type = 'partner.admitted'"));
            Assert.Equal(1, await app.CountAsync("organisation_communes", "nis_code = '21009' AND organisation_id NOT LIKE '5eed%'"));
        }
        finally
        {
            await app.DisposeAsync();
        }
    }

    [Fact]
    public async Task AWithdrawal_TakesEffectOnceAtTheEndOfItsNotice_EvenAfterARestartWhileItWaited()
    {
        var app = new MessagingApp(storage);
        try
        {
            var b = await app.CreateOrganisationAsync();
            var workerB = await app.EnrolDeviceAsync(await app.CreateMemberAsync(b));
            var response = await (await app.ClientAsync(b.Admin)).PostAsJsonAsync(ApiRoutes.Withdrawals, new FileWithdrawalRequest(b.Id));
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            var withdrawal = (await response.Content.ReadFromJsonAsync<WithdrawalEntry>())!;

            app.Clock.SetUtcNow(withdrawal.EffectiveAt.AddMinutes(-1));
            await app.RunDueJobsAsync();
            Assert.Equal(1, await app.CountAsync("organisations", $"id = '{b.Id:D}' AND partner_status = 'withdrawing'"));

            app = await app.RestartAsync();
            Assert.Contains(("WithdrawalJob.RunAsync", withdrawal.WithdrawalId.ToString()), app.ScheduledJobs());
            app.Clock.SetUtcNow(withdrawal.EffectiveAt);
            await app.RunDueJobsAsync();
            Assert.Equal(1, await app.CountAsync("organisations", $"id = '{b.Id:D}' AND partner_status = 'withdrawn'"));
            Assert.Equal(2, await app.CountAsync("devices", $"id IN ('{workerB.Id:D}', '{b.Admin.Id:D}') AND status = 'revoked'"));

            var job = app.Services.GetRequiredService<WithdrawalJob>();
            var again = await Task.WhenAll(
                job.RunAsync(withdrawal.WithdrawalId, CancellationToken.None), job.RunAsync(withdrawal.WithdrawalId, CancellationToken.None));
            Assert.DoesNotContain(true, again);
            Assert.Equal(1, await app.CountAsync("audit_log", "event_type = 'partner.withdrawn'"));
            Assert.Equal(2, await app.CountAsync("audit_log", "event_type = 'device.revoked'"));
            Assert.Equal(2, await app.CountAsync("key_log", "action = 2"));
        }
        finally
        {
            await app.DisposeAsync();
        }
    }

    private static async Task<(Guid Id, DateTimeOffset Deadline)> ReferralDeadlineAsync(MessagingApp app, string caseReference)
    {
        var row = (await app.QueryRowsAsync($"SELECT id, expires_at FROM referrals WHERE case_reference = '{caseReference}';")).Single();
        return (Guid.Parse(row[0]!), DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(row[1]!, System.Globalization.CultureInfo.InvariantCulture)));
    }

    public sealed class OnSqlite() : DeadlineJobTests(StorageProvider.Sqlite);

    public sealed class OnPostgres() : DeadlineJobTests(StorageProvider.Postgres);
}
