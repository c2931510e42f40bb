using Messaging.Contracts.Referrals;
using Messaging.Server.Features.Jobs;
using Messaging.Server.Persistence;

namespace Messaging.Server.Features.Referrals;

/// <summary>
/// One-off deadline: a referral still awaiting a decision at its <c>expires_at</c> expires. The job re-reads the row in
/// its transaction: a referral answered meanwhile, or already expired, is left alone; a deadline pushed back (a
/// tripartite proposal re-arms it) or not yet reached on the injected clock schedules the job again for it.
/// </summary>
internal sealed class ReferralExpiryJob(IDatabase database, ReferralService referrals, JobScheduler jobs, TimeProvider time)
{
    /// <summary>Returns true when this run expired the referral.</summary>
    public async Task<bool> RunAsync(Guid referralId, CancellationToken cancellationToken)
    {
        var now = DbValues.ToStoragePrecision(time.GetUtcNow());
        var (expired, laterDue) = await database.WriteAsync(async s =>
        {
            var referral = await ReferralRepository.GetByIdAsync(s, referralId);
            if (referral is null || !ReferralStateMachine.IsAwaitingDecision(referral.Status) || referral.ExpiresAt is not { } due)
            {
                return (false, (DateTimeOffset?)null);
            }

            return due > now
                ? (false, due)
                : (await referrals.ApplySystemActionAsync(s, referral, ReferralAction.Expire, now), null);
        }, cancellationToken);

        if (laterDue is { } later)
        {
            jobs.ScheduleAt<ReferralExpiryJob>(j => j.RunAsync(referralId, CancellationToken.None), later);
        }

        return expired;
    }

    /// <summary>At start-up: an expiry job for every referral awaiting a decision.</summary>
    internal sealed class Pending(IDatabase database, JobScheduler jobs) : IPendingJobSource
    {
        public async Task<int> ScheduleAllAsync(CancellationToken cancellationToken)
        {
            var awaiting = await database.ReadAsync(ReferralRepository.ListAwaitingDecisionAsync, cancellationToken);
            foreach (var referral in awaiting)
            {
                var id = referral.Id;
                jobs.ScheduleAt<ReferralExpiryJob>(j => j.RunAsync(id, CancellationToken.None), referral.ExpiresAt!.Value);
            }

            return awaiting.Count;
        }
    }
}
