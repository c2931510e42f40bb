using Messaging.Contracts;
using Messaging.Server.Features.Authentication;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Messaging.Server.Features.Organisations;

/// <summary>Partner organisations' registration and HTTP surface: the platform operator creates them.</summary>
internal static class OrganisationsFeature
{
    public static IServiceCollection AddOrganisations(this IServiceCollection services)
    {
        services.AddSingleton<OrganisationService>();
        return services;
    }

    public static IEndpointRouteBuilder MapOrganisations(this IEndpointRouteBuilder endpoints)
    {
        var organisations = endpoints.MapGroup(ApiRoutes.Organisations).RequireAuthorization();
        organisations.MapPost("", CreateOrganisationAsync).WithName("CreateOrganisation");
        return endpoints;
    }

    private static async Task<Created<OrganisationEntry>> CreateOrganisationAsync(CreateOrganisationRequest request, CallerDevice caller, OrganisationService service, CancellationToken cancellationToken)
    {
        var created = await service.CreateAsync(caller, request, cancellationToken);
        return TypedResults.Created($"{ApiRoutes.Organisations}/{created.OrganisationId:D}", created);
    }
}
