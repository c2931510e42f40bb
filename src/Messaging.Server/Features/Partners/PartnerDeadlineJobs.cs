using Messaging.Contracts;
using Messaging.Contracts.Referrals;
using Messaging.Server.Features.Audit;
using Messaging.Server.Features.Devices;
using Messaging.Server.Features.Directory;
using Messaging.Server.Features.Jobs;
using Messaging.Server.Features.Members;
using Messaging.Server.Features.Organisations;
using Messaging.Server.Features.Referrals;
using Messaging.Server.Persistence;

namespace Messaging.Server.Features.Partners;

/// <summary>
/// One-off deadline (protocol 9): at its objection deadline a pending join request is admitted when no party objected
/// (the organisation is created with its directory entry), else rejected. The job re-reads the request in its
/// transaction: a decided one is left alone, one not yet due on the injected clock is scheduled again for its deadline.
/// </summary>
internal sealed class JoinRequestDecisionJob(IDatabase database, AuditLog audit, OrganisationService organisations, JobScheduler jobs, TimeProvider time)
{
    /// <summary>The status this run decided (admitted, rejected), or null when it changed nothing.</summary>
    public async Task<string?> RunAsync(Guid joinRequestId, CancellationToken cancellationToken)
    {
        var now = DbValues.ToStoragePrecision(time.GetUtcNow());
        var (decided, laterDue) = await database.WriteAsync(async s =>
        {
            var request = await PartnerRepository.GetJoinRequestAsync(s, joinRequestId);
            if (request is null || request.Status != JoinRequestStatuses.Pending)
            {
                return ((string?)null, (DateTimeOffset?)null);
            }

            if (request.ObjectionDeadline > now)
            {
                return (null, request.ObjectionDeadline);
            }

            if (await PartnerRepository.CountObjectionsAsync(s, joinRequestId) > 0)
            {
                await PartnerRepository.DecideJoinRequestAsync(s, joinRequestId, JoinRequestStatuses.Rejected, null, now);
                await audit.AppendAsync(s, new AuditEvent(AuditEventTypes.PartnerRejected, null, null, [AuditSubject.JoinRequest(joinRequestId)]));
                return (JoinRequestStatuses.Rejected, null);
            }

            var organisation = new OrganisationRecord(Guid.NewGuid(), request.Name, request.Type, now);
            await organisations.InsertWithinAsync(s, organisation, request.Level, request.Region, request.AcceptsReferrals, null, null);
            await DirectoryRepository.ReplaceCommunesAsync(s, organisation.Id, request.CommuneCodes);
            await PartnerRepository.DecideJoinRequestAsync(s, joinRequestId, JoinRequestStatuses.Admitted, organisation.Id, now);
            await audit.AppendAsync(s, new AuditEvent(AuditEventTypes.PartnerAdmitted, null, null,
                [AuditSubject.JoinRequest(joinRequestId), AuditSubject.Organisation(organisation.Id)]));
            return (JoinRequestStatuses.Admitted, null);
        }, cancellationToken);

        if (laterDue is { } later)
        {
            jobs.ScheduleAt<JoinRequestDecisionJob>(j => j.RunAsync(joinRequestId, CancellationToken.None), later);
        }

        return decided;
    }
}

/// <summary>
/// One-off deadline (protocol 9): at the end of its notice a pending withdrawal takes effect — the organisation is
/// marked withdrawn, its devices are revoked through the normal revocation path (and disconnected), its unused
/// enrolment codes deleted and its open referrals closed, in one transaction that re-checks the withdrawal's status.
/// </summary>
internal sealed class WithdrawalJob(
    IDatabase database,
    AuditLog audit,
    DeviceService devices,
    ReferralService referrals,
    IDeviceSignals deviceSignals,
    JobScheduler jobs,
    TimeProvider time)
{
    /// <summary>True when this run made the withdrawal effective.</summary>
    public async Task<bool> RunAsync(Guid withdrawalId, CancellationToken cancellationToken)
    {
        var now = DbValues.ToStoragePrecision(time.GetUtcNow());
        var (done, revoked, laterDue) = await database.WriteAsync(async s =>
        {
            var withdrawal = await PartnerRepository.GetWithdrawalAsync(s, withdrawalId);
            if (withdrawal is null || withdrawal.Status != WithdrawalStatuses.Pending)
            {
                return (false, new List<Guid>(), (DateTimeOffset?)null);
            }

            if (withdrawal.EffectiveAt > now)
            {
                return (false, new List<Guid>(), withdrawal.EffectiveAt);
            }

            var organisationId = withdrawal.OrganisationId;
            await DirectoryRepository.SetPartnerStatusAsync(s, organisationId, PartnerStatuses.Withdrawn, now);
            var revokedDevices = new List<Guid>();
            foreach (var member in await MemberRepository.ListIdsAsync(s, organisationId))
            {
                foreach (var device in await DeviceRepository.ListActiveByMemberAsync(s, member))
                {
                    if (await devices.RevokeWithinAsync(s, device, null, null))
                    {
                        revokedDevices.Add(device.Id);
                    }
                }
            }

            await EnrolmentCodeRepository.DeleteUnusedForOrganisationAsync(s, organisationId);
            foreach (var referral in await ReferralRepository.ListOpenForOrganisationAsync(s, organisationId))
            {
                await referrals.ApplySystemActionAsync(s, referral, ReferralAction.Close, now);
            }

            await PartnerRepository.CompleteWithdrawalAsync(s, withdrawalId, now);
            await audit.AppendAsync(s, new AuditEvent(AuditEventTypes.PartnerWithdrawn, null, null,
                [AuditSubject.Withdrawal(withdrawalId), AuditSubject.Organisation(organisationId)]));
            return (true, revokedDevices, null);
        }, cancellationToken);

        foreach (var device in revoked)
        {
            await deviceSignals.DeviceRevokedAsync(device);
        }

        if (laterDue is { } later)
        {
            jobs.ScheduleAt<WithdrawalJob>(j => j.RunAsync(withdrawalId, CancellationToken.None), later);
        }

        return done;
    }
}

/// <summary>At start-up: a decision job for every pending join request and a withdrawal job for every pending
/// withdrawal.</summary>
internal sealed class PartnerDeadlines(IDatabase database, JobScheduler jobs) : IPendingJobSource
{
    public async Task<int> ScheduleAllAsync(CancellationToken cancellationToken)
    {
        var (requests, withdrawals) = await database.ReadAsync(async s =>
            (await PartnerRepository.ListPendingJoinRequestsAsync(s), await PartnerRepository.ListPendingWithdrawalsAsync(s)), cancellationToken);
        foreach (var request in requests)
        {
            ScheduleDecision(jobs, request);
        }

        foreach (var withdrawal in withdrawals)
        {
            ScheduleWithdrawal(jobs, withdrawal);
        }

        return requests.Count + withdrawals.Count;
    }

    public static void ScheduleDecision(JobScheduler jobs, JoinRequestRecord request)
    {
        var id = request.Id;
        jobs.ScheduleAt<JoinRequestDecisionJob>(j => j.RunAsync(id, CancellationToken.None), request.ObjectionDeadline);
    }

    public static void ScheduleWithdrawal(JobScheduler jobs, WithdrawalRecord withdrawal)
    {
        var id = withdrawal.Id;
        jobs.ScheduleAt<WithdrawalJob>(j => j.RunAsync(id, CancellationToken.None), withdrawal.EffectiveAt);
    }
}
