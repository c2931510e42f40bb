using Messaging.Contracts;
using Messaging.Server.Errors;
using Messaging.Server.Features.Authentication;
using Microsoft.AspNetCore.SignalR;

namespace Messaging.Server.Hubs;

/// <summary>
/// Runs around every hub call: refuses calls with an expired token or from a device revoked since it connected (and
/// closes such a connection), and maps domain exceptions — once — to <see cref="HubException"/> with the message
/// <c>"&lt;code&gt;: &lt;text&gt;"</c>. Any other exception reaches the client as SignalR's generic error.
/// </summary>
internal sealed partial class HubErrorFilter(IDatabaseDeviceCheck deviceCheck, TimeProvider time, ILogger<HubErrorFilter> logger) : IHubFilter
{
    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        try
        {
            var caller = CallerDevice.Of(invocationContext.Context);
            if (caller.TokenExpiresAt <= time.GetUtcNow())
            {
                throw new AuthenticationFailedException(ErrorCodes.TokenExpired, "The token has expired; authenticate again.");
            }

            if (!await deviceCheck.IsActiveAsync(caller.DeviceId, invocationContext.Context.ConnectionAborted))
            {
                invocationContext.Context.Abort();
                throw new AuthenticationFailedException(ErrorCodes.DeviceRevoked, "This device has been revoked.");
            }

            return await next(invocationContext);
        }
        catch (MessagingException ex)
        {
            LogRefused(logger, invocationContext.HubMethodName, ex.Code);
            throw new HubException($"{ex.Code}: {ex.Message}");
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Hub call {Method} refused: {Code}")]
    private static partial void LogRefused(ILogger logger, string method, string code);
}
