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
        endpoints.MapPost(ApiRoutes.AuthChallenge, async Task<Ok<ChallengeResponse>> (
                ChallengeRequest request, DeviceAuthService service, HttpContext http)
                => TypedResults.Ok(await service.IssueChallengeAsync(request, http.RequestAborted)))
            .AllowAnonymous()
            .WithName("AuthChallenge");
        endpoints.MapPost(ApiRoutes.AuthToken, async Task<Ok<TokenResponse>> (
                TokenRequest request, DeviceAuthService service, HttpContext http)
                => TypedResults.Ok(await service.IssueTokenAsync(request, http.RequestAborted)))
            .AllowAnonymous()
            .WithName("AuthToken");
        return endpoints;
    }
}
