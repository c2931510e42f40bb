using System.Data.Common;
using Messaging.Contracts;
using Messaging.Server.Features.Conversations;
using Messaging.Server.Features.Devices;
using Messaging.Server.Persistence;

namespace Messaging.Server.Features.Envelopes;

internal sealed record StoredAcceptance(long Sequence, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt);

/// <summary>What a send decides on, read in one statement: whether the sending device is still active, an earlier
/// acceptance of the same envelope id, and the conversation (null when it does not exist) with its participants.</summary>
internal sealed record SendContext(bool SenderActive, StoredAcceptance? Earlier, bool? Collective, List<Participant> Participants);

internal static class EnvelopeRepository
{
    public static Task<StoredAcceptance?> FindAsync(DbSession session, Guid senderDeviceId, Guid envelopeId) => session.QuerySingleOrDefaultAsync(
        "SELECT seq, created_at, expires_at FROM envelopes WHERE sender_device_id = @sender AND envelope_id = @id;",
        r => new StoredAcceptance(r.GetInt64(0), r.GetInstant(1), r.GetInstant(2)), ("@sender", senderDeviceId), ("@id", envelopeId));

    /// <summary>
    /// Everything a send checks before it writes, as one statement — one round trip on PostgreSQL where the checks used to
    /// be four (the device, the repeat, the conversation, its participants), the first of them outside the transaction.
    /// One row per participant's active device (or per participant without one), each repeating the sender's status and
    /// the earlier acceptance; no row at all when the sending device does not exist. All of it is read from one snapshot.
    /// </summary>
    public static async Task<SendContext> ReadSendContextAsync(DbSession session, Guid senderDeviceId, Guid envelopeId, Guid conversationId)
    {
        var rows = await session.QueryAsync(
            """
            SELECT CASE WHEN d.status = 'active' THEN 1 ELSE 0 END, e.seq, e.created_at, e.expires_at, c.collective, cm.member_id, m.role, p.id
            FROM devices d
            LEFT JOIN envelopes e ON e.sender_device_id = d.id AND e.envelope_id = @id
            LEFT JOIN conversations c ON c.id = @conversation
            LEFT JOIN conversation_members cm ON cm.conversation_id = c.id
            LEFT JOIN members m ON m.id = cm.member_id
            LEFT JOIN devices p ON p.member_id = cm.member_id AND p.status = 'active'
            WHERE d.id = @sender
            ORDER BY cm.member_id, p.created_at, p.id;
            """,
            r => (Active: r.GetInt64(0) != 0,
                Earlier: r.IsDBNull(1) ? null : new StoredAcceptance(r.GetInt64(1), r.GetInstant(2), r.GetInstant(3)),
                Collective: r.IsDBNull(4) ? (bool?)null : r.GetInt64(4) != 0,
                Member: r.GetNullableGuid(5), Role: r.GetNullableString(6), Device: r.GetNullableGuid(7)),
            ("@sender", senderDeviceId), ("@id", envelopeId), ("@conversation", conversationId));
        if (rows.Count == 0)
        {
            return new SendContext(false, null, null, []);
        }

        var participants = new List<Participant>();
        foreach (var row in rows)
        {
            if (row.Member is not { } member)
            {
                continue;
            }

            if (participants.Count == 0 || participants[^1].MemberId != member)
            {
                participants.Add(new Participant(member, row.Role ?? throw new InvalidOperationException("A member without a role."), []));
            }

            if (row.Device is { } device)
            {
                participants[^1].ActiveDeviceIds.Add(device);
            }
        }

        return new SendContext(rows[0].Active, rows[0].Earlier, rows[0].Collective, participants);
    }

