using System.Data.Common;
using Messaging.Contracts;
using Messaging.Server.Features.Interviews;
using Messaging.Server.Persistence;

namespace Messaging.Server.Features.Notices;

/// <summary>A member's role and its organisation's type.</summary>
internal sealed record MemberKind(string Role, Guid OrganisationId, string OrganisationType);

/// <summary>An interview whose outcome the chase should start on: its mandate, its host (the organiser), its end.</summary>
internal sealed record ChaseCandidate(Guid InterviewId, Guid MandateId, Guid HostMemberId, DateTimeOffset EndedAt);

/// <summary>The SQL of mandates, notices and the intake outbox (migration 0022).</summary>
internal static class NoticeRepository
{
    private const string MandateColumns = "id, case_reference, service_organisation_id, assistant_member_id, justice_house_id, status, proposed_by_member_id, proposed_at, status_changed_at";
    private const string NoticeColumns = "id, mandate_id, kind, interview_id, issuer_member_id, issuer_device_id, relayed_at, email_sent_at";
    private const string OutboxColumns = "notice_id, justice_house_id, body, state, attempts, next_attempt_at, last_status, created_at, finished_at";

    // ---- Mandates ----

    public static Task InsertMandateAsync(DbSession session, MandateRecord m) => session.ExecuteAsync(
        $"INSERT INTO mandates ({MandateColumns}) VALUES (@id, @case, @service, @assistant, @house, @status, @by, @at, @at);",
        ("@id", m.Id), ("@case", m.CaseReference), ("@service", m.ServiceOrganisationId), ("@assistant", m.AssistantMemberId),
        ("@house", m.JusticeHouseId), ("@status", m.Status), ("@by", m.ProposedByMemberId), ("@at", m.ProposedAt));

    public static Task<MandateRecord?> GetMandateAsync(DbSession session, Guid id) => session.QuerySingleOrDefaultAsync(
        $"SELECT {MandateColumns} FROM mandates WHERE id = @id;", MapMandate, ("@id", id));

    public static Task<MandateRecord?> FindLiveMandateAsync(DbSession session, string caseReference, Guid serviceOrganisationId) => session.QuerySingleOrDefaultAsync(
        $"SELECT {MandateColumns} FROM mandates WHERE case_reference = @case AND service_organisation_id = @service AND status IN (1, 2);",
        MapMandate, ("@case", caseReference), ("@service", serviceOrganisationId));

    public static Task<List<MandateRecord>> ListMandatesAsync(DbSession session, Guid organisationId, Guid memberId) => session.QueryAsync(
        $"SELECT {MandateColumns} FROM mandates WHERE service_organisation_id = @org OR assistant_member_id = @member ORDER BY proposed_at DESC, id;",
        MapMandate, ("@org", organisationId), ("@member", memberId));

    public static Task<int> UpdateMandateStatusAsync(DbSession session, Guid id, MandateStatus from, MandateStatus to, DateTimeOffset at) => session.ExecuteAsync(
        "UPDATE mandates SET status = @to, status_changed_at = @at WHERE id = @id AND status = @from;",
        ("@id", id), ("@from", from), ("@to", to), ("@at", at));

    /// <summary>A member's role and organisation type (read-only: the members and organisations tables belong to their features).</summary>
    public static Task<MemberKind?> MemberKindAsync(DbSession session, Guid memberId) => session.QuerySingleOrDefaultAsync(
        "SELECT m.role, m.organisation_id, o.type FROM members m JOIN organisations o ON o.id = m.organisation_id WHERE m.id = @id;",
        r => new MemberKind(r.GetString(0), r.GetGuidValue(1), r.GetString(2)), ("@id", memberId));

    /// <summary>A device's identity key (read-only: the devices table belongs to its feature).</summary>
    public static Task<byte[]?> DeviceIdentityAsync(DbSession session, Guid deviceId) => session.QuerySingleOrDefaultAsync(
        "SELECT identity_key FROM devices WHERE id = @id AND status = 'active';", r => r.GetBlob(0), ("@id", deviceId));

    /// <summary>A member's work address, for the content-free emails only.</summary>
    public static Task<string?> WorkEmailAsync(DbSession session, Guid memberId) => session.QuerySingleOrDefaultAsync(
        "SELECT work_email FROM members WHERE id = @id;", r => r.GetString(0), ("@id", memberId));

    /// <summary>The work addresses of a service's organisation admins.</summary>
    public static Task<List<string>> AdminEmailsAsync(DbSession session, Guid organisationId) => session.QueryAsync(
        "SELECT work_email FROM members WHERE organisation_id = @org AND role = @role ORDER BY id;", r => r.GetString(0),
        ("@org", organisationId), ("@role", Roles.OrganisationAdmin));

