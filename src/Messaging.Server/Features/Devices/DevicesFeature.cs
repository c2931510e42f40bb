using Messaging.Contracts;
using Messaging.Server.Features.Authentication;
using Messaging.Server.Features.Jobs;
using Messaging.Server.Features.Retention;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Messaging.Server.Features.Devices;

/// <summary>Devices' registration and HTTP surface: enrolment (anonymous: the code is the credential), revocation by an
/// admin, and cross-signing (member keys, approvals, grants), each a named handler binding <see cref="CallerDevice"/>.
/// Prekeys, bundles and the key log are hub calls; the enrolment-code sweep is a job (<see cref="EnrolmentCodeCleanupJob"/>).</summary>
internal static class DevicesFeature
{
    public static IServiceCollection AddDevices(this IServiceCollection services)
    {
        services.AddOptions<DevicesOptions>().BindConfiguration(DevicesOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<KeyLog>();
        services.AddSingleton<EnrolmentService>();
        services.AddSingleton<DeviceService>();
        services.AddSingleton<MemberKeyService>();
        services.AddSweep<EnrolmentCodeCleanupJob>(EnrolmentCodeCleanupJob.Id, RetentionFeature.SweepInterval);
        return services;
    }

    public static IEndpointRouteBuilder MapDevices(this IEndpointRouteBuilder endpoints)
    {
        var enrolment = endpoints.MapGroup(ApiRoutes.Enrolment).AllowAnonymous();
        enrolment.MapPost("", EnrolAsync).WithName("EnrolDevice");

        var devices = endpoints.MapGroup("").RequireAuthorization();
        devices.MapPost(ApiRoutes.RevokeDevice, RevokeAsync).WithName("RevokeDevice");
        devices.MapPost(TrustRoutes.MemberKey, PublishMemberKeyAsync).WithName("PublishMemberKey");
        devices.MapPost(TrustRoutes.Approvals, ApproveDeviceAsync).WithName("ApproveDevice");
        devices.MapGet(TrustRoutes.Grant, GetMemberKeyGrantAsync).WithName("GetMemberKeyGrant");
        return endpoints;
    }

    private static async Task<Created<EnrolDeviceResponse>> EnrolAsync(EnrolDeviceRequest request, EnrolmentService service, CancellationToken cancellationToken)
    {
        var enrolled = await service.EnrolAsync(request, cancellationToken);
        return TypedResults.Created($"/api/devices/{enrolled.DeviceId:D}", enrolled);
    }

    private static async Task<NoContent> RevokeAsync(Guid deviceId, CallerDevice caller, DeviceService service, CancellationToken cancellationToken)
    {
        await service.RevokeAsync(caller, deviceId, cancellationToken);
        return TypedResults.NoContent();
    }

    [WhileAwaitingApproval]
    private static async Task<Ok<MemberKeyPublished>> PublishMemberKeyAsync(
        PublishMemberKeyRequest request, CallerDevice caller, MemberKeyService service, CancellationToken cancellationToken)
        => TypedResults.Ok(await service.PublishAsync(caller, request, cancellationToken));

    [WhileAwaitingApproval]
    private static async Task<Ok<DeviceApproved>> ApproveDeviceAsync(ApproveDeviceRequest request, CallerDevice caller, MemberKeyService service, CancellationToken cancellationToken)
        => TypedResults.Ok(await service.ApproveAsync(caller, request, cancellationToken));

    [WhileAwaitingApproval]
    private static async Task<Ok<MemberKeyGrant>> GetMemberKeyGrantAsync(CallerDevice caller, MemberKeyService service, CancellationToken cancellationToken)
        => TypedResults.Ok(await service.GetGrantAsync(caller, cancellationToken));
}
