using System.Security.Cryptography;
using System.Text;
using Messaging.Contracts;
using Messaging.Server.Persistence;

namespace Messaging.Server.Features.Audit;

/// <summary>Audit event types: security and lifecycle events only. Metadata only: ids and codes, never content,
/// ciphertext, names or emails. Individual envelopes are not audited (DESIGN.md section 2); chains written before issue
/// 12 also hold <c>envelope.accepted</c> entries, which verify like any other (the verifier checks the chain, not the
/// vocabulary).</summary>
internal static class AuditEventTypes
{
    public const string OrganisationCreated = "organisation.created";
    public const string MemberCreated = "member.created";
    public const string EnrolmentCodeIssued = "enrolment-code.issued";
    public const string DeviceEnrolled = "device.enrolled";
    public const string DeviceRevoked = "device.revoked";
    public const string SignedPreKeyRotated = "device.signed-prekey-rotated";
    public const string ConversationCreated = "conversation.created";
    public const string ConversationMemberAdded = "conversation.member-added";
    public const string ConversationMemberRemoved = "conversation.member-removed";
    public const string ConversationMembershipSnapshot = "conversation.membership-snapshot";
    public const string DirectoryServiceUpdated = "directory.service-updated";
    public const string DirectoryCommunesAdded = "directory.communes-added";
    public const string PartnerJoinRequested = "partner.join-requested";
    public const string PartnerObjected = "partner.objected";
    public const string PartnerAdmitted = "partner.admitted";
    public const string PartnerRejected = "partner.rejected";
    public const string PartnerWithdrawalFiled = "partner.withdrawal-filed";
    public const string PartnerWithdrawn = "partner.withdrawn";
    public const string ReferralStatusChanged = "referral.status-changed";
    public const string ConsentRecorded = "consent.recorded";
    public const string ConsentRevoked = "consent.revoked";
}

/// <summary>What an audit entry is about: a kind (<c>organisation</c>, <c>member</c>, <c>device</c>,
/// <c>conversation</c>, …) and an id. (Old chains also hold <c>envelope</c> subjects.)</summary>
internal readonly record struct AuditSubject(string Kind, Guid Id)
{
    public static AuditSubject Organisation(Guid id) => new("organisation", id);

    public static AuditSubject Member(Guid id) => new("member", id);

    public static AuditSubject Device(Guid id) => new("device", id);

    public static AuditSubject Conversation(Guid id) => new("conversation", id);

    /// <summary>A referral by its surrogate id, never its case reference.</summary>
    public static AuditSubject Referral(Guid id) => new("referral", id);

    public static AuditSubject Consent(Guid id) => new("consent", id);

    public static AuditSubject JoinRequest(Guid id) => new("join-request", id);

    public static AuditSubject Withdrawal(Guid id) => new("withdrawal", id);

    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Kind}:{Id:D}");
}

/// <summary>An event to append. <paramref name="Detail"/> is a code from a closed vocabulary (a role, an
/// organisation type, an envelope kind name), never free text.</summary>
internal sealed record AuditEvent(string Type, Guid? ActorMemberId, Guid? ActorDeviceId, IReadOnlyList<AuditSubject> Subjects, string? Detail = null);

/// <summary>A stored entry.</summary>
internal sealed record AuditEntry(
    long Index,
    DateTimeOffset OccurredAt,
    string Type,
    Guid? ActorMemberId,
    Guid? ActorDeviceId,
    string Subjects,
    string? Detail,
    byte[] PreviousHash,
    byte[] Hash);

/// <summary>Result of verifying a hash chain.</summary>
internal sealed record ChainVerification(string Chain, long Entries, long? FirstBrokenIndex, byte[]? HeadHash)
{
    public bool IsIntact => FirstBrokenIndex is null;
}

/// <summary>
/// The append-only, hash-chained audit log. Appends run inside the caller's write transaction, so an event is recorded
/// exactly when its change commits. The hash is <c>SHA-256( u32len||"messaging.audit-log.v1" || u64 index || i64 unix-ms
/// || str type || str actor member || str actor device || str subjects || str detail || previous hash (32) )</c> where
/// <c>str</c> is a presence byte then u32len||UTF-8 (see <see cref="CanonicalWriter"/>). On SQLite
/// the single writer serialises appends; on PostgreSQL <see cref="DbSession.EnsureSerialAppend"/> makes sure the chain is locked.
/// </summary>
internal sealed class AuditLog(TimeProvider time)
{
    public const string Label = "messaging.audit-log.v1";