    /// <summary>The retention sweep (see <see cref="NoticeRetentionJob"/>): everything finished before
    /// <paramref name="before"/>, in the order the foreign keys need; returns how many rows went.</summary>
    public static async Task<int> DeleteExpiredAsync(DbSession session, DateTimeOffset before)
    {
        var deleted = await session.ExecuteAsync("DELETE FROM notice_outcome_chases WHERE ended_at < @before;", ("@before", before));
        deleted += await session.ExecuteAsync(
            "DELETE FROM notice_intake_outbox WHERE state <> 'pending' AND finished_at < @before;", ("@before", before));
        deleted += await session.ExecuteAsync(
            "DELETE FROM notices WHERE relayed_at < @before AND id NOT IN (SELECT notice_id FROM notice_intake_outbox);", ("@before", before));
        deleted += await session.ExecuteAsync(
            """
            DELETE FROM mandates WHERE status IN (@proposed, @ended) AND status_changed_at < @before
              AND id NOT IN (SELECT mandate_id FROM notices) AND id NOT IN (SELECT mandate_id FROM notice_outcome_chases);
            """,
            ("@before", before), ("@proposed", MandateStatus.Proposed), ("@ended", MandateStatus.Ended));
        return deleted;
    }

    // ---- Notices ----

    public static Task InsertNoticeAsync(DbSession session, NoticeRecord n) => session.ExecuteAsync(
        $"INSERT INTO notices ({NoticeColumns}) VALUES (@id, @mandate, @kind, @interview, @member, @device, @at, NULL);",
        ("@id", n.Id), ("@mandate", n.MandateId), ("@kind", n.Kind), ("@interview", n.InterviewId), ("@member", n.IssuerMemberId),
        ("@device", n.IssuerDeviceId), ("@at", n.RelayedAt));

    public static Task<NoticeRecord?> GetNoticeAsync(DbSession session, Guid id) => session.QuerySingleOrDefaultAsync(
        $"SELECT {NoticeColumns} FROM notices WHERE id = @id;", MapNotice, ("@id", id));

    /// <summary>Whether <paramref name="mandateId"/> already relayed a notice of <paramref name="kind"/> about the
    /// interview (another service's mandate on the same case reports on its own).</summary>
    public static async Task<bool> InterviewHasNoticeOfKindAsync(DbSession session, Guid mandateId, Guid interviewId, NoticeKind kind)
        => await session.ScalarInt64Async("SELECT COUNT(*) FROM notices WHERE mandate_id = @m AND interview_id = @i AND kind = @k;",
            ("@m", mandateId), ("@i", interviewId), ("@k", kind)) > 0;

    /// <summary>
    /// The interviews of <paramref name="ended"/> whose outcome needs chasing now, in one statement: under an accepted
    /// mandate of their case and organising service, not chased yet, with no notice about them under that mandate;
    /// earliest end first. With
    /// <paramref name="interviewId"/>, that interview only (the re-check inside the chase's own write).
    /// </summary>
    public static Task<List<ChaseCandidate>> ListToChaseAsync(DbSession session, InterviewRelation ended, Guid? interviewId = null) => session.QueryAsync(
        $"""
        SELECT i.interview_id, m.id, i.organiser_member_id, i.ended_at
        FROM ({ended.Sql}) i
        JOIN mandates m ON m.case_reference = i.case_reference AND m.service_organisation_id = i.organiser_organisation_id AND m.status = 2
        WHERE NOT EXISTS (SELECT 1 FROM notice_outcome_chases c WHERE c.interview_id = i.interview_id)
          AND NOT EXISTS (SELECT 1 FROM notices n WHERE n.interview_id = i.interview_id AND n.mandate_id = m.id)
          {(interviewId is null ? "" : "AND i.interview_id = @chase_interview")}
        ORDER BY i.ended_at, i.interview_id;
        """,
        r => new ChaseCandidate(r.GetGuidValue(0), r.GetGuidValue(1), r.GetGuidValue(2), r.GetInstant(3)),
        [.. ended.Parameters, .. interviewId is { } id ? [("@chase_interview", (object?)id)] : Array.Empty<(string, object?)>()]);

    public static Task<List<Guid>> ListEmailPendingAsync(DbSession session) => session.QueryAsync(
        "SELECT id FROM notices WHERE email_sent_at IS NULL ORDER BY relayed_at;", r => r.GetGuidValue(0));

    public static Task<int> MarkEmailSentAsync(DbSession session, Guid id, DateTimeOffset at) => session.ExecuteAsync(
        "UPDATE notices SET email_sent_at = @at WHERE id = @id AND email_sent_at IS NULL;", ("@id", id), ("@at", at));

    // ---- Intake outbox ----

    public static Task InsertOutboxAsync(DbSession session, Guid noticeId, Guid justiceHouseId, byte[] body, DateTimeOffset at) => session.ExecuteAsync(
        $"INSERT INTO notice_intake_outbox ({OutboxColumns}) VALUES (@id, @house, @body, @state, 0, @at, NULL, @at, NULL);",
        ("@id", noticeId), ("@house", justiceHouseId), ("@body", body), ("@state", IntakeStates.Pending), ("@at", at));

