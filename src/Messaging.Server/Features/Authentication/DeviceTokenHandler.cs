using System.Security.Claims;
using System.Text.Encodings.Web;
using Messaging.Contracts;
using Messaging.Server.Features.Devices;
using Messaging.Server.Persistence;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Features.Authentication;

/// <summary>
/// Validates bearer tokens against the token table: from the <c>Authorization: Bearer</c> header, or — for the hub only,
/// because browsers cannot set headers on WebSockets — from the <c>access_token</c> query parameter. A token of a revoked
/// device or an expired token is refused. Whether the device awaits approval is read with the token, on every request:
/// an HTTP endpoint refuses such a device unless marked <see cref="WhileAwaitingApprovalAttribute"/>
/// (<see cref="CallerDevice.BindAsync"/>); the hub reads it per call (<c>HubErrorFilter</c>).
/// </summary>
internal sealed class DeviceTokenHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    IDatabase database,
    TimeProvider time)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    public const string SchemeName = "DeviceToken";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var token = ReadToken();
        if (token is null)
        {
            return AuthenticateResult.NoResult();
        }

        var found = await database.ReadAsync(s => AuthRepository.FindTokenAsync(s, AuthRepository.HashToken(token)), Context.RequestAborted);
        if (found is null || found.ExpiresAt <= time.GetUtcNow())
        {
            return AuthenticateResult.Fail("Invalid or expired token.");
        }

        if (found.DeviceStatus != DeviceStatus.Active)
        {
            return AuthenticateResult.Fail("Device revoked.");
        }

        var caller = new CallerDevice(found.DeviceId, found.MemberId, found.OrganisationId, found.Role, found.ExpiresAt, found.AwaitingApproval);
        var identity = new ClaimsIdentity(caller.ToClaims(), SchemeName, CallerDevice.DeviceIdClaim, CallerDevice.RoleClaim);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        await Results.Problem(
            statusCode: StatusCodes.Status401Unauthorized,
            title: ErrorCodes.Unauthenticated,
            detail: "A valid bearer token is required.",
            extensions: new Dictionary<string, object?> { ["code"] = ErrorCodes.Unauthenticated }).ExecuteAsync(Context);
    }

    private string? ReadToken()
    {
        var header = Request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            var value = header["Bearer ".Length..].Trim();
            return value.Length is > 0 and <= 200 ? value : null;
        }

        if (Request.Path.StartsWithSegments(HubRoutes.Messaging, StringComparison.Ordinal)
            && Request.Query.TryGetValue("access_token", out var query))
        {
            var value = query.ToString();
            return value.Length is > 0 and <= 200 ? value : null;
        }

        return null;
    }
}