    public async Task<long> AppendAsync(DbSession session, AuditEvent auditEvent)
    {
        session.EnsureSerialAppend(DbChain.AuditLog);
        var head = await session.QuerySingleOrDefaultAsync(
            "SELECT idx, hash FROM audit_log ORDER BY idx DESC LIMIT 1;",
            r => new Tuple<long, byte[]>(r.GetInt64(0), r.GetBlob(1)));
        var index = head is null ? 0 : head.Item1 + 1;
        var previous = head?.Item2 ?? new byte[32];
        var at = DbValues.ToStoragePrecision(time.GetUtcNow());
        var subjects = string.Join(';', auditEvent.Subjects.Select(s => s.ToString()));
        var actorMember = auditEvent.ActorMemberId?.ToString("D");
        var actorDevice = auditEvent.ActorDeviceId?.ToString("D");
        var hash = ComputeHash(index, at, auditEvent.Type, actorMember, actorDevice, subjects, auditEvent.Detail, previous);
        await session.ExecuteAsync(
            """
            INSERT INTO audit_log (idx, occurred_at, event_type, actor_member_id, actor_device_id, subjects, detail, prev_hash, hash)
            VALUES (@idx, @at, @type, @member, @device, @subjects, @detail, @prev, @hash);
            """,
            ("@idx", index), ("@at", at), ("@type", auditEvent.Type), ("@member", actorMember), ("@device", actorDevice),
            ("@subjects", subjects), ("@detail", auditEvent.Detail), ("@prev", previous), ("@hash", hash));
        return index;
    }

    public static Task<List<AuditEntry>> ReadAsync(DbSession session, long fromIndex, int limit) => session.QueryAsync(
        """
        SELECT idx, occurred_at, event_type, actor_member_id, actor_device_id, subjects, detail, prev_hash, hash
        FROM audit_log WHERE idx >= @from ORDER BY idx LIMIT @limit;
        """,
        r => new AuditEntry(r.GetInt64(0), r.GetInstant(1), r.GetString(2), r.GetNullableGuid(3), r.GetNullableGuid(4),
            r.GetString(5), r.GetNullableString(6), r.GetBlob(7), r.GetBlob(8)),
        ("@from", fromIndex), ("@limit", limit));

    /// <summary>Walks the whole chain in pages; reports the first entry whose index, link or hash does not check out.</summary>
    public static async Task<ChainVerification> VerifyAsync(IDatabase database, CancellationToken cancellationToken)
    {
        const int Page = 1000;
        var previous = new byte[32];
        long expected = 0;
        while (true)
        {
            var page = await database.ReadAsync(s => ReadAsync(s, expected, Page), cancellationToken);
            foreach (var entry in page)
            {
                var recomputed = ComputeHash(entry.Index, entry.OccurredAt, entry.Type, entry.ActorMemberId?.ToString("D"),
                    entry.ActorDeviceId?.ToString("D"), entry.Subjects, entry.Detail, entry.PreviousHash);
                if (entry.Index != expected
                    || !CryptographicOperations.FixedTimeEquals(entry.PreviousHash, previous)
                    || !CryptographicOperations.FixedTimeEquals(recomputed, entry.Hash))
                {
                    return new ChainVerification("audit-log", expected, expected, null);
                }

                previous = entry.Hash;
                expected++;
            }

            if (page.Count < Page)
            {
                return new ChainVerification("audit-log", expected, null, expected == 0 ? null : previous);
            }
        }
    }

    internal static byte[] ComputeHash(long index, DateTimeOffset at, string type, string? actorMember, string? actorDevice,
        string subjects, string? detail, ReadOnlySpan<byte> previous)
    {
        var encoding = new CanonicalWriter()
            .Bytes(Encoding.UTF8.GetBytes(Label))
            .UInt64((ulong)index)
            .Int64(at.ToUnixTimeMilliseconds())
            .String(type)
            .String(actorMember)
            .String(actorDevice)
            .String(subjects)
            .String(detail)
            .Raw(previous)
            .ToArray();
        return SHA256.HashData(encoding);
    }
}

internal static class AuditExtensions
{
    public static IServiceCollection AddAudit(this IServiceCollection services)
    {
        services.AddSingleton<AuditLog>();
        return services;
    }
}