    public static Task<IntakeDelivery?> GetOutboxAsync(DbSession session, Guid noticeId) => session.QuerySingleOrDefaultAsync(
        $"SELECT {OutboxColumns} FROM notice_intake_outbox WHERE notice_id = @id;", MapOutbox, ("@id", noticeId));

    public static Task<List<IntakeDelivery>> ListOutboxAsync(DbSession session, string state) => session.QueryAsync(
        $"SELECT {OutboxColumns} FROM notice_intake_outbox WHERE state = @state ORDER BY created_at, notice_id;", MapOutbox, ("@state", state));

    /// <summary>
    /// Claims the next attempt of a pending delivery for one run: counts it (the row still has <paramref name="seenAttempts"/>
    /// and is due at <paramref name="now"/>) and holds it until <paramref name="leaseUntil"/>, the time by which the
    /// attempt has ended one way or the other. Returns 0 when another run claimed it first (the attempt count moved, or
    /// its lease is still running): a concurrent or repeated run of the job never posts the same notice beside it.
    /// </summary>
    public static Task<int> ClaimAttemptAsync(DbSession session, Guid noticeId, int seenAttempts, DateTimeOffset now, DateTimeOffset leaseUntil) => session.ExecuteAsync(
        """
        UPDATE notice_intake_outbox SET attempts = attempts + 1, next_attempt_at = @lease
        WHERE notice_id = @id AND state = @pending AND attempts = @seen AND body IS NOT NULL
          AND (next_attempt_at IS NULL OR next_attempt_at <= @now);
        """,
        ("@id", noticeId), ("@seen", seenAttempts), ("@now", now), ("@lease", leaseUntil), ("@pending", IntakeStates.Pending));

    /// <summary>After a retryable failure of attempt <paramref name="attempts"/>: its status (null: no answer) and when
    /// the next attempt is due; 0 when the row moved on meanwhile.</summary>
    public static Task<int> RecordRetryAsync(DbSession session, Guid noticeId, int attempts, int? status, DateTimeOffset next) => session.ExecuteAsync(
        "UPDATE notice_intake_outbox SET last_status = @status, next_attempt_at = @next WHERE notice_id = @id AND state = @pending AND attempts = @n;",
        ("@id", noticeId), ("@n", attempts), ("@status", status), ("@next", next), ("@pending", IntakeStates.Pending));

    /// <summary>Ends a pending delivery. With <paramref name="attempts"/>, only while the row is still at that attempt
    /// (a dead letter decided on a stale count changes nothing); a delivery the intake accepted ends it in any case.</summary>
    public static Task<int> FinishAsync(DbSession session, Guid noticeId, string state, int? attempts, int? status, DateTimeOffset at, bool clearBody) => session.ExecuteAsync(
        $"UPDATE notice_intake_outbox SET state = @state, last_status = @status, next_attempt_at = NULL, finished_at = @at{(clearBody ? ", body = NULL" : string.Empty)} WHERE notice_id = @id AND state = @pending{(attempts is null ? string.Empty : " AND attempts = @n")};",
        [("@id", noticeId), ("@state", state), ("@status", status), ("@at", at), ("@pending", IntakeStates.Pending),
            .. attempts is { } n ? [("@n", (object?)n)] : Array.Empty<(string, object?)>()]);

    public static Task<int> RequeueAsync(DbSession session, Guid noticeId, DateTimeOffset at) => session.ExecuteAsync(
        "UPDATE notice_intake_outbox SET state = @pending, attempts = 0, next_attempt_at = @at, finished_at = NULL WHERE notice_id = @id AND state = @dead;",
        ("@id", noticeId), ("@at", at), ("@pending", IntakeStates.Pending), ("@dead", IntakeStates.DeadLetter));

    private static MandateRecord MapMandate(DbDataReader r) => new(r.GetGuidValue(0), r.GetString(1), r.GetGuidValue(2), r.GetGuidValue(3),
        r.GetGuidValue(4), (MandateStatus)r.GetInt64(5), r.GetGuidValue(6), r.GetInstant(7), r.GetInstant(8));

    private static NoticeRecord MapNotice(DbDataReader r) => new(r.GetGuidValue(0), r.GetGuidValue(1), (NoticeKind)r.GetInt64(2), r.GetNullableGuid(3),
        r.GetGuidValue(4), r.GetGuidValue(5), r.GetInstant(6), r.GetNullableInstant(7));

    private static IntakeDelivery MapOutbox(DbDataReader r) => new(r.GetGuidValue(0), r.GetGuidValue(1), r.IsDBNull(2) ? null : r.GetBlob(2),
        r.GetString(3), (int)r.GetInt64(4), r.GetNullableInstant(5), r.IsDBNull(6) ? null : (int)r.GetInt64(6), r.GetInstant(7), r.GetNullableInstant(8));
}
