using Messaging.Server.Persistence;

namespace Messaging.Server.Features.Attachments;

internal sealed record AttachmentRecord(string Id, Guid UploaderDeviceId, long Size, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt);

/// <summary>The <c>attachments</c> table: which device uploaded each blob, its size (for the quota) and its expiry.</summary>
internal static class AttachmentRepository
{
    public static Task InsertAsync(DbSession session, AttachmentRecord record) => session.ExecuteAsync(
        "INSERT INTO attachments (id, uploader_device_id, size, created_at, expires_at) VALUES (@id, @device, @size, @created, @expires);",
        ("@id", record.Id), ("@device", record.UploaderDeviceId), ("@size", record.Size), ("@created", record.CreatedAt), ("@expires", record.ExpiresAt));

    public static Task<AttachmentRecord?> FindUnexpiredAsync(DbSession session, string id, DateTimeOffset now) => session.QuerySingleOrDefaultAsync(
        "SELECT id, uploader_device_id, size, created_at, expires_at FROM attachments WHERE id = @id AND expires_at > @now;",
        r => new AttachmentRecord(r.GetString(0), r.GetGuidValue(1), r.GetInt64(2), r.GetInstant(3), r.GetInstant(4)), ("@id", id), ("@now", now));

    public static async Task<long> StoredBytesAsync(DbSession session, Guid deviceId, DateTimeOffset now)
        => await session.ScalarInt64Async(
            "SELECT COALESCE(SUM(size), 0) FROM attachments WHERE uploader_device_id = @device AND expires_at > @now;",
            ("@device", deviceId), ("@now", now)) ?? 0;

    /// <summary>Deletes the expired rows and returns their ids (whose files the caller deletes after the commit).</summary>
    public static Task<List<string>> DeleteExpiredAsync(DbSession session, DateTimeOffset now) => session.QueryAsync(
        "DELETE FROM attachments WHERE expires_at <= @now RETURNING id;", r => r.GetString(0), ("@now", now));

    /// <summary>Which of <paramref name="ids"/> have a row (expired or not).</summary>
    public static async Task<HashSet<string>> ExistingAsync(DbSession session, IReadOnlyList<string> ids)
    {
        var parameters = ids.Select((id, i) => ($"@id{i}", (object?)id)).ToArray();
        var found = await session.QueryAsync(
            $"SELECT id FROM attachments WHERE id IN ({string.Join(", ", parameters.Select(p => p.Item1))});", r => r.GetString(0), parameters);
        return [.. found];
    }
}
