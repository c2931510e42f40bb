using Messaging.Contracts;
using Messaging.Server.Features.Authentication;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Messaging.Server.Features.Members;

/// <summary>Members' registration and HTTP surface: an admin creates members and issues their enrolment codes (who may
/// issue which: <see cref="EnrolmentCodePolicy"/>), each a named handler binding <see cref="CallerDevice"/>. Members are
/// listed over the hub.</summary>
internal static class MembersFeature
{
    public static IServiceCollection AddMembers(this IServiceCollection services)
    {
        services.AddOptions<MembersOptions>().BindConfiguration(MembersOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<MemberService>();
        return services;
    }

    public static IEndpointRouteBuilder MapMembers(this IEndpointRouteBuilder endpoints)
    {
        var members = endpoints.MapGroup("").RequireAuthorization();
        members.MapPost(ApiRoutes.Members, CreateMemberAsync).WithName("CreateMember");
        members.MapPost(ApiRoutes.EnrolmentCodes, IssueEnrolmentCodeAsync).WithName("IssueEnrolmentCode");
        return endpoints;
    }

    private static async Task<Created<MemberCreated>> CreateMemberAsync(CreateMemberRequest request, CallerDevice caller, MemberService service, CancellationToken cancellationToken)
    {
        var created = await service.CreateAsync(caller, request, cancellationToken);
        return TypedResults.Created($"{ApiRoutes.Members}/{created.MemberId:D}", created);
    }

    private static async Task<Ok<EnrolmentCodeIssued>> IssueEnrolmentCodeAsync(Guid memberId, CallerDevice caller, MemberService service, CancellationToken cancellationToken)
        => TypedResults.Ok(await service.IssueEnrolmentCodeAsync(caller, memberId, cancellationToken));
}
