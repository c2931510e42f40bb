using Messaging.Contracts;
using Messaging.Server.Features.Authentication;
using Messaging.Server.Features.Envelopes;
using Messaging.Server.Features.Interviews;
using Messaging.Server.Features.Jobs;
using Messaging.Server.Features.Retention;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Features.Notices;

/// <summary>
/// Mandates and attendance notices (protocol 7.C): options validated at start-up, the mandate service, the notice gate
/// of the send path, the relay hook that records a relayed notice, the content-free email job and its re-derivation
/// after a restart. Mandates and notices are reached over the hub; the operator lists and retries dead-lettered intake deliveries over HTTP.
/// </summary>
internal static class NoticesFeature
{
    public static IServiceCollection AddNotices(this IServiceCollection services)
    {
        services.AddOptions<NoticesOptions>().BindConfiguration(NoticesOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<MandateService>();
        services.AddSingleton<NoticeMailer>();
        services.AddEnvelopeGate<NoticeEnvelopeGate>();
        services.AddEnvelopeAcceptedHook<NoticeRelay>();
        services.AddSingleton<NoticeEmailJob>();
        services.AddPendingJobs<NoticeEmailJob.Pending>();
        services.AddSingleton<NoticeIntakeService>();
        services.AddSingleton<NoticeIntakeJob>();
        services.AddPendingJobs<NoticeIntakeJob.Pending>();
        services.AddSingleton<InterviewMandateSource>();
        services.AddSingleton<IMandatedInterviewSource>(sp => sp.GetRequiredService<InterviewMandateSource>());
        services.AddSingleton<IInterviewOutcomeListener>(sp => sp.GetRequiredService<InterviewMandateSource>());
        services.AddSingleton<OutcomeChaseJob>();
        services.AddPendingJobs<OutcomeChaseJob.Pending>();
        services.AddSweep<NoticeRetentionJob>(NoticeRetentionJob.Id, RetentionFeature.SweepInterval);
        services.AddSweep<OutcomeChaseSweep>(OutcomeChaseSweep.Id, sp => sp.GetRequiredService<IOptions<NoticesOptions>>().Value.OutcomeChaseInterval);
        return services;
    }

    /// <summary>The operator's view of intake deliveries: the dead letters, and a retry.</summary>
    public static IEndpointRouteBuilder MapNotices(this IEndpointRouteBuilder endpoints)
    {
        var intake = endpoints.MapGroup(ApiRoutes.NoticeIntakeDeadLetters).RequireAuthorization();
        intake.MapGet("", ListDeadLettersAsync).WithName("ListNoticeIntakeDeadLetters");
        intake.MapPost("{noticeId:guid}/retry", RetryAsync).WithName("RetryNoticeIntakeDelivery");
        return endpoints;
    }

    private static async Task<Ok<IReadOnlyList<IntakeDeliveryEntry>>> ListDeadLettersAsync(CallerDevice caller, NoticeIntakeService service, CancellationToken cancellationToken)
        => TypedResults.Ok(await service.ListDeadLettersAsync(caller, cancellationToken));

    private static async Task<Results<NoContent, NotFound>> RetryAsync(Guid noticeId, CallerDevice caller, NoticeIntakeService service, CancellationToken cancellationToken)
        => await service.RetryAsync(caller, noticeId, cancellationToken) ? TypedResults.NoContent() : TypedResults.NotFound();
}
