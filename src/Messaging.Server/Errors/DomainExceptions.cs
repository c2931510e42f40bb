using Messaging.Contracts;

namespace Messaging.Server.Errors;

/// <summary>
/// Base of every refusal the server reports to a caller. <see cref="Code"/> is a stable code from
/// <see cref="ErrorCodes"/>; the message is safe to show (ids at most, never content, secrets or personal data).
/// Mapped once to ProblemDetails (<see cref="ProblemDetailsExceptionHandler"/>) and to HubException
/// (<see cref="Hubs.HubErrorFilter"/>). Every refusal is raised before anything is committed.
/// </summary>
internal abstract class MessagingException(string code, string message) : Exception(message)
{
    public string Code { get; } = code;

    /// <summary>The HTTP status for this refusal.</summary>
    public abstract int StatusCode { get; }
}

/// <summary>The request is malformed: fix it and retry.</summary>
internal sealed class MalformedRequestException(string message, string code = ErrorCodes.Malformed) : MessagingException(code, message)
{
    public override int StatusCode => StatusCodes.Status400BadRequest;
}

/// <summary>The envelope or a ciphertext is too large: split or shrink it.</summary>
internal sealed class PayloadTooLargeException(string message, string code = ErrorCodes.TooLarge) : MessagingException(code, message)
{
    public override int StatusCode => StatusCodes.Status413PayloadTooLarge;
}

/// <summary>The enrolment code cannot be used (unknown, expired, used): ask for a new one.</summary>
internal sealed class EnrolmentCodeRejectedException(string code, string message) : MessagingException(code, message)
{
    public override int StatusCode => StatusCodes.Status400BadRequest;
}

/// <summary>Key material is malformed or a signature does not verify: regenerate the keys.</summary>
internal sealed class InvalidKeyMaterialException(string code, string message) : MessagingException(code, message)
{
    public override int StatusCode => StatusCodes.Status400BadRequest;
}

/// <summary>The identity key is already registered: a device must enrol with a fresh identity.</summary>
internal sealed class KeyConflictException(string message) : MessagingException(ErrorCodes.IdentityKeyInUse, message)
{
    public override int StatusCode => StatusCodes.Status409Conflict;
}

/// <summary>Authentication failed: get a new challenge or token, or enrol again if the device was revoked.</summary>
internal sealed class AuthenticationFailedException(string code, string message) : MessagingException(code, message)
{
    public override int StatusCode => StatusCodes.Status401Unauthorized;
}

/// <summary>The caller's role or membership does not allow this: do not retry.</summary>
internal sealed class ForbiddenException(string message, string code = ErrorCodes.Forbidden) : MessagingException(code, message)
{
    public override int StatusCode => StatusCodes.Status403Forbidden;
}

/// <summary>Something referenced does not exist or is not visible to the caller.</summary>
internal sealed class NotFoundException(string code, string message) : MessagingException(code, message)
{
    public override int StatusCode => StatusCodes.Status404NotFound;
}

/// <summary>The change conflicts with the current state (for example a conversation would be too large).</summary>
internal sealed class ConflictException(string code, string message) : MessagingException(code, message)
{
    public override int StatusCode => StatusCodes.Status409Conflict;
}

/// <summary>The instance is shutting down: reconnect (to another instance) and retry the same call.</summary>
internal sealed class ServerStoppingException(string message) : MessagingException(ErrorCodes.ServerStopping, message)
{
    public override int StatusCode => StatusCodes.Status503ServiceUnavailable;
}

/// <summary>Too many calls: retry after the window.</summary>
internal sealed class RateLimitedException(string message) : MessagingException(ErrorCodes.RateLimited, message)
{
    public override int StatusCode => StatusCodes.Status429TooManyRequests;
}
