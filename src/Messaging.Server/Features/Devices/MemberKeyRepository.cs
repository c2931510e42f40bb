using Messaging.Contracts;
using Messaging.Server.Persistence;

namespace Messaging.Server.Features.Devices;

/// <summary>The <c>member_keys</c> and <c>device_certificates</c> tables: each member's signing key and the device
/// certificates it signed (with the member key sealed to the device it approved).</summary>
internal static class MemberKeyRepository
{
    public static Task<byte[]?> GetPublicKeyAsync(DbSession session, Guid memberId) => session.QuerySingleOrDefaultAsync(
        "SELECT public_key FROM member_keys WHERE member_id = @member;", r => r.GetBlob(0), ("@member", memberId));

    public static async Task<bool> ExistsAsync(DbSession session, Guid memberId)
        => await session.ScalarInt64Async("SELECT COUNT(*) FROM member_keys WHERE member_id = @member;", ("@member", memberId)) > 0;

    /// <summary>Whether an organisation admin of <paramref name="organisationId"/> other than <paramref name="exceptMemberId"/>
    /// ever published a member key (a reset replaces it; nothing deletes it).</summary>
    public static async Task<bool> AnotherAdminHasKeyAsync(DbSession session, Guid organisationId, Guid exceptMemberId)
        => await session.ScalarInt64Async(
            """
            SELECT COUNT(*) FROM member_keys k JOIN members m ON m.id = k.member_id
            WHERE m.organisation_id = @org AND m.role = @role AND m.id <> @member;
            """,
            ("@org", organisationId), ("@role", Roles.OrganisationAdmin), ("@member", exceptMemberId)) > 0;

    public static async Task<bool> IsCertifiedAsync(DbSession session, Guid deviceId)
        => await session.ScalarInt64Async("SELECT COUNT(*) FROM device_certificates WHERE device_id = @device;", ("@device", deviceId)) > 0;

    public static Task UpsertAsync(DbSession session, Guid memberId, byte[] publicKey, byte[] announcement, DateTimeOffset at) => session.ExecuteAsync(
        """
        INSERT INTO member_keys (member_id, public_key, announcement, published_at) VALUES (@member, @pk, @ann, @at)
        ON CONFLICT (member_id) DO UPDATE SET public_key = excluded.public_key, announcement = excluded.announcement, published_at = excluded.published_at;
        """,
        ("@member", memberId), ("@pk", publicKey), ("@ann", announcement), ("@at", at));

    public static Task DeleteCertificatesAsync(DbSession session, Guid memberId)
        => session.ExecuteAsync("DELETE FROM device_certificates WHERE member_id = @member;", ("@member", memberId));

    public static Task InsertCertificateAsync(DbSession session, Guid deviceId, Guid memberId, byte[] certificate, byte[]? sealedMemberKey, DateTimeOffset at) => session.ExecuteAsync(
        """
        INSERT INTO device_certificates (device_id, member_id, certificate, sealed_member_key, certified_at)
        VALUES (@device, @member, @cert, @sealed, @at);
        """,
        ("@device", deviceId), ("@member", memberId), ("@cert", certificate), ("@sealed", (object?)sealedMemberKey ?? DBNull.Value), ("@at", at));

    public static Task<byte[]?> GetGrantAsync(DbSession session, Guid deviceId) => session.QuerySingleOrDefaultAsync(
        "SELECT sealed_member_key FROM device_certificates WHERE device_id = @device AND sealed_member_key IS NOT NULL;",
        r => r.GetBlob(0), ("@device", deviceId));
}
