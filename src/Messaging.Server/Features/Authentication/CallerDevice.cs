using System.Globalization;
using System.Security.Claims;
using Messaging.Contracts;
using Messaging.Server.Errors;

namespace Messaging.Server.Features.Authentication;

/// <summary>The authenticated device behind a request or hub connection, taken from its token — never from a request
/// body. <c>AwaitingApproval</c>: whether the device awaited approval when its request (or hub connection) was
/// authenticated; the hub does not rely on it, it reads the device's standing per call.</summary>
internal sealed record CallerDevice(Guid DeviceId, Guid MemberId, Guid OrganisationId, string Role, DateTimeOffset TokenExpiresAt, bool AwaitingApproval = false)
{
    public const string DeviceIdClaim = "messaging:device";
    public const string MemberIdClaim = "messaging:member";
    public const string OrganisationIdClaim = "messaging:organisation";
    public const string RoleClaim = "messaging:role";
    public const string TokenExpiresClaim = "messaging:token-expires";
    public const string AwaitingApprovalClaim = "messaging:awaiting-approval";

    public bool IsPlatformOperator => Role == Roles.PlatformOperator;

    public bool IsOrganisationAdmin => Role == Roles.OrganisationAdmin;

    public IEnumerable<Claim> ToClaims() =>
    [
        new(DeviceIdClaim, DeviceId.ToString("D")),
        new(MemberIdClaim, MemberId.ToString("D")),
        new(OrganisationIdClaim, OrganisationId.ToString("D")),
        new(RoleClaim, Role),
        new(TokenExpiresClaim, TokenExpiresAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)),
        new(AwaitingApprovalClaim, AwaitingApproval ? "1" : "0"),
    ];

    /// <summary>The caller of a hub connection, read from its token's claims once and kept with the connection (a
    /// connection's principal never changes).</summary>
    public static CallerDevice Of(Microsoft.AspNetCore.SignalR.HubCallerContext context)
    {
        if (context.Items.TryGetValue(typeof(CallerDevice), out var kept) && kept is CallerDevice caller)
        {
            return caller;
        }

        caller = From(context.User);
        context.Items[typeof(CallerDevice)] = caller;
        return caller;
    }

    /// <summary>Minimal-API binding: an endpoint handler takes a <see cref="CallerDevice"/> parameter instead of reading
    /// <c>HttpContext.User</c> itself. Throws (401 through the error handler) on an unauthenticated request, and (403,
    /// <c>trust.device-awaiting-approval</c>) for a device awaiting approval at an endpoint not marked
    /// <see cref="WhileAwaitingApprovalAttribute"/>.</summary>
    public static ValueTask<CallerDevice?> BindAsync(HttpContext context)
    {
        var caller = From(context.User);
        if (caller.AwaitingApproval && context.GetEndpoint()?.Metadata.GetMetadata<WhileAwaitingApprovalAttribute>() is null)
        {
            throw AwaitingApprovalRefused();
        }

        return ValueTask.FromResult<CallerDevice?>(caller);
    }

    /// <summary>The refusal of a call that acts for the member, from a device awaiting approval.</summary>
    public static ForbiddenException AwaitingApprovalRefused()
        => new("This device is awaiting approval: approve it from another device of this member first.", ErrorCodes.DeviceAwaitingApproval);

    /// <summary>Reads the claims set by the token handler; throws if the principal was not authenticated by it.</summary>
    public static CallerDevice From(ClaimsPrincipal? principal)
    {
        string Value(string type) => principal?.FindFirst(type)?.Value
            ?? throw new AuthenticationFailedException(ErrorCodes.Unauthenticated, "No authenticated device.");

        return new CallerDevice(
            Guid.ParseExact(Value(DeviceIdClaim), "D"),
            Guid.ParseExact(Value(MemberIdClaim), "D"),
            Guid.ParseExact(Value(OrganisationIdClaim), "D"),
            Value(RoleClaim),
            DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(Value(TokenExpiresClaim), CultureInfo.InvariantCulture)),
            principal?.FindFirst(AwaitingApprovalClaim)?.Value == "1");
    }
}
