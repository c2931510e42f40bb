using Messaging.Contracts;
using Messaging.Server.Features.Authentication;
using Messaging.Server.Features.Jobs;
using Messaging.Server.Features.Retention;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Messaging.Server.Features.Attachments;

/// <summary>Attachments' registration and HTTP surface: upload and download of encrypted blobs by any enrolled device,
/// named handlers in one route group; the expiry sweep is a job (<see cref="AttachmentExpiryJob"/>).</summary>
internal static class AttachmentsFeature
{
    public static IServiceCollection AddAttachments(this IServiceCollection services)
    {
        services.AddOptions<AttachmentsOptions>().BindConfiguration(AttachmentsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<AttachmentService>();
        services.AddSweep<AttachmentExpiryJob>(AttachmentExpiryJob.Id, RetentionFeature.SweepInterval);
        return services;
    }

    public static IEndpointRouteBuilder MapAttachments(this IEndpointRouteBuilder endpoints)
    {
        var attachments = endpoints.MapGroup("").RequireAuthorization();
        attachments.MapPost(AttachmentRoutes.Upload, UploadAsync).WithName("UploadAttachment");
        attachments.MapGet(AttachmentRoutes.Download, DownloadAsync).WithName("DownloadAttachment");
        return endpoints;
    }

    private static async Task<Created<AttachmentUploaded>> UploadAsync(HttpRequest request, CallerDevice caller, AttachmentService service, CancellationToken cancellationToken)
    {
        var uploaded = await service.UploadAsync(caller, request, cancellationToken);
        return TypedResults.Created(AttachmentRoutes.For(uploaded.AttachmentId), uploaded);
    }

    private static async Task<FileStreamHttpResult> DownloadAsync(string attachmentId, AttachmentService service, CancellationToken cancellationToken)
        => TypedResults.Stream(await service.OpenAsync(attachmentId, cancellationToken), AttachmentRoutes.ContentType);
}
