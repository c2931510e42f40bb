using Messaging.Contracts;
using Messaging.Contracts.Referrals;
using Messaging.Server.Errors;
using Messaging.Server.Features.Audit;
using Messaging.Server.Features.Authentication;
using Messaging.Server.Features.Directory;
using Messaging.Server.Features.Jobs;
using Messaging.Server.Persistence;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Features.Referrals;

/// <summary>
/// Referral metadata and its state machine (<see cref="ReferralStateMachine"/>). Only workers and organisation admins
/// act on referrals; only the receiving organisation responds, only the referring organisation withdraws;
/// <see cref="ReferralExpiryJob"/> expires and a partner's withdrawal closes. A referral is visible to its two
/// organisations only (others get <c>referral.not-found</c>). The referral's contents never reach the server.
/// </summary>
internal sealed class ReferralService(IDatabase database, AuditLog audit, JobScheduler jobs, TimeProvider time, IOptions<ReferralsOptions> options)
{
    public async Task<ReferralEntry> OpenAsync(CallerDevice caller, OpenReferralRequest request, CancellationToken cancellationToken = default)
    {
        RequirePractitioner(caller);
        var caseReference = RequireCaseReference(request?.CaseReference);
        if (request!.ReceivingOrganisationId == Guid.Empty || request.ReceivingOrganisationId == caller.OrganisationId)
        {
            throw new MalformedRequestException("A referral goes to another organisation.");
        }

        var now = DbValues.ToStoragePrecision(time.GetUtcNow());
        var referral = new ReferralRecord(Guid.NewGuid(), caseReference, caller.OrganisationId, request.ReceivingOrganisationId,
            ReferralStatus.Proposed, null, now, now, now + options.Value.ResponseWindow);
        var (id, entry) = await database.WriteAsync(async s =>
        {
            var referring = await DirectoryRepository.GetAsync(s, caller.OrganisationId)
                ?? throw new NotFoundException(ErrorCodes.OrganisationNotFound, "No such organisation.");
            if (referring.PartnerStatus == PartnerStatuses.Withdrawn)
            {
                throw new ForbiddenException("Your organisation has left the protocol.", ErrorCodes.PartnerWithdrawn);
            }

            var receiving = await DirectoryRepository.GetAsync(s, request.ReceivingOrganisationId)
                ?? throw new NotFoundException(ErrorCodes.OrganisationNotFound, "No such organisation.");
            if (!receiving.AcceptsReferrals || receiving.PartnerStatus == PartnerStatuses.Withdrawn)
            {
                throw new ConflictException(ErrorCodes.ReferralsNotAccepted, "This service does not accept referrals.");
            }

            if (await ReferralRepository.GetAsync(s, caseReference) is { } existing)
            {
                // A client retrying after a failed envelope send (issue 11, item 3) gets the referral it opened, unchanged
                // and not audited twice, as long as nothing happened to it yet; anything else is someone else's reference.
                return IsRetryOfOpen(existing, caller, request.ReceivingOrganisationId)
                    ? (existing.Id, existing.ToEntry())
                    : throw new ConflictException(ErrorCodes.CaseReferenceInUse, "This case reference is already used; generate a fresh one.");
            }

            await ReferralRepository.InsertAsync(s, referral);
            await AppendStatusAsync(s, referral, caller.MemberId, caller.DeviceId);
            return (referral.Id, referral.ToEntry());
        }, cancellationToken);
        ScheduleExpiry(id, entry);
        return entry;
    }

    public async Task<ReferralEntry> RespondAsync(CallerDevice caller, RespondToReferralRequest request, CancellationToken cancellationToken = default)
    {
        RequirePractitioner(caller);
        var caseReference = RequireCaseReference(request?.CaseReference);
        if (!Enum.IsDefined(request!.Response))
        {
            throw new MalformedRequestException("Unknown response.");
        }

        var declining = request.Response == ReferralResponse.Decline;
        if (declining != request.DeclineReason.HasValue || (request.DeclineReason is { } reason && !Enum.IsDefined(reason)))
        {
            throw new MalformedRequestException("A decline carries a reason code from the closed list; other responses carry none.");
        }

        return await TransitionAsync(caller, caseReference, ReferralStateMachine.ActionOf(request.Response), request.DeclineReason, cancellationToken);
    }

    public async Task<ReferralEntry> WithdrawAsync(CallerDevice caller, WithdrawReferralRequest request, CancellationToken cancellationToken = default)
    {
        RequirePractitioner(caller);
        var caseReference = RequireCaseReference(request?.CaseReference);
        return await TransitionAsync(caller, caseReference, ReferralAction.Withdraw, null, cancellationToken);
    }

    public async Task<IReadOnlyList<ReferralEntry>> ListAsync(CallerDevice caller, CancellationToken cancellationToken = default)
    {
        RequirePractitioner(caller);
        var rows = await database.ReadAsync(s => ReferralRepository.ListForOrganisationAsync(s, caller.OrganisationId), cancellationToken);
        return [.. rows.Select(r => r.ToEntry())];
    }