    /// <summary>Stores the envelope and its copies; returns its sequence, or null when the same sender's envelope with the
    /// same id was committed by a unit running beside this one (a retry racing its original, possible at
    /// <see cref="WriteIsolation.ReadCommitted"/>): nothing is written then, and the caller answers with that one.
    /// <para>On PostgreSQL one statement stores the envelope and all its copies (the copies from two arrays), one round trip
    /// whatever the number of recipients; on SQLite, one statement per row, each prepared once by the writer.</para></summary>
    public static async Task<long?> InsertAsync(DbSession session, Guid senderDeviceId, Guid senderMemberId, Guid envelopeId,
        Guid conversationId, EnvelopeKind kind, DateTimeOffset createdAt, DateTimeOffset expiresAt, IReadOnlyList<RecipientCiphertext> recipients)
    {
        if (session.IsPostgres)
        {
            return await session.ScalarInt64Async(
                """
                WITH e AS (
                    INSERT INTO envelopes (sender_device_id, sender_member_id, envelope_id, conversation_id, kind, created_at, expires_at)
                    VALUES (@sender, @member, @id, @conversation, @kind, @created, @expires)
                    ON CONFLICT (sender_device_id, envelope_id) DO NOTHING RETURNING seq),
                copies AS (
                    INSERT INTO envelope_recipients (recipient_device_id, envelope_seq, ciphertext)
                    SELECT r.device, e.seq, r.ciphertext FROM e CROSS JOIN unnest(@devices::text[], @ciphertexts::bytea[]) AS r (device, ciphertext))
                SELECT seq FROM e;
                """,
                ("@sender", senderDeviceId), ("@member", senderMemberId), ("@id", envelopeId), ("@conversation", conversationId),
                ("@kind", kind), ("@created", createdAt), ("@expires", expiresAt),
                ("@devices", recipients.Select(r => r.DeviceId.ToString("D")).ToArray()), ("@ciphertexts", recipients.Select(r => r.Ciphertext).ToArray()));
        }

        var sequence = await session.ScalarInt64Async(
            """
            INSERT INTO envelopes (sender_device_id, sender_member_id, envelope_id, conversation_id, kind, created_at, expires_at)
            VALUES (@sender, @member, @id, @conversation, @kind, @created, @expires)
            ON CONFLICT (sender_device_id, envelope_id) DO NOTHING RETURNING seq;
            """,
            ("@sender", senderDeviceId), ("@member", senderMemberId), ("@id", envelopeId), ("@conversation", conversationId),
            ("@kind", kind), ("@created", createdAt), ("@expires", expiresAt));
        if (sequence is null)
        {
            return null;
        }

        foreach (var recipient in recipients)
        {
            await session.ExecuteAsync(
                "INSERT INTO envelope_recipients (recipient_device_id, envelope_seq, ciphertext) VALUES (@device, @seq, @ciphertext);",
                ("@device", recipient.DeviceId), ("@seq", sequence), ("@ciphertext", recipient.Ciphertext));
        }

        return sequence;
    }

    public static Task<List<EnvelopeDelivery>> ListPendingAsync(DbSession session, Guid recipientDeviceId, long afterSequence, int limit) => session.QueryAsync(
        """
        SELECT e.seq, e.envelope_id, e.conversation_id, e.sender_member_id, e.sender_device_id, e.kind, r.ciphertext, e.created_at, e.expires_at
        FROM envelope_recipients r JOIN envelopes e ON e.seq = r.envelope_seq
        WHERE r.recipient_device_id = @device AND r.envelope_seq > @after
        ORDER BY r.envelope_seq
        LIMIT @limit;
        """,
        MapDelivery, ("@device", recipientDeviceId), ("@after", afterSequence), ("@limit", limit));

    /// <summary>The copies of one envelope still waiting for their devices, each as its device receives it.</summary>
    public static Task<List<(Guid DeviceId, EnvelopeDelivery Delivery)>> ListWaitingCopiesAsync(DbSession session, long sequence) => session.QueryAsync(
        """
        SELECT e.seq, e.envelope_id, e.conversation_id, e.sender_member_id, e.sender_device_id, e.kind, r.ciphertext, e.created_at, e.expires_at,
               r.recipient_device_id
        FROM envelope_recipients r JOIN envelopes e ON e.seq = r.envelope_seq
        WHERE r.envelope_seq = @seq
        ORDER BY r.recipient_device_id;
        """,
        r => (r.GetGuidValue(9), MapDelivery(r)), ("@seq", sequence));

