using System.Text.Json.Serialization;
using Messaging.Contracts;
using Microsoft.AspNetCore.Diagnostics;
using Messaging.Server.Features.Telemetry;
using Microsoft.AspNetCore.Mvc;

namespace Messaging.Server.Errors;

/// <summary>The one mapping of domain exceptions to HTTP: ProblemDetails with the stable code as the <c>code</c> extension
/// (a body that does not bind is <c>request.malformed</c>). Anything else becomes a bare 500 whose details are logged,
/// never returned. A database that cannot be reached for the moment is 503 <c>server.busy</c> with <c>Retry-After</c>,
/// logged once per request at Warning without a stack trace (the hub answers it the same way).</summary>
internal sealed partial class ProblemDetailsExceptionHandler(IProblemDetailsService problemDetails, MessagingMetrics? metrics = null,
    ILogger<ProblemDetailsExceptionHandler>? logger = null) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        // A body the endpoint cannot bind (truncated JSON, a wrong type, an unknown field) is the caller's to fix, like
        // any malformed request; the framework's own text is not returned.
        var (status, code, detail) = exception switch
        {
            MessagingException domain => (domain.StatusCode, domain.Code, domain.Message),
            BadHttpRequestException bad => (bad.StatusCode, ErrorCodes.Malformed, "The request could not be read (malformed JSON, a wrong type or an unknown field)."),
            _ when DatabaseUnavailable.Is(exception) => (StatusCodes.Status503ServiceUnavailable, ErrorCodes.ServerBusy, "The database cannot be reached for the moment; retry."),
            _ => (0, null, null),
        };
        if (code is null)
        {
            return false;
        }

        if (status == StatusCodes.Status503ServiceUnavailable && exception is not MessagingException && logger is not null)
        {
            // The exception type only: a provider's message may carry the host, the database or the user name.
            LogDatabaseUnavailable(logger, httpContext.Request.Method, httpContext.Features.Get<IExceptionHandlerFeature>()?.Endpoint?.DisplayName ?? httpContext.GetEndpoint()?.DisplayName ?? "(before routing)", exception.GetType().Name);
            httpContext.Response.Headers.RetryAfter = DatabaseUnavailable.RetryAfterSeconds;
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "HTTP {Method} {Endpoint} refused: the database cannot be reached ({Exception})")]
    private static partial void LogDatabaseUnavailable(ILogger logger, string method, string endpoint, string exception);
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
