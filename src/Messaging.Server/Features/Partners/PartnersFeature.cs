using Messaging.Contracts;
using Messaging.Server.Features.Authentication;
using Messaging.Server.Features.Jobs;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Messaging.Server.Features.Partners;

/// <summary>The partner lifecycle's registration and HTTP surface (protocol 9): join requests and withdrawals, each a
/// route group with named handlers; the deadlines are jobs (<see cref="JoinRequestDecisionJob"/>,
/// <see cref="WithdrawalJob"/>).</summary>
internal static class PartnersFeature
{
    public static IServiceCollection AddPartners(this IServiceCollection services)
    {
        services.AddOptions<PartnersOptions>().BindConfiguration(PartnersOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<PartnerService>();
        services.AddSingleton<JoinRequestDecisionJob>();
        services.AddSingleton<WithdrawalJob>();
        services.AddPendingJobs<PartnerDeadlines>();
        return services;
    }

    public static IEndpointRouteBuilder MapPartners(this IEndpointRouteBuilder endpoints)
    {
        var joinRequests = endpoints.MapGroup(ApiRoutes.JoinRequests).RequireAuthorization();
        joinRequests.MapPost("", FileJoinRequestAsync).WithName("FileJoinRequest");
        joinRequests.MapGet("", ListJoinRequestsAsync).WithName("ListJoinRequests");

        var withdrawals = endpoints.MapGroup(ApiRoutes.Withdrawals).RequireAuthorization();
        withdrawals.MapPost("", FileWithdrawalAsync).WithName("FileWithdrawal");
        withdrawals.MapGet("", ListWithdrawalsAsync).WithName("ListWithdrawals");
        return endpoints;
    }

    private static async Task<Created<JoinRequestEntry>> FileJoinRequestAsync(FileJoinRequest request, CallerDevice caller, PartnerService service, CancellationToken cancellationToken)
    {
        var filed = await service.FileJoinRequestAsync(caller, request, cancellationToken);
        return TypedResults.Created($"{ApiRoutes.JoinRequests}/{filed.JoinRequestId:D}", filed);
    }

    private static async Task<Ok<IReadOnlyList<JoinRequestEntry>>> ListJoinRequestsAsync(CallerDevice caller, PartnerService service, CancellationToken cancellationToken)
        => TypedResults.Ok(await service.ListJoinRequestsAsync(caller, cancellationToken));

    private static async Task<Created<WithdrawalEntry>> FileWithdrawalAsync(FileWithdrawalRequest request, CallerDevice caller, PartnerService service, CancellationToken cancellationToken)
    {
        var filed = await service.FileWithdrawalAsync(caller, request, cancellationToken);
        return TypedResults.Created($"{ApiRoutes.Withdrawals}/{filed.WithdrawalId:D}", filed);
    }

    private static async Task<Ok<IReadOnlyList<WithdrawalEntry>>> ListWithdrawalsAsync(CallerDevice caller, PartnerService service, CancellationToken cancellationToken)
        => TypedResults.Ok(await service.ListWithdrawalsAsync(caller, cancellationToken));
}