    /// <summary>
    /// A device's acknowledgement: deletes its copies of <paramref name="sequences"/>, then the envelopes no device still
    /// waits for, provided the device is still active; returns how many copies went, or null (and nothing changed) when the
    /// device is not active (revoked by another instance or process, which this call must not outrun).
    /// <para>On PostgreSQL, one command of two statements (one round trip). The first locks, in ascending order, the
    /// envelopes the device holds a copy of (<c>FOR NO KEY UPDATE</c>); the second — which begins after that lock was
    /// granted, so its snapshot holds every acknowledgement committed before — deletes the copies and each envelope left
    /// with no copy of another device. Two devices acknowledging an envelope's last two copies at once: the second waits
    /// for the first's commit at the lock, then sees the first's copy gone and deletes the envelope. The copies are deleted
    /// in the statement that checks for the others', so the check excludes the device's own (a statement does not see its
    /// own deletions). Two leftovers, both harmless: a copy stored between the two statements (an acknowledgement naming a
    /// sequence before its envelope was committed) is deleted without the lock, and should its envelope be left without
    /// copies, the sweep takes it (<see cref="PurgeStrandedAsync"/>); and the lock comes before the copy's delete, the
    /// reverse of the expiry purge's order, so an acknowledgement racing the purge of the same envelope may deadlock, which
    /// PostgreSQL breaks and <see cref="PostgresDatabase"/> runs again.</para>
    /// <para>On SQLite (one writer, no arrays, no data-modifying <c>WITH</c>): the device check, then
    /// <see cref="DeleteCopiesAsync"/>.</para>
    /// </summary>
    public static async Task<int?> AcknowledgeAsync(DbSession session, Guid recipientDeviceId, IReadOnlyCollection<long> sequences)
    {
        if (!session.IsPostgres)
        {
            return await DeviceRepository.IsActiveAsync(session, recipientDeviceId)
                ? await DeleteCopiesAsync(session, recipientDeviceId, sequences)
                : null;
        }

        var outcome = await session.QueryStatementAsync(
            """
            SELECT e.seq FROM envelopes e
            WHERE e.seq = ANY(@seqs)
              AND EXISTS (SELECT 1 FROM envelope_recipients r WHERE r.envelope_seq = e.seq AND r.recipient_device_id = @device)
              AND EXISTS (SELECT 1 FROM devices d WHERE d.id = @device AND d.status = 'active')
            ORDER BY e.seq
            FOR NO KEY UPDATE OF e;
            WITH device AS (SELECT id FROM devices WHERE id = @device AND status = 'active'),
            gone AS (
                DELETE FROM envelope_recipients r USING device d
                WHERE r.recipient_device_id = d.id AND r.envelope_seq = ANY(@seqs)
                RETURNING r.envelope_seq),
            emptied AS (
                DELETE FROM envelopes e USING gone g
                WHERE e.seq = g.envelope_seq
                  AND NOT EXISTS (SELECT 1 FROM envelope_recipients o WHERE o.envelope_seq = e.seq AND o.recipient_device_id <> @device))
            SELECT (SELECT COUNT(*) FROM device), (SELECT COUNT(*) FROM gone);
            """,
            1,
            r => new[] { r.GetInt64(0), r.GetInt64(1) },
            ("@seqs", sequences.ToArray()), ("@device", recipientDeviceId))
            ?? throw new InvalidOperationException("The acknowledgement returned no row.");
        return outcome[0] == 0 ? null : (int)outcome[1];
    }

