using Messaging.Contracts;
using Messaging.Server.Features.Jobs;
using Messaging.Server.Features.Retention;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Messaging.Server.Features.Authentication;

internal static class AuthenticationFeature
{
    public static IServiceCollection AddDeviceAuthentication(this IServiceCollection services)
    {
        services.AddOptions<DeviceAuthOptions>().BindConfiguration(DeviceAuthOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<DeviceAuthService>();
        services.AddSweep<ExpiredCredentialsJob>(ExpiredCredentialsJob.Id, RetentionFeature.SweepInterval);
        services.AddAuthentication(DeviceTokenHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, DeviceTokenHandler>(DeviceTokenHandler.SchemeName, null);
        services.AddAuthorization();
        return services;
    }

    public static IEndpointRouteBuilder MapDeviceAuthentication(this IEndpointRouteBuilder endpoints)
    {
        var authentication = endpoints.MapGroup("").AllowAnonymous();
        authentication.MapPost(ApiRoutes.AuthChallenge, IssueChallengeAsync).WithName("AuthChallenge");
        authentication.MapPost(ApiRoutes.AuthToken, IssueTokenAsync).WithName("AuthToken");
        return endpoints;
    }

    private static async Task<Ok<ChallengeResponse>> IssueChallengeAsync(ChallengeRequest request, DeviceAuthService service, CancellationToken cancellationToken)
        => TypedResults.Ok(await service.IssueChallengeAsync(request, cancellationToken));

    private static async Task<Ok<TokenResponse>> IssueTokenAsync(TokenRequest request, DeviceAuthService service, CancellationToken cancellationToken)
        => TypedResults.Ok(await service.IssueTokenAsync(request, cancellationToken));
}
