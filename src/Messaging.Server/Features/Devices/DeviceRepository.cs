using System.Data.Common;
using Messaging.Contracts;
using Messaging.Server.Errors;
using Messaging.Server.Features.Authentication;
using Messaging.Server.Persistence;

namespace Messaging.Server.Features.Devices;

internal static class DeviceStatus
{
    public const string Active = "active";
    public const string Revoked = "revoked";
}

internal sealed record DeviceRecord(
    Guid Id,
    Guid MemberId,
    byte[] IdentityKey,
    uint SignedPreKeyId,
    byte[] SignedPreKeyPublic,
    byte[] SignedPreKeySignature,
    string Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset? RevokedAt)
{
    public bool IsActive => Status == DeviceStatus.Active;
}

internal sealed record OneTimePreKeyRecord(uint Id, byte[] PublicKey);

internal static class DeviceRepository
{
    private const string Columns =
        "id, member_id, identity_key, signed_prekey_id, signed_prekey_public, signed_prekey_signature, status, created_at, revoked_at";

    public static Task InsertAsync(DbSession session, DeviceRecord device) => session.ExecuteAsync(
        $"INSERT INTO devices ({Columns}) VALUES (@id, @member, @identity, @spkId, @spk, @spkSig, @status, @created, NULL);",
        ("@id", device.Id), ("@member", device.MemberId), ("@identity", device.IdentityKey), ("@spkId", device.SignedPreKeyId),
        ("@spk", device.SignedPreKeyPublic), ("@spkSig", device.SignedPreKeySignature), ("@status", device.Status),
        ("@created", device.CreatedAt));

    public static Task<DeviceRecord?> GetAsync(DbSession session, Guid id) => session.QuerySingleOrDefaultAsync(
        $"SELECT {Columns} FROM devices WHERE id = @id;", Map, ("@id", id));

    /// <summary>The cheap per-call check: one primary-key lookup.</summary>
    public static async Task<bool> IsActiveAsync(DbSession session, Guid id) => IsActive(await session.QueryAsync(Active(id)));

    /// <summary>SQL, true when the device <c>d</c> awaits approval (<see cref="DeviceStanding.AwaitingApproval"/>): its
    /// member has a signing key, and it has no certificate under it.</summary>
    public const string AwaitingApprovalCondition = """
        (EXISTS (SELECT 1 FROM member_keys k WHERE k.member_id = d.member_id)
         AND NOT EXISTS (SELECT 1 FROM device_certificates c WHERE c.device_id = d.id))
        """;

    /// <summary>Where the device stands (<see cref="DeviceStanding"/>), in one primary-key lookup and two index probes.
    /// A certificate is final (only a member-key reset drops certificates, and it revokes every other device), so only
    /// a device that is not vouched for yet can change standing while active.</summary>
    public static async Task<DeviceStanding> StandingAsync(DbSession session, Guid id)
    {
        var rows = await session.QueryAsync(
            $"""
            SELECT CASE WHEN d.status <> 'active' THEN 0 WHEN {AwaitingApprovalCondition} THEN 1 ELSE 2 END
            FROM devices d WHERE d.id = @id;
            """,
            r => r.GetInt64(0), ("@id", id));
        return rows switch
        {
            [2] => DeviceStanding.Trusted,
            [1] => DeviceStanding.AwaitingApproval,
            _ => DeviceStanding.Revoked,
        };
    }

    /// <summary>The per-call check as a query that a unit of work reads together with its own (one round trip on
    /// PostgreSQL): one row, 1 when the device is active, 0 otherwise. See <see cref="EnsureCallerActive"/>.</summary>
    public static DbQuery<long> Active(Guid id)
        => new("SELECT COUNT(*) FROM devices WHERE id = @id AND status = 'active';", r => r.GetInt64(0), ("@id", id));

    /// <summary>Refuses the call of a device that <see cref="Active"/> found revoked (or unknown), as the hub's per-call
    /// check does: the unit of work is rolled back, and the hub closes the connection.</summary>
    public static void EnsureCallerActive(List<long> active)
    {
        if (!IsActive(active))
        {
            throw CallerRevoked();
        }
    }

    public static AuthenticationFailedException CallerRevoked() => new(ErrorCodes.DeviceRevoked, "This device has been revoked.");

    private static bool IsActive(List<long> active) => active is [> 0];

    public static async Task<bool> IdentityKeyExistsAsync(DbSession session, byte[] identityKey)
        => await session.ScalarInt64Async("SELECT COUNT(*) FROM devices WHERE identity_key = @key;", ("@key", identityKey)) > 0;