    /// <summary>
    /// Applies a system action (expire, close) inside the caller's transaction. Returns false, changing nothing, when
    /// the referral moved on meanwhile or the action does not apply to its status — which makes the processor
    /// idempotent.
    /// </summary>
    public async Task<bool> ApplySystemActionAsync(DbSession session, ReferralRecord referral, ReferralAction action, DateTimeOffset now)
    {
        if (ReferralStateMachine.PartyOf(action) != ReferralParty.System || ReferralStateMachine.Next(referral.Status, action) is not { } next)
        {
            return false;
        }

        if (await ReferralRepository.UpdateStatusAsync(session, referral.CaseReference, referral.Status, next, referral.DeclineReason, now, null) == 0)
        {
            return false;
        }

        await AppendStatusAsync(session, referral with { Status = next }, null, null);
        return true;
    }

    /// <summary>The shape of a case reference (26 base32 characters) — the server checks nothing else.</summary>
    public static string RequireCaseReference(string? caseReference) => CaseReference.IsWellFormed(caseReference)
        ? caseReference!
        : throw new MalformedRequestException("A case reference is 26 base32 characters (128 random bits).");

    /// <summary>Workers and organisation admins act on referrals and consents; justice assistants and the operator never.</summary>
    public static void RequirePractitioner(CallerDevice caller)
    {
        if (caller.Role is not (Roles.Worker or Roles.OrganisationAdmin))
        {
            throw new ForbiddenException("Only workers and organisation admins of a service handle referrals.");
        }
    }

    private async Task<ReferralEntry> TransitionAsync(CallerDevice caller, string caseReference, ReferralAction action,
        ReferralDeclineReason? reason, CancellationToken cancellationToken)
    {
        var now = DbValues.ToStoragePrecision(time.GetUtcNow());
        var (id, entry) = await database.WriteAsync(async s =>
        {
            var referral = await ReferralRepository.GetAsync(s, caseReference);
            if (referral is null || !referral.Involves(caller.OrganisationId))
            {
                throw new NotFoundException(ErrorCodes.ReferralNotFound, "No such referral.");
            }

            var party = caller.OrganisationId == referral.ReceivingOrganisationId ? ReferralParty.Receiving : ReferralParty.Referring;
            if (ReferralStateMachine.PartyOf(action) != party)
            {
                throw new ForbiddenException(party == ReferralParty.Referring
                    ? "Only the receiving service responds to a referral."
                    : "Only the referring service withdraws a referral.", ErrorCodes.ReferralWrongParty);
            }

            if (IsRepeatedResponse(referral, action, reason))
            {
                // The same answer again (a client retrying after its response envelope failed): the current entry,
                // unchanged and not audited twice. A different answer after one was given is still refused below.
                return (referral.Id, referral.ToEntry());
            }

            if (ReferralStateMachine.Next(referral.Status, action) is not { } next)
            {
                throw new ConflictException(ErrorCodes.ReferralTransitionRefused,
                    $"A {ReferralStateMachine.Name(referral.Status)} referral admits no such step.");
            }

            DateTimeOffset? expiresAt = ReferralStateMachine.IsAwaitingDecision(next) ? now + options.Value.ResponseWindow : null;
            await ReferralRepository.UpdateStatusAsync(s, caseReference, referral.Status, next, reason, now, expiresAt);
            var updated = referral with { Status = next, DeclineReason = reason, StatusChangedAt = now, ExpiresAt = expiresAt };
            await AppendStatusAsync(s, updated, caller.MemberId, caller.DeviceId);
            return (updated.Id, updated.ToEntry());
        }, cancellationToken);
        ScheduleExpiry(id, entry);
        return entry;
    }

    /// <summary>After the commit: the expiry job for a referral awaiting a decision. Should the process stop in between,
    /// <see cref="ReferralExpiryJob.Pending"/> schedules it again at the next start.</summary>
    private void ScheduleExpiry(Guid referralId, ReferralEntry entry)
    {
        if (ReferralStateMachine.IsAwaitingDecision(entry.Status) && entry.ExpiresAt is { } due)
        {
            jobs.ScheduleAt<ReferralExpiryJob>(j => j.RunAsync(referralId, CancellationToken.None), due);
        }
    }

    /// <summary>Opening again what the same organisation opened, for the same receiving service, still unanswered.</summary>
    private static bool IsRetryOfOpen(ReferralRecord existing, CallerDevice caller, Guid receivingOrganisationId)
        => existing.ReferringOrganisationId == caller.OrganisationId
            && existing.ReceivingOrganisationId == receivingOrganisationId
            && existing.Status == ReferralStatus.Proposed;

    /// <summary>The receiving service's answer that the referral already holds (same status, same decline reason).</summary>
    private static bool IsRepeatedResponse(ReferralRecord referral, ReferralAction action, ReferralDeclineReason? reason) => action switch
    {
        ReferralAction.Accept => referral.Status == ReferralStatus.Accepted,
        ReferralAction.Decline => referral.Status == ReferralStatus.Declined && referral.DeclineReason == reason,
        ReferralAction.ProposeTripartite => referral.Status == ReferralStatus.TripartiteProposed,
        _ => false,
    };

    private Task<long> AppendStatusAsync(DbSession session, ReferralRecord referral, Guid? actorMember, Guid? actorDevice)
        => audit.AppendAsync(session, new AuditEvent(AuditEventTypes.ReferralStatusChanged, actorMember, actorDevice,
            [AuditSubject.Referral(referral.Id), AuditSubject.Organisation(referral.ReferringOrganisationId), AuditSubject.Organisation(referral.ReceivingOrganisationId)],
            ReferralStateMachine.Name(referral.Status)));
}
