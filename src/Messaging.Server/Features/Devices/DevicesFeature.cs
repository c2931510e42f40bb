using Messaging.Contracts;
using Messaging.Server.Features.Authentication;
using Messaging.Server.Features.Jobs;
using Messaging.Server.Features.Retention;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Messaging.Server.Features.Devices;

internal static class DevicesFeature
{
    public static IServiceCollection AddDevices(this IServiceCollection services)
    {
        services.AddOptions<DevicesOptions>().BindConfiguration(DevicesOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<KeyLog>();
        services.AddSingleton<EnrolmentService>();
        services.AddSingleton<DeviceService>();
        services.AddMemberKeys();
        services.AddSweep<EnrolmentCodeCleanupJob>(EnrolmentCodeCleanupJob.Id, RetentionFeature.SweepInterval);
        return services;
    }

    public static IEndpointRouteBuilder MapDevices(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost(ApiRoutes.Enrolment, async Task<Created<EnrolDeviceResponse>> (
                EnrolDeviceRequest request, EnrolmentService service, HttpContext http) =>
            {
                var enrolled = await service.EnrolAsync(request, http.RequestAborted);
                return TypedResults.Created($"/api/devices/{enrolled.DeviceId:D}", enrolled);
            })
            .AllowAnonymous()
            .WithName("EnrolDevice");

        endpoints.MapPost(ApiRoutes.RevokeDevice, async Task<NoContent> (Guid deviceId, DeviceService service, HttpContext http) =>
            {
                await service.RevokeAsync(CallerDevice.From(http.User), deviceId, http.RequestAborted);
                return TypedResults.NoContent();
            })
            .RequireAuthorization()
            .WithName("RevokeDevice");
        endpoints.MapMemberKeys();
        return endpoints;
    }
}