    /// <summary>Deletes this device's copies, then the envelopes no device still waits for, whatever the device's status
    /// (revocation, the sweep; a device's own acknowledgement goes through <see cref="AcknowledgeAsync"/>). One fixed
    /// statement pair per sequence rather than an IN list: fixed text is prepared once and re-bound (the writer caches
    /// it), which costs less than compiling a new statement for every batch.
    /// <para>Where units run in parallel (<see cref="DbSession.LocksRows"/>), the envelope's row is locked between the two:
    /// two devices acknowledging an envelope's last two copies at once would otherwise each still see the other's copy and
    /// neither delete the envelope. The lock makes the second wait for the first's commit, and its check, a statement
    /// begun after the wait, sees it. Sequences are taken in ascending order, so two acknowledgements never wait on each
    /// other crosswise.</para></summary>
    private static async Task<int> DeleteCopiesAsync(DbSession session, Guid recipientDeviceId, IReadOnlyCollection<long> sequences)
    {
        var deleted = 0;
        foreach (var sequence in sequences.Order())
        {
            if (await session.ExecuteAsync(
                    "DELETE FROM envelope_recipients WHERE recipient_device_id = @device AND envelope_seq = @seq;",
                    ("@device", recipientDeviceId), ("@seq", sequence)) == 0)
            {
                continue;
            }

            deleted++;
            if (session.LocksRows)
            {
                await session.ExecuteAsync("SELECT 1 FROM envelopes WHERE seq = @seq FOR NO KEY UPDATE;", ("@seq", sequence));
            }

            await session.ExecuteAsync(
                """
                DELETE FROM envelopes WHERE seq = @seq
                  AND NOT EXISTS (SELECT 1 FROM envelope_recipients r WHERE r.envelope_seq = @seq);
                """,
                ("@seq", sequence));
        }

        return deleted;
    }

    /// <summary>Revocation: drops every copy waiting for the device, and envelopes left without recipients.</summary>
    public static async Task DeleteForRecipientAsync(DbSession session, Guid recipientDeviceId)
    {
        var sequences = await session.QueryAsync(
            "SELECT envelope_seq FROM envelope_recipients WHERE recipient_device_id = @device;", r => r.GetInt64(0), ("@device", recipientDeviceId));
        await DeleteCopiesAsync(session, recipientDeviceId, sequences);
    }

    /// <summary>Purges envelopes past their expiry with all their copies; returns how many envelopes went.</summary>
    public static async Task<int> PurgeExpiredAsync(DbSession session, DateTimeOffset now)
    {
        await session.ExecuteAsync(
            "DELETE FROM envelope_recipients WHERE envelope_seq IN (SELECT seq FROM envelopes WHERE expires_at <= @now);", ("@now", now));
        return await session.ExecuteAsync("DELETE FROM envelopes WHERE expires_at <= @now;", ("@now", now));
    }

    /// <summary>
    /// The backstop for races a <see cref="WriteIsolation.ReadCommitted"/> send or acknowledgement can lose against a
    /// serializable unit: copies still waiting for a device that is no longer active (a send that read the device as active
    /// while its revocation was deleting the device's copies), and envelopes left without any copy for longer than
    /// <paramref name="grace"/> (acknowledgements that each saw the other's copy). Nobody can fetch either — a revoked
    /// device cannot authenticate — and both would otherwise stay until expiry. Returns how many rows went.
    /// </summary>
    public static async Task<int> PurgeStrandedAsync(DbSession session, DateTimeOffset now, TimeSpan grace)
    {
        var stranded = await session.QueryAsync(
            """
            SELECT r.recipient_device_id, r.envelope_seq FROM envelope_recipients r
            JOIN devices d ON d.id = r.recipient_device_id
            WHERE d.status <> 'active';
            """,
            r => (Device: r.GetGuidValue(0), Sequence: r.GetInt64(1)));
        var purged = 0;
        foreach (var copies in stranded.GroupBy(c => c.Device))
        {
            purged += await DeleteCopiesAsync(session, copies.Key, [.. copies.Select(c => c.Sequence)]);
        }

        return purged + await session.ExecuteAsync(
            """
            DELETE FROM envelopes WHERE created_at <= @before
              AND NOT EXISTS (SELECT 1 FROM envelope_recipients r WHERE r.envelope_seq = envelopes.seq);
            """,
            ("@before", now - grace));
    }

    private static EnvelopeDelivery MapDelivery(DbDataReader r) => new(
        r.GetInt64(0), r.GetGuidValue(1), r.GetGuidValue(2), r.GetGuidValue(3), r.GetGuidValue(4), (EnvelopeKind)r.GetInt64(5),
        r.GetBlob(6), r.GetInstant(7), r.GetInstant(8));
}
