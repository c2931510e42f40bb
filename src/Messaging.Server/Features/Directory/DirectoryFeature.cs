using Messaging.Contracts;
using Messaging.Server.Features.Authentication;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Messaging.Server.Features.Directory;

/// <summary>The directory's registration and HTTP surface: the operator's administration of services and communes,
/// and the orientation every authenticated device reads. One route group (the routes are the contract's constants).</summary>
internal static class DirectoryFeature
{
    public static IServiceCollection AddDirectory(this IServiceCollection services)
    {
        services.AddSingleton<DirectoryService>();
        return services;
    }

    public static IEndpointRouteBuilder MapDirectory(this IEndpointRouteBuilder endpoints)
    {
        var directory = endpoints.MapGroup("").RequireAuthorization();
        directory.MapGet(ApiRoutes.DirectoryServices, ListServicesAsync).WithName("ListDirectoryServices");
        directory.MapPut(ApiRoutes.DirectoryService, UpdateServiceAsync).WithName("UpdateDirectoryService");
        directory.MapPost(ApiRoutes.DirectoryCommunesAdmin, AddCommunesAsync).WithName("AddCommunes");
        directory.MapGet(ApiRoutes.DirectoryCommunes, ListCommunesAsync).WithName("ListCommunes");
        directory.MapGet(ApiRoutes.Orientation, OrientAsync).WithName("Orient");
        return endpoints;
    }

    [WhileAwaitingApproval]
    private static async Task<Ok<IReadOnlyList<DirectoryServiceEntry>>> ListServicesAsync(CallerDevice caller, DirectoryService service, CancellationToken cancellationToken)
        => TypedResults.Ok(await service.ListServicesAsync(caller, cancellationToken));

    private static async Task<Ok<DirectoryServiceEntry>> UpdateServiceAsync(
        Guid organisationId, UpdateDirectoryServiceRequest request, CallerDevice caller, DirectoryService service, CancellationToken cancellationToken)
        => TypedResults.Ok(await service.UpdateServiceAsync(caller, organisationId, request, cancellationToken));

    private static async Task<Ok<CommunesAdded>> AddCommunesAsync(AddCommunesRequest request, CallerDevice caller, DirectoryService service, CancellationToken cancellationToken)
        => TypedResults.Ok(await service.AddCommunesAsync(caller, request, cancellationToken));

    private static async Task<Ok<IReadOnlyList<CommuneEntry>>> ListCommunesAsync(DirectoryService service, CancellationToken cancellationToken)
        => TypedResults.Ok(await service.ListCommunesAsync(cancellationToken));

    private static async Task<Ok<OrientationResult>> OrientAsync(string? commune, DirectoryService service, CancellationToken cancellationToken)
        => TypedResults.Ok(await service.OrientAsync(new OrientRequest(commune ?? string.Empty), cancellationToken));
}
