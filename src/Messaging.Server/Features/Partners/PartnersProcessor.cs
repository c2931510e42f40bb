using Messaging.Contracts;
using Messaging.Contracts.Referrals;
using Messaging.Server.Features.Audit;
using Messaging.Server.Features.Authentication;
using Messaging.Server.Features.Devices;
using Messaging.Server.Features.Directory;
using Messaging.Server.Features.Organisations;
using Messaging.Server.Features.Referrals;
using Messaging.Server.Persistence;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Features.Partners;

/// <summary>What one pass did.</summary>
internal sealed record ProcessorPass(int Admitted, int Rejected, int Withdrawn, int DevicesRevoked, int ReferralsClosed, int ReferralsExpired);

/// <summary>
/// Carries out what is due: join requests past their objection deadline (admitted without objection, else rejected),
/// withdrawals past their notice (organisation withdrawn, devices revoked through the normal revocation path, unused
/// enrolment codes deleted, open referrals closed), and referrals unanswered past their deadline (expired). All work is
/// derived from the database at each pass, each item in its own transaction that re-checks its status, so passes are
/// idempotent and may overlap (a later Hangfire job can call <see cref="RunOnceAsync"/> as is).
/// </summary>
internal sealed partial class PartnersProcessor(
    IDatabase database,
    AuditLog audit,
    DeviceService devices,
    ReferralService referrals,
    IDeviceSignals deviceSignals,
    TimeProvider time,
    IOptions<PartnersOptions> options,
    ILogger<PartnersProcessor> logger) : BackgroundService
{
    /// <summary>One pass at <paramref name="now"/> (tests pass the fake clock's time).</summary>
    public async Task<ProcessorPass> RunOnceAsync(DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        now = DbValues.ToStoragePrecision(now);
        int admitted = 0, rejected = 0, withdrawn = 0, revoked = 0, closed = 0, expired = 0;

        foreach (var due in await database.ReadAsync(s => PartnerRepository.ListDueJoinRequestsAsync(s, now), cancellationToken))
        {
            switch (await DecideJoinRequestAsync(due.Id, now, cancellationToken))
            {
                case JoinRequestStatuses.Admitted:
                    admitted++;
                    break;
                case JoinRequestStatuses.Rejected:
                    rejected++;
                    break;
                default:
                    break;
            }
        }

        foreach (var due in await database.ReadAsync(s => PartnerRepository.ListDueWithdrawalsAsync(s, now), cancellationToken))
        {
            var (done, revokedDevices, closedReferrals) = await CompleteWithdrawalAsync(due.Id, now, cancellationToken);
            withdrawn += done ? 1 : 0;
            revoked += revokedDevices.Count;
            closed += closedReferrals;
            foreach (var device in revokedDevices)
            {
                await deviceSignals.DeviceRevokedAsync(device);
            }
        }

        foreach (var due in await database.ReadAsync(s => ReferralRepository.ListDueForExpiryAsync(s, now), cancellationToken))
        {
            var changed = await database.WriteAsync(async s => await ReferralRepository.GetAsync(s, due.CaseReference) is { } current
                && current.ExpiresAt <= now
                && await referrals.ApplySystemActionAsync(s, current, ReferralAction.Expire, now), cancellationToken);
            expired += changed ? 1 : 0;
        }

        var pass = new ProcessorPass(admitted, rejected, withdrawn, revoked, closed, expired);
        if (pass != new ProcessorPass(0, 0, 0, 0, 0, 0))
        {
            LogPass(logger, admitted, rejected, withdrawn, revoked, closed, expired);
        }

        return pass;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.ProcessorInterval, time);
        do
        {
            try
            {
                await RunOnceAsync(time.GetUtcNow(), stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogFailed(logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private Task<string?> DecideJoinRequestAsync(Guid id, DateTimeOffset now, CancellationToken cancellationToken) => database.WriteAsync(async s =>
    {
        var request = await PartnerRepository.GetJoinRequestAsync(s, id);
        if (request is null || request.Status != JoinRequestStatuses.Pending || request.ObjectionDeadline > now)
        {
            return null;
        }

        if (await PartnerRepository.CountObjectionsAsync(s, id) > 0)
        {
            await PartnerRepository.DecideJoinRequestAsync(s, id, JoinRequestStatuses.Rejected, null, now);
            await audit.AppendAsync(s, new AuditEvent(AuditEventTypes.PartnerRejected, null, null, [AuditSubject.JoinRequest(id)]));
            return JoinRequestStatuses.Rejected;
        }

        var organisation = new OrganisationRecord(Guid.NewGuid(), request.Name, request.Type, now);
        await OrganisationRepository.InsertAsync(s, organisation);
        await DirectoryRepository.UpdateAsync(s, organisation.Id, request.Level, request.Region, request.AcceptsReferrals);
        await DirectoryRepository.ReplaceCommunesAsync(s, organisation.Id, request.CommuneCodes);
        await PartnerRepository.DecideJoinRequestAsync(s, id, JoinRequestStatuses.Admitted, organisation.Id, now);
        await audit.AppendAsync(s, new AuditEvent(AuditEventTypes.OrganisationCreated, null, null, [AuditSubject.Organisation(organisation.Id)], organisation.Type));
        await audit.AppendAsync(s, new AuditEvent(AuditEventTypes.PartnerAdmitted, null, null,
            [AuditSubject.JoinRequest(id), AuditSubject.Organisation(organisation.Id)]));
        return JoinRequestStatuses.Admitted;
    }, cancellationToken);

    private Task<(bool Done, List<Guid> Revoked, int Closed)> CompleteWithdrawalAsync(Guid id, DateTimeOffset now, CancellationToken cancellationToken)
        => database.WriteAsync(async s =>
        {
            var withdrawal = await PartnerRepository.GetWithdrawalAsync(s, id);
            if (withdrawal is null || withdrawal.Status != WithdrawalStatuses.Pending || withdrawal.EffectiveAt > now)
            {
                return (false, new List<Guid>(), 0);
            }

            var organisationId = withdrawal.OrganisationId;
            await DirectoryRepository.SetPartnerStatusAsync(s, organisationId, PartnerStatuses.Withdrawn, now);
            var revoked = new List<Guid>();
            foreach (var member in await PartnerRepository.ListMemberIdsAsync(s, organisationId))
            {
                foreach (var device in await DeviceRepository.ListActiveByMemberAsync(s, member))
                {
                    if (await devices.RevokeWithinAsync(s, device, null, null))
                    {
                        revoked.Add(device.Id);
                    }
                }
            }

            await PartnerRepository.DeleteUnusedEnrolmentCodesAsync(s, organisationId);
            var closed = 0;
            foreach (var referral in await ReferralRepository.ListOpenForOrganisationAsync(s, organisationId))
            {
                closed += await referrals.ApplySystemActionAsync(s, referral, ReferralAction.Close, now) ? 1 : 0;
            }

            await PartnerRepository.CompleteWithdrawalAsync(s, id, now);
            await audit.AppendAsync(s, new AuditEvent(AuditEventTypes.PartnerWithdrawn, null, null,
                [AuditSubject.Withdrawal(id), AuditSubject.Organisation(organisationId)]));
            return (true, revoked, closed);
        }, cancellationToken);

    [LoggerMessage(Level = LogLevel.Information, Message = "Partner processor: {Admitted} admitted, {Rejected} rejected, {Withdrawn} withdrawn ({Revoked} devices revoked, {Closed} referrals closed), {Expired} referrals expired")]
    private static partial void LogPass(ILogger logger, int admitted, int rejected, int withdrawn, int revoked, int closed, int expired);

    [LoggerMessage(Level = LogLevel.Error, Message = "Partner processor pass failed; retrying at the next interval")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}

internal static class PartnersFeature
{
    public static IServiceCollection AddPartners(this IServiceCollection services)
    {
        services.AddOptions<PartnersOptions>().BindConfiguration(PartnersOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<PartnerService>();
        services.AddSingleton<PartnersProcessor>();
        services.AddHostedService(sp => sp.GetRequiredService<PartnersProcessor>());
        return services;
    }

    public static IEndpointRouteBuilder MapPartners(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost(ApiRoutes.JoinRequests, async Task<Created<JoinRequestEntry>> (
                FileJoinRequest request, HttpContext http, PartnerService service) =>
            {
                var filed = await service.FileJoinRequestAsync(CallerDevice.From(http.User), request, http.RequestAborted);
                return TypedResults.Created($"{ApiRoutes.JoinRequests}/{filed.JoinRequestId:D}", filed);
            })
            .RequireAuthorization()
            .WithName("FileJoinRequest");

        endpoints.MapGet(ApiRoutes.JoinRequests, async Task<Ok<IReadOnlyList<JoinRequestEntry>>> (HttpContext http, PartnerService service)
                => TypedResults.Ok(await service.ListJoinRequestsAsync(CallerDevice.From(http.User), http.RequestAborted)))
            .RequireAuthorization()
            .WithName("ListJoinRequests");

        endpoints.MapPost(ApiRoutes.Withdrawals, async Task<Created<WithdrawalEntry>> (
                FileWithdrawalRequest request, HttpContext http, PartnerService service) =>
            {
                var filed = await service.FileWithdrawalAsync(CallerDevice.From(http.User), request, http.RequestAborted);
                return TypedResults.Created($"{ApiRoutes.Withdrawals}/{filed.WithdrawalId:D}", filed);
            })
            .RequireAuthorization()
            .WithName("FileWithdrawal");

        endpoints.MapGet(ApiRoutes.Withdrawals, async Task<Ok<IReadOnlyList<WithdrawalEntry>>> (HttpContext http, PartnerService service)
                => TypedResults.Ok(await service.ListWithdrawalsAsync(CallerDevice.From(http.User), http.RequestAborted)))
            .RequireAuthorization()
            .WithName("ListWithdrawals");
        return endpoints;
    }
}
