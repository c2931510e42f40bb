using Messaging.Server.Persistence;

namespace Messaging.Server.Features.Devices;

/// <summary>A stored enrolment code: only its hash is kept (the key), the member it enrols, and when it expires or was
/// used.</summary>
internal sealed record EnrolmentCodeRecord(Guid MemberId, DateTimeOffset ExpiresAt, DateTimeOffset? UsedAt, Guid? IssuedByMemberId);

/// <summary>
/// The <c>enrolment_codes</c> table. Devices owns it: Members issues codes (<see cref="InsertAsync"/>) and a partner's
/// withdrawal drops its unused ones (<see cref="DeleteUnusedForOrganisationAsync"/>) through this repository, never with
/// SQL of their own.
/// </summary>
internal static class EnrolmentCodeRepository
{
    public static Task InsertAsync(DbSession session, byte[] codeHash, Guid memberId, Guid? issuedBy, DateTimeOffset now, DateTimeOffset expiresAt)
        => session.ExecuteAsync(
            """
            INSERT INTO enrolment_codes (code_hash, member_id, issued_by_member_id, created_at, expires_at, used_at, device_id)
            VALUES (@hash, @member, @issuer, @now, @expires, NULL, NULL);
            """,
            ("@hash", codeHash), ("@member", memberId), ("@issuer", issuedBy), ("@now", now), ("@expires", expiresAt));

    public static Task<EnrolmentCodeRecord?> GetAsync(DbSession session, byte[] codeHash) => session.QuerySingleOrDefaultAsync(
        "SELECT member_id, expires_at, used_at, issued_by_member_id FROM enrolment_codes WHERE code_hash = @hash;",
        r => new EnrolmentCodeRecord(r.GetGuidValue(0), r.GetInstant(1), r.GetNullableInstant(2), r.IsDBNull(3) ? null : r.GetGuidValue(3)),
        ("@hash", codeHash));

    /// <summary>Consumes a code for the device it enrolled; a code already used is left as it is.</summary>
    public static Task<int> MarkUsedAsync(DbSession session, byte[] codeHash, Guid deviceId, DateTimeOffset at) => session.ExecuteAsync(
        "UPDATE enrolment_codes SET used_at = @now, device_id = @device WHERE code_hash = @hash AND used_at IS NULL;",
        ("@now", at), ("@device", deviceId), ("@hash", codeHash));

    /// <summary>Deletes a member's unused codes (one of them just enrolled a device): a spare code issued alongside could
    /// otherwise enrol a further device later, as a reset nobody issued as one.</summary>
    public static Task<int> DeleteUnusedForMemberAsync(DbSession session, Guid memberId) => session.ExecuteAsync(
        "DELETE FROM enrolment_codes WHERE used_at IS NULL AND member_id = @member;", ("@member", memberId));

    /// <summary>Deletes the codes that expired, or were used, at or before <paramref name="before"/>.</summary>
    public static Task<int> DeleteUsedOrExpiredAsync(DbSession session, DateTimeOffset before) => session.ExecuteAsync(
        "DELETE FROM enrolment_codes WHERE expires_at <= @before OR (used_at IS NOT NULL AND used_at <= @before);", ("@before", before));

    /// <summary>Deletes the unused codes of an organisation's members (a partner's withdrawal taking effect).</summary>
    public static Task<int> DeleteUnusedForOrganisationAsync(DbSession session, Guid organisationId) => session.ExecuteAsync(
        "DELETE FROM enrolment_codes WHERE used_at IS NULL AND member_id IN (SELECT id FROM members WHERE organisation_id = @org);", ("@org", organisationId));
}
