using System.Security.Cryptography;
using Messaging.Server.Features.Devices;
using Messaging.Server.Persistence;

namespace Messaging.Server.Features.Authentication;

/// <summary>A token's device. <c>AwaitingApproval</c>: the member has a signing key and the device no certificate under
/// it (<see cref="DeviceStanding.AwaitingApproval"/>).</summary>
internal sealed record TokenLookup(Guid DeviceId, DateTimeOffset ExpiresAt, Guid MemberId, Guid OrganisationId, string Role, string DeviceStatus, bool AwaitingApproval);

/// <summary>Challenges and tokens. Tokens are stored as SHA-256 only.</summary>
internal static class AuthRepository
{
    public static byte[] HashToken(string token) => SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(token));

    public static Task InsertChallengeAsync(DbSession session, byte[] challenge, Guid deviceId, DateTimeOffset expiresAt) => session.ExecuteAsync(
        "INSERT INTO auth_challenges (challenge, device_id, expires_at) VALUES (@c, @device, @expires);",
        ("@c", challenge), ("@device", deviceId), ("@expires", expiresAt));

    /// <summary>Deletes the challenge whatever happens next (single use) and returns its expiry, or null if it was not
    /// issued to this device or was already used.</summary>
    public static async Task<DateTimeOffset?> TakeChallengeAsync(DbSession session, byte[] challenge, Guid deviceId)
    {
        var rows = await session.QueryAsync(
            "DELETE FROM auth_challenges WHERE challenge = @c AND device_id = @device RETURNING expires_at;",
            r => r.GetInstant(0), ("@c", challenge), ("@device", deviceId));
        return rows.Count == 0 ? null : rows[0];
    }

    public static Task InsertTokenAsync(DbSession session, byte[] tokenHash, Guid deviceId, DateTimeOffset now, DateTimeOffset expiresAt) => session.ExecuteAsync(
        "INSERT INTO access_tokens (token_hash, device_id, created_at, expires_at) VALUES (@hash, @device, @now, @expires);",
        ("@hash", tokenHash), ("@device", deviceId), ("@now", now), ("@expires", expiresAt));

    public static Task<TokenLookup?> FindTokenAsync(DbSession session, byte[] tokenHash) => session.QuerySingleOrDefaultAsync(
        $"""
        SELECT t.device_id, t.expires_at, d.member_id, m.organisation_id, m.role, d.status,
               CASE WHEN {DeviceRepository.AwaitingApprovalCondition} THEN 1 ELSE 0 END
        FROM access_tokens t JOIN devices d ON d.id = t.device_id JOIN members m ON m.id = d.member_id
        WHERE t.token_hash = @hash;
        """,
        r => new TokenLookup(r.GetGuidValue(0), r.GetInstant(1), r.GetGuidValue(2), r.GetGuidValue(3), r.GetString(4), r.GetString(5), r.GetInt64(6) == 1),
        ("@hash", tokenHash));

    public static async Task DeleteForDeviceAsync(DbSession session, Guid deviceId)
    {
        await session.ExecuteAsync("DELETE FROM access_tokens WHERE device_id = @device;", ("@device", deviceId));
        await session.ExecuteAsync("DELETE FROM auth_challenges WHERE device_id = @device;", ("@device", deviceId));
    }

    public static async Task<int> PurgeExpiredAsync(DbSession session, DateTimeOffset now)
    {
        var tokens = await session.ExecuteAsync("DELETE FROM access_tokens WHERE expires_at <= @now;", ("@now", now));
        var challenges = await session.ExecuteAsync("DELETE FROM auth_challenges WHERE expires_at <= @now;", ("@now", now));
        return tokens + challenges;
    }
}
