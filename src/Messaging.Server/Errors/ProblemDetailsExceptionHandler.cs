using System.Text.Json.Serialization;
using Messaging.Contracts;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace Messaging.Server.Errors;

/// <summary>The one mapping of domain exceptions to HTTP: ProblemDetails with the stable code as the <c>code</c> extension.
/// Anything else becomes a bare 500 whose details are logged, never returned.</summary>
internal sealed class ProblemDetailsExceptionHandler(IProblemDetailsService problemDetails) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not MessagingException domain)
        {
            return false;
        }

        httpContext.Response.StatusCode = domain.StatusCode;
        var problem = new ProblemDetails
        {
            Status = domain.StatusCode,
            Title = domain.Code,
            Detail = domain.Message,
            Type = "urn:messaging:error:" + domain.Code,
        };
        problem.Extensions["code"] = domain.Code;
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
