using System.Text.Json.Serialization;
using Messaging.Contracts;
using Microsoft.AspNetCore.Diagnostics;
using Messaging.Server.Features.Telemetry;
using Microsoft.AspNetCore.Mvc;

namespace Messaging.Server.Errors;

/// <summary>The one mapping of domain exceptions to HTTP: ProblemDetails with the stable code as the <c>code</c> extension
/// (a body that does not bind is <c>request.malformed</c>). Anything else becomes a bare 500 whose details are logged,
/// never returned.</summary>
internal sealed class ProblemDetailsExceptionHandler(IProblemDetailsService problemDetails, MessagingMetrics? metrics = null) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        // A body the endpoint cannot bind (truncated JSON, a wrong type, an unknown field) is the caller's to fix, like
        // any malformed request; the framework's own text is not returned.
        var (status, code, detail) = exception switch
        {
            MessagingException domain => (domain.StatusCode, domain.Code, domain.Message),
            BadHttpRequestException bad => (bad.StatusCode, ErrorCodes.Malformed, "The request could not be read (malformed JSON, a wrong type or an unknown field)."),
            _ => (0, null, null),
        };
        if (code is null)
        {
            return false;
        }

        metrics?.Refused(code);
        httpContext.Response.StatusCode = status;
        var problem = new ProblemDetails
        {
            Status = status,
            Title = code,
            Detail = detail,
            Type = "urn:messaging:error:" + code,
        };
        problem.Extensions["code"] = code;
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails = problem,
            Exception = exception,
        });
    }
}

internal static class ErrorsExtensions
{
    public static IServiceCollection AddErrors(this IServiceCollection services)
    {
        // A body the endpoint cannot bind (truncated JSON, a wrong type, an unknown field: every request has a closed
        // schema) is answered 400 by the framework without a code; give it the stable one.
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow);
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.AddProblemDetails(o => o.CustomizeProblemDetails = context =>
        {
            if (context.Exception is null && context.ProblemDetails.Status is StatusCodes.Status400BadRequest or StatusCodes.Status415UnsupportedMediaType
                && !context.ProblemDetails.Extensions.ContainsKey("code"))
            {
                context.ProblemDetails.Extensions["code"] = ErrorCodes.Malformed;
            }
        });
        services.AddExceptionHandler<ProblemDetailsExceptionHandler>();
        return services;
    }
}