    public static Task<List<DeviceRecord>> ListActiveByMemberAsync(DbSession session, Guid memberId) => session.QueryAsync(
        $"SELECT {Columns} FROM devices WHERE member_id = @member AND status = 'active' ORDER BY created_at, id;", Map, ("@member", memberId));

    /// <summary>Whether a member of the organisation with this role has an active device.</summary>
    public static async Task<bool> AnyActiveInOrganisationWithRoleAsync(DbSession session, Guid organisationId, string role)
        => await session.ScalarInt64Async(
            """
            SELECT COUNT(*) FROM devices d JOIN members m ON m.id = d.member_id
            WHERE m.organisation_id = @org AND m.role = @role AND d.status = 'active';
            """,
            ("@org", organisationId), ("@role", role)) > 0;

    /// <summary>Active device ids per member, optionally for one organisation.</summary>
    public static async Task<Dictionary<Guid, List<Guid>>> ListActiveDeviceIdsAsync(DbSession session, Guid? organisationId)
    {
        var rows = organisationId is { } org
            ? await session.QueryAsync(
                """
                SELECT d.member_id, d.id FROM devices d JOIN members m ON m.id = d.member_id
                WHERE d.status = 'active' AND m.organisation_id = @org ORDER BY d.created_at, d.id;
                """,
                r => (Member: r.GetGuidValue(0), Device: r.GetGuidValue(1)), ("@org", org))
            : await session.QueryAsync(
                "SELECT member_id, id FROM devices WHERE status = 'active' ORDER BY created_at, id;",
                r => (Member: r.GetGuidValue(0), Device: r.GetGuidValue(1)));
        var result = new Dictionary<Guid, List<Guid>>();
        foreach (var (member, device) in rows)
        {
            if (!result.TryGetValue(member, out var list))
            {
                result[member] = list = [];
            }

            list.Add(device);
        }

        return result;
    }

    public static Task<int> MarkRevokedAsync(DbSession session, Guid id, DateTimeOffset at) => session.ExecuteAsync(
        "UPDATE devices SET status = 'revoked', revoked_at = @at WHERE id = @id AND status = 'active';", ("@id", id), ("@at", at));

    public static Task UpdateSignedPreKeyAsync(DbSession session, Guid id, uint keyId, byte[] publicKey, byte[] signature) => session.ExecuteAsync(
        "UPDATE devices SET signed_prekey_id = @kid, signed_prekey_public = @pk, signed_prekey_signature = @sig WHERE id = @id;",
        ("@id", id), ("@kid", keyId), ("@pk", publicKey), ("@sig", signature));

    /// <summary>Inserts one-time prekeys; returns how many were new (an id the device already has is skipped).</summary>
    public static async Task<int> InsertOneTimePreKeysAsync(DbSession session, Guid deviceId, IEnumerable<OneTimePreKeyRecord> keys)
    {
        var inserted = 0;
        foreach (var key in keys)
        {
            inserted += await session.ExecuteAsync(
                """
                INSERT INTO one_time_prekeys (device_id, key_id, public_key) VALUES (@device, @id, @pk)
                ON CONFLICT (device_id, key_id) DO NOTHING;
                """,
                ("@device", deviceId), ("@id", key.Id), ("@pk", key.PublicKey));
        }

        return inserted;
    }

    /// <summary>Removes and returns the device's lowest-numbered one-time prekey, or null when none is left. Atomic:
    /// the select and the delete are one statement.</summary>
    public static Task<OneTimePreKeyRecord?> TakeOneTimePreKeyAsync(DbSession session, Guid deviceId) => session.QuerySingleOrDefaultAsync(
        """
        DELETE FROM one_time_prekeys
        WHERE device_id = @device
          AND key_id = (SELECT key_id FROM one_time_prekeys WHERE device_id = @device ORDER BY key_id LIMIT 1)
        RETURNING key_id, public_key;
        """,
        r => new OneTimePreKeyRecord((uint)r.GetInt64(0), r.GetBlob(1)), ("@device", deviceId));

    public static async Task<int> CountOneTimePreKeysAsync(DbSession session, Guid deviceId)
        => (int)(await session.ScalarInt64Async("SELECT COUNT(*) FROM one_time_prekeys WHERE device_id = @device;", ("@device", deviceId)) ?? 0);

    public static Task DeleteOneTimePreKeysAsync(DbSession session, Guid deviceId)
        => session.ExecuteAsync("DELETE FROM one_time_prekeys WHERE device_id = @device;", ("@device", deviceId));

    private static DeviceRecord Map(DbDataReader r) => new(
        r.GetGuidValue(0), r.GetGuidValue(1), r.GetBlob(2), (uint)r.GetInt64(3), r.GetBlob(4), r.GetBlob(5), r.GetString(6),
        r.GetInstant(7), r.GetNullableInstant(8));
}
