using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using Messaging.Contracts;
using Messaging.Server.Errors;
using Messaging.Server.Features.Authentication;
using Messaging.Server.Features.Envelopes;
using Messaging.Server.Features.RateLimiting;
using Messaging.Server.Persistence;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Features.Attachments;

/// <summary>
/// Stores and serves encrypted blobs. The bytes are streamed to a temporary file in the attachments folder (0600 in a
/// 0700 folder), counted as they come: past <see cref="AttachmentsOptions.MaxBytes"/> the upload is refused and the file
/// deleted, so a refusal stores nothing. Accepted bytes are renamed to their id, then recorded with the uploader device
/// (for its quota) and the expiry. The server never sees a key: the envelope that references the blob carries it.
/// </summary>
internal sealed partial class AttachmentService(
    IDatabase database,
    IRateLimiter rateLimiter,
    TimeProvider time,
    IOptions<AttachmentsOptions> options,
    IOptions<EnvelopesOptions> envelopes,
    IOptions<StorageOptions> storage,
    ILogger<AttachmentService> logger)
{
    public const int IdLength = 43;
    private const int BufferBytes = 81920;
    private const int OrphanCheckBatch = 200;

    public string Folder => string.IsNullOrEmpty(options.Value.Directory)
        ? Path.Combine(Path.GetFullPath(storage.Value.DataDirectory), "attachments")
        : Path.GetFullPath(options.Value.Directory);

    public async Task<AttachmentUploaded> UploadAsync(CallerDevice caller, HttpRequest request, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (!string.Equals(request.ContentType, AttachmentRoutes.ContentType, StringComparison.OrdinalIgnoreCase))
        {
            throw new MalformedRequestException($"An attachment is uploaded as {AttachmentRoutes.ContentType}.");
        }

        if (request.ContentLength > settings.MaxBytes)
        {
            throw TooLarge(settings.MaxBytes);
        }

        rateLimiter.Acquire(RateLimitPolicy.AttachmentUpload, caller.DeviceId);
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodyLimit)
        {
            // The copy below counts and refuses past MaxBytes with a typed error; Kestrel's own (smaller, untyped) limit
            // would otherwise cut in first.
            bodyLimit.MaxRequestBodySize = null;
        }

        var now = DbValues.ToStoragePrecision(time.GetUtcNow());
        var id = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var folder = EnsureFolder();
        var temporary = Path.Combine(folder, id + ".part");
        var final = Path.Combine(folder, id);
        var stored = false;
        try
        {
            var size = await CopyBoundedAsync(request.Body, temporary, settings.MaxBytes, cancellationToken);
            if (size == 0)
            {
                throw new MalformedRequestException("An attachment has at least one byte.");
            }

            File.Move(temporary, final);
            var record = new AttachmentRecord(id, caller.DeviceId, size, now, now + envelopes.Value.Retention);
            await database.WriteAsync(async s =>
            {
                if (await AttachmentRepository.StoredBytesAsync(s, caller.DeviceId, now) + size > settings.MaxStoredBytesPerDevice)
                {
                    throw new AttachmentQuotaExceededException(
                        $"A device may keep at most {settings.MaxStoredBytesPerDevice} bytes of attachments; older ones expire after {envelopes.Value.Retention}.");
                }

                await AttachmentRepository.InsertAsync(s, record);
                return true;
            }, cancellationToken);
            stored = true;
            LogStored(logger, caller.DeviceId, size);
            return new AttachmentUploaded(id, size, record.ExpiresAt);
        }
        finally
        {
            if (!stored)
            {
                File.Delete(temporary);
                File.Delete(final);
            }
        }
    }

    /// <summary>The blob's file, opened for reading; a refusal when the id is unknown, malformed or expired.</summary>
    public async Task<FileStream> OpenAsync(string attachmentId, CancellationToken cancellationToken)
    {
        if (attachmentId is not { Length: IdLength } || !Base64Url.IsValid(attachmentId))
        {
            throw NotFound();
        }

        var now = time.GetUtcNow();
        _ = await database.ReadAsync(s => AttachmentRepository.FindUnexpiredAsync(s, attachmentId, now), cancellationToken) ?? throw NotFound();
        try
        {
            return new FileStream(Path.Combine(Folder, attachmentId), FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, BufferBytes, useAsync: true);
        }
        catch (FileNotFoundException)
        {
            throw NotFound();
        }
    }

    /// <summary>
    /// Deletes expired blobs (rows first, then their files), then the files no row accounts for; returns how many blobs
    /// went.
    /// </summary>
    public async Task<int> PurgeExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var expired = await database.WriteAsync(s => AttachmentRepository.DeleteExpiredAsync(s, now), cancellationToken);
        foreach (var id in expired)
        {
            File.Delete(Path.Combine(Folder, id));
        }

        return expired.Count + await PurgeOrphansAsync(cancellationToken);
    }

    /// <summary>
    /// A crash can leave a blob's file without its row: between the upload's rename and its insert, during the copy (a
    /// <c>.part</c> file), or between the sweep's commit and its deletes. Nothing would ever find those files through a
    /// row, so the folder itself is swept: a file named like a blob (or its <c>.part</c>) that no row names and that
    /// nobody has written for <see cref="AttachmentsOptions.OrphanGrace"/> is deleted (outside review 2026-11-29, persist
    /// F6). The age is the file's, in real time: an upload in progress on this or another instance writes its file, and
    /// renames it just before its insert.
    /// </summary>
    private async Task<int> PurgeOrphansAsync(CancellationToken cancellationToken)
    {
        var folder = Folder;
        if (!System.IO.Directory.Exists(folder))
        {
            return 0;
        }

        var before = TimeProvider.System.GetUtcNow().UtcDateTime - options.Value.OrphanGrace;
        var candidates = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var path in System.IO.Directory.EnumerateFiles(folder))
        {
            var name = Path.GetFileName(path);
            var id = name.EndsWith(".part", StringComparison.Ordinal) ? name[..^".part".Length] : name;
            if (id.Length == IdLength && Base64Url.IsValid(id) && File.GetLastWriteTimeUtc(path) < before)
            {
                (candidates.TryGetValue(id, out var paths) ? paths : candidates[id] = []).Add(path);
            }
        }

        var deleted = 0;
        foreach (var chunk in candidates.Keys.Chunk(OrphanCheckBatch))
        {
            var existing = await database.ReadAsync(s => AttachmentRepository.ExistingAsync(s, chunk), cancellationToken);
            foreach (var orphan in chunk.Where(id => !existing.Contains(id)))
            {
                foreach (var path in candidates[orphan])
                {
                    File.Delete(path);
                }

                deleted++;
                LogOrphanDeleted(logger);
            }
        }

        return deleted;
    }

    private string EnsureFolder()
    {
        var folder = Folder;
        if (OperatingSystem.IsWindows())
        {
            System.IO.Directory.CreateDirectory(folder);
        }
        else
        {
            System.IO.Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        return folder;
    }

    private static async Task<long> CopyBoundedAsync(Stream body, string path, long max, CancellationToken cancellationToken)
    {
        var fileOptions = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Options = FileOptions.Asynchronous, BufferSize = BufferBytes };
        if (!OperatingSystem.IsWindows())
        {
            fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(BufferBytes);
        try
        {
            await using var file = new FileStream(path, fileOptions);
            long total = 0;
            int read;
            while ((read = await body.ReadAsync(buffer.AsMemory(0, BufferBytes), cancellationToken)) > 0)
            {
                total += read;
                if (total > max)
                {
                    throw TooLarge(max);
                }

                await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            }

            return total;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static PayloadTooLargeException TooLarge(long max) => new($"An attachment is at most {max} bytes.", ErrorCodes.AttachmentTooLarge);

    private static NotFoundException NotFound() => new(ErrorCodes.AttachmentNotFound, "No such attachment (unknown or expired).");

    [LoggerMessage(Level = LogLevel.Information, Message = "An attachment file no row accounted for was deleted (left by an interrupted upload or sweep)")]
    private static partial void LogOrphanDeleted(ILogger logger);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Attachment of {Size} bytes stored for device {DeviceId}")]
    private static partial void LogStored(ILogger logger, Guid deviceId, long size);
}

/// <summary>The device's stored attachments would exceed its quota: retry when older ones have expired.</summary>
internal sealed class AttachmentQuotaExceededException(string message) : MessagingException(ErrorCodes.AttachmentQuotaExceeded, message)
{
    public override int StatusCode => StatusCodes.Status429TooManyRequests;
}
