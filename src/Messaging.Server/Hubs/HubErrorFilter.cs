using Messaging.Contracts;
using Messaging.Server.Errors;
using Messaging.Server.Features.Authentication;
using Messaging.Server.Features.Devices;
using Messaging.Server.Features.Telemetry;
using Microsoft.AspNetCore.SignalR;

namespace Messaging.Server.Hubs;

/// <summary>
/// Runs around every hub call: refuses calls with an expired token or from a device revoked since it connected (and
/// closes such a connection; the busiest calls read the device's status in their own unit of work,
/// <see cref="ChecksCallerInUnitAttribute"/>), refuses a device awaiting approval every call that acts for its member
/// (all but those marked <see cref="WhileAwaitingApprovalAttribute"/>; a send or an acknowledgement is not refused here:
/// receivers refuse what a device its member did not vouch for sends, and nothing is encrypted to it), refuses a missing
/// (null) request as malformed, and maps domain exceptions
/// — once — to <see cref="HubException"/> with the message <c>"&lt;code&gt;: &lt;text&gt;"</c>. Any other exception
/// reaches the client as SignalR's generic error.
/// <para>Logging: a refusal is the caller's business, logged once at Information without a stack trace; anything else
/// is a server defect, logged once at Error with its stack trace. SignalR's dispatcher would log both at Error with a
/// stack (one probe: 1,142 lines), so its category is raised to Critical where the hub is registered.</para>
/// </summary>
internal sealed partial class HubErrorFilter(IDatabaseDeviceCheck deviceCheck, TimeProvider time, MessagingMetrics metrics, ILogger<HubErrorFilter> logger) : IHubFilter
{
    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        Guid? callerId = null;
        try
        {
            var caller = CallerDevice.Of(invocationContext.Context);
            callerId = caller.DeviceId;
            if (caller.TokenExpiresAt <= time.GetUtcNow())
            {
                throw new AuthenticationFailedException(ErrorCodes.TokenExpired, "The token has expired; authenticate again.");
            }

            var standing = ChecksCallerInUnitAttribute.IsOn(invocationContext.HubMethod)
                ? deviceCheck.IsKnownRevoked(caller.DeviceId) ? DeviceStanding.Revoked : DeviceStanding.Trusted
                : await deviceCheck.StandingAsync(caller.DeviceId, invocationContext.Context.ConnectionAborted);
            if (standing == DeviceStanding.Revoked)
            {
                throw DeviceRepository.CallerRevoked();
            }

            if (standing == DeviceStanding.AwaitingApproval && !WhileAwaitingApprovalAttribute.IsOn(invocationContext.HubMethod))
            {
                throw CallerDevice.AwaitingApprovalRefused();
            }

            if (invocationContext.HubMethodArguments.Any(a => a is null))
            {
                throw new MalformedRequestException("The request is missing.");
            }

            return await next(invocationContext);
        }
        catch (MessagingException ex)
        {
            if (ex.Code == ErrorCodes.DeviceRevoked && callerId is { } revokedId)
            {
                // Found here or by the call's own unit of work: revocation is final, so this process remembers it, and the
                // connection is closed.
                deviceCheck.Revoked(revokedId);
                await CloseRevokedAsync(invocationContext);
            }

            LogRefused(logger, invocationContext.HubMethodName, ex.Code);
            metrics.Refused(ex.Code);
            throw new HubException($"{ex.Code}: {ex.Message}");
        }
        catch (OperationCanceledException) when (invocationContext.Context.ConnectionAborted.IsCancellationRequested)
        {
            // The connection went away mid-call: nobody is waiting for an answer, and nothing failed.
            throw;
        }
        catch (Exception ex) when (DatabaseUnavailable.Is(ex))
        {
            // The database is unreachable for the moment (restarting, failing over): the unit of work was rolled back,
            // nothing was stored. A typed refusal lets the client retry the same call (a send keeps its envelope id).
            LogDatabaseUnavailable(logger, invocationContext.HubMethodName, ex.GetType().Name);
            throw new HubException($"{ErrorCodes.ServerBusy}: The database cannot be reached for the moment; retry.");
        }
        catch (Exception ex) when (ex is not HubException)
        {
            LogFailed(logger, invocationContext.HubMethodName, ex);
            throw;
        }
    }

    /// <summary>The refusal would be written after the connection is closed, and lost: the device is told as a revocation
    /// tells it (the <c>DeviceRevoked</c> push, as <see cref="HubDeviceSignals"/> sends it), then the connection is
    /// closed.</summary>
    private static async Task CloseRevokedAsync(HubInvocationContext invocationContext)
    {
        try
        {
            await ((Hub<IMessagingClient>)invocationContext.Hub).Clients.Caller.DeviceRevoked();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The connection is going anyway.
        }

        invocationContext.Context.Abort();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Hub call {Method} refused: the database cannot be reached ({Exception})")]
    private static partial void LogDatabaseUnavailable(ILogger logger, string method, string exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Hub call {Method} refused: {Code}")]
    private static partial void LogRefused(ILogger logger, string method, string code);

    [LoggerMessage(Level = LogLevel.Error, Message = "Hub call {Method} failed")]
    private static partial void LogFailed(ILogger logger, string method, Exception exception);
}
