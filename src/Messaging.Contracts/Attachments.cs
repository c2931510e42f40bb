namespace Messaging.Contracts;

/// <summary>
/// Attachments: a file too large for an envelope travels as an opaque blob, encrypted on the sender's device with a
/// fresh key, uploaded beside the envelope; the envelope (end-to-end encrypted) carries the blob's id, key and digest.
/// The server stores the bytes it is given, never a key, and deletes them when the envelope retention period is over.
/// <list type="bullet">
/// <item><c>POST <see cref="Upload"/></c> with a device bearer token, <c>Content-Type: application/octet-stream</c>,
/// body = the encrypted bytes (at most the configured maximum, 25 MiB by default) → 201 <see cref="AttachmentUploaded"/>.
/// Refusals: 413 <see cref="ErrorCodes.AttachmentTooLarge"/>, 429 <see cref="ErrorCodes.AttachmentQuotaExceeded"/> or
/// <see cref="ErrorCodes.RateLimited"/>, 400 <see cref="ErrorCodes.Malformed"/> (another content type, empty body),
/// 401 <see cref="ErrorCodes.Unauthenticated"/>.</item>
/// <item><c>GET <see cref="For"/>(id)</c> with a device bearer token → 200 <c>application/octet-stream</c>, the bytes
/// as uploaded; 404 <see cref="ErrorCodes.AttachmentNotFound"/> for an unknown or expired id.</item>
/// </list>
/// </summary>
public static class AttachmentRoutes
{
    /// <summary>POST raw bytes → 201 <see cref="AttachmentUploaded"/>.</summary>
    public const string Upload = "/api/attachments";

    /// <summary>GET → the bytes. Route template with <c>{attachmentId}</c>.</summary>
    public const string Download = "/api/attachments/{attachmentId}";

    /// <summary>The only content type accepted for an upload and returned by a download.</summary>
    public const string ContentType = "application/octet-stream";

    /// <summary>The download route for one attachment.</summary>
    public static string For(string attachmentId) => $"/api/attachments/{attachmentId}";
}

/// <summary>A stored attachment.</summary>
/// <param name="AttachmentId">Unguessable id (32 random bytes, base64url without padding, 43 characters): whoever holds
/// it (and is an enrolled device) can download the blob, so it travels inside the encrypted envelope only.</param>
/// <param name="Size">The number of bytes stored.</param>
/// <param name="ExpiresAt">When the server deletes it (the envelope retention period after the upload).</param>
public sealed record AttachmentUploaded(string AttachmentId, long Size, DateTimeOffset ExpiresAt);
