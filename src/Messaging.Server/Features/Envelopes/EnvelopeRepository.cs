using System.Data.Common;
using Messaging.Contracts;
using Messaging.Server.Features.Devices;
using Messaging.Server.Persistence;

namespace Messaging.Server.Features.Envelopes;

internal sealed record StoredAcceptance(long Sequence, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt);

/// <summary>An envelope as a send stores it: its sender (device and member), the sender's id for it, its conversation and
/// kind, when it was accepted and until when it is kept, and one ciphertext per recipient device.</summary>
internal sealed record NewEnvelope(Guid SenderDeviceId, Guid SenderMemberId, Guid EnvelopeId, Guid ConversationId, EnvelopeKind Kind,
    DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, IReadOnlyList<RecipientCiphertext> Recipients);

internal static class EnvelopeRepository
{
    public static async Task<StoredAcceptance?> FindAsync(DbSession session, Guid senderDeviceId, Guid envelopeId)
        => (await session.QueryAsync(Find(senderDeviceId, envelopeId))).SingleOrDefault();

    /// <summary>The sender's envelope with this id, if one was accepted (none otherwise), to read with other queries.</summary>
    public static DbQuery<StoredAcceptance> Find(Guid senderDeviceId, Guid envelopeId) => new(
        "SELECT seq, created_at, expires_at FROM envelopes WHERE sender_device_id = @sender AND envelope_id = @id;",
        r => new StoredAcceptance(r.GetInt64(0), r.GetInstant(1), r.GetInstant(2)), ("@sender", senderDeviceId), ("@id", envelopeId));

    /// <summary>
    /// Stores the envelope and its copies, then applies the acknowledgement the send carries; returns the envelope's
    /// sequence, or null when the same sender's envelope with the same id was committed by a unit running beside this one (a
    /// retry racing its original, possible at <see cref="WriteIsolation.ReadCommitted"/>): no envelope and no copy is
    /// written then (the acknowledgement still applies), and the caller answers with that one.
    /// <para>On PostgreSQL all of it is one statement for the envelope and its copies (the copies taken from arrays), the
    /// acknowledgement's statements after it, in one batch: one round trip, which with <paramref name="commit"/> also
    /// commits the unit (<see cref="DbSession.QueryThenExecuteEachAsync"/>; then nothing more may run in it). On SQLite's
    /// writer, one statement after the other, each prepared once and re-bound.</para>
    /// </summary>
    public static async Task<(long? Sequence, int Acknowledged)> StoreAsync(DbSession session, NewEnvelope envelope,
        IReadOnlyCollection<long> acknowledge, bool commit)
    {
        if (!session.LocksRows)
        {
            return await InsertAsync(session, envelope) is { } inserted
                ? (inserted, await AcknowledgeAsync(session, envelope.SenderDeviceId, acknowledge)) : (null, 0);
        }

        var insert = new DbQuery<long>(InsertWithCopies, r => r.GetInt64(0), StoreParameters(envelope));
        var acknowledgement = AcknowledgeStatements(session, envelope.SenderDeviceId, acknowledge, ownCall: false);
        var (sequence, changed) = await session.QueryThenExecuteEachAsync(insert, _ => { }, acknowledgement.Statements, commit);
        return (sequence.Count == 1 ? sequence[0] : null, acknowledgement.CountDeleted(changed));
    }

    /// <summary>The parameters of <see cref="StoreAllowed"/>: the envelope's columns, and its copies as the two arrays the
    /// statement unnests (device ids and ciphertexts, in one order).</summary>
    private static (string, object?)[] StoreParameters(NewEnvelope envelope, params (string, object?)[] more)
    {
        var recipients = envelope.Recipients;
        var devices = new string[recipients.Count];
        var ciphertexts = new byte[recipients.Count][];
        for (var i = 0; i < recipients.Count; i++)
        {
            devices[i] = (string)DbValues.ToDb(recipients[i].DeviceId);
            ciphertexts[i] = recipients[i].Ciphertext;
        }

        return [.. ColumnParameters(envelope), ("@devices", devices), ("@ciphertexts", ciphertexts), .. more];
    }

    /// <summary>The parameters of the <c>envelopes</c> row's columns, on either engine.</summary>
    private static (string, object?)[] ColumnParameters(NewEnvelope envelope)
        => [("@sender", envelope.SenderDeviceId), ("@member", envelope.SenderMemberId), ("@id", envelope.EnvelopeId),
            ("@conversation", envelope.ConversationId), ("@kind", envelope.Kind), ("@created", envelope.CreatedAt),
            ("@expires", envelope.ExpiresAt)];

    /// <summary>PostgreSQL: the envelope and its copies in one statement. On a repeated id the envelope's insert returns no
    /// row, and so no copy is inserted.</summary>
    private const string InsertWithCopies = "WITH allowed AS (SELECT 1),\n" + StoreAllowed;

    /// <summary>PostgreSQL: the envelope and its copies, after common table expressions that end with <c>allowed</c>, a
    /// row when the send may be stored and none otherwise.</summary>
    private const string StoreAllowed = """
        envelope AS (
            INSERT INTO envelopes (sender_device_id, sender_member_id, envelope_id, conversation_id, kind, created_at, expires_at)
            SELECT @sender, @member, @id, @conversation, @kind, @created, @expires FROM allowed
            ON CONFLICT (sender_device_id, envelope_id) DO NOTHING RETURNING seq),
        copies AS (
            INSERT INTO envelope_recipients (recipient_device_id, envelope_seq, ciphertext)
            SELECT copy.device, envelope.seq, copy.ciphertext
            FROM envelope, unnest(@devices::text[], @ciphertexts::bytea[]) AS copy(device, ciphertext))
        SELECT seq FROM envelope;
        """;

    /// <summary>
    /// PostgreSQL: a whole send of a kind no gate reads state for, in one round trip that also commits the unit. One
    /// statement stores the envelope and its copies only when the send passes every check of the full path that reads the
    /// store (<see cref="EnvelopeService"/>): the sending device is active; its member belongs to the conversation; the
    /// conversation is not collective, unless <paramref name="collectiveAllowed"/>; every member's role is one of
    /// <paramref name="receivers"/>; and the devices addressed (the <paramref name="envelope"/>'s recipients and those
    /// declared <paramref name="unreachable"/>) are exactly the active devices of the conversation's members, the sending
    /// device aside. The acknowledgement the send carries follows in the same batch and applies only where the sender's
    /// envelope with this id is stored (just now, or by an earlier acceptance: a repeat) and the device is active.
    /// <para>Returns the sequence, or null when nothing was stored; then the unit has committed nothing but, for a repeat,
    /// that acknowledgement (its count is returned), and the full path finds out why: a repeat, a refusal, a device
    /// mismatch.</para>
    /// </summary>
    public static async Task<(long? Sequence, int Acknowledged)> StoreIfAllowedAsync(DbSession session, NewEnvelope envelope,
        IReadOnlyList<Guid> unreachable, string[] receivers, bool collectiveAllowed, IReadOnlyCollection<long> acknowledge)
    {
        if (!session.LocksRows)
        {
            throw new InvalidOperationException("A send is decided in its storing statement on PostgreSQL only.");
        }

        var insert = new DbQuery<long>(InsertIfAllowed, r => r.GetInt64(0), StoreParameters(envelope,
            ("@unreachable", unreachable.Select(d => (string)DbValues.ToDb(d)).ToArray()), ("@receivers", receivers),
            ("@collective_allowed", collectiveAllowed)));
        var acknowledgement = AcknowledgeStatements(session, envelope.SenderDeviceId, acknowledge, ownCall: false, carriedBy: envelope.EnvelopeId);
        var (sequence, changed) = await session.QueryThenExecuteEachAsync(insert, _ => { }, acknowledgement.Statements, commit: true);
        return (sequence.Count == 1 ? sequence[0] : null, acknowledgement.CountDeleted(changed));
    }

    /// <summary>PostgreSQL: <see cref="InsertWithCopies"/>, when the send passes the checks of
    /// <see cref="StoreIfAllowedAsync"/>. The device comparison is one of sets, as the full path's is: a device both
    /// addressed and declared unreachable counts once.</summary>
    private const string InsertIfAllowed = """
        WITH expected AS (
            SELECT d.id FROM conversation_members cm JOIN devices d ON d.member_id = cm.member_id AND d.status = 'active'
            WHERE cm.conversation_id = @conversation AND d.id <> @sender),
        addressed AS (
            SELECT unnest(@devices::text[]) AS id UNION ALL SELECT unnest(@unreachable::text[])),
        allowed AS (
            SELECT 1 FROM devices sender
            WHERE sender.id = @sender AND sender.status = 'active'
              AND EXISTS (SELECT 1 FROM conversation_members cm WHERE cm.conversation_id = @conversation AND cm.member_id = @member)
              AND (@collective_allowed <> 0 OR EXISTS (SELECT 1 FROM conversations c WHERE c.id = @conversation AND c.collective = 0))
              AND NOT EXISTS (SELECT 1 FROM conversation_members cm JOIN members m ON m.id = cm.member_id
                              WHERE cm.conversation_id = @conversation AND m.role <> ALL (@receivers::text[]))
              AND NOT EXISTS (SELECT id FROM expected EXCEPT SELECT id FROM addressed)
              AND NOT EXISTS (SELECT id FROM addressed EXCEPT SELECT id FROM expected)),
        """ + "\n" + StoreAllowed;

    private static async Task<long?> InsertAsync(DbSession session, NewEnvelope envelope)
    {
        var sequence = await session.ScalarInt64Async(
            """
            INSERT INTO envelopes (sender_device_id, sender_member_id, envelope_id, conversation_id, kind, created_at, expires_at)
            VALUES (@sender, @member, @id, @conversation, @kind, @created, @expires)
            ON CONFLICT (sender_device_id, envelope_id) DO NOTHING RETURNING seq;
            """,
            ColumnParameters(envelope));
        if (sequence is null)
        {
            return null;
        }

        await session.ExecuteEachAsync([.. envelope.Recipients.Select(recipient => (
            "INSERT INTO envelope_recipients (recipient_device_id, envelope_seq, ciphertext) VALUES (@device, @seq, @ciphertext);",
            new (string, object?)[] { ("@device", recipient.DeviceId), ("@seq", sequence), ("@ciphertext", recipient.Ciphertext) }))]);
        return sequence;
    }

    public static Task<List<EnvelopeDelivery>> ListPendingAsync(DbSession session, Guid recipientDeviceId, long afterSequence, int limit) => session.QueryAsync(
        $"""
        SELECT {DeliveryColumns}
        FROM envelope_recipients r JOIN envelopes e ON e.seq = r.envelope_seq
        WHERE r.recipient_device_id = @device AND r.envelope_seq > @after
        ORDER BY r.envelope_seq
        LIMIT @limit;
        """,
        MapDelivery, ("@device", recipientDeviceId), ("@after", afterSequence), ("@limit", limit));

    /// <summary>The copies of one envelope still waiting for their devices, each as its device receives it.</summary>
    public static Task<List<(Guid DeviceId, EnvelopeDelivery Delivery)>> ListWaitingCopiesAsync(DbSession session, long sequence) => session.QueryAsync(
        $"""
        SELECT {DeliveryColumns}, r.recipient_device_id
        FROM envelope_recipients r JOIN envelopes e ON e.seq = r.envelope_seq
        WHERE r.envelope_seq = @seq
        ORDER BY r.recipient_device_id;
        """,
        r => (r.GetGuidValue(9), MapDelivery(r)), ("@seq", sequence));

    /// <summary>Deletes this device's copies, then the envelopes no device still waits for. Fixed statements per
    /// sequence rather than an IN list: fixed text is prepared once and re-bound (the writer and the PostgreSQL
    /// connections keep it), which costs less than compiling a new statement for every batch.
    /// <para>Where units run in parallel (<see cref="DbSession.LocksRows"/>), the envelope's row is locked between the two:
    /// two devices acknowledging an envelope's last two copies at once would otherwise each still see the other's copy and
    /// neither delete the envelope. The lock makes the second wait for the first's commit, and its check, a statement
    /// begun after the wait, sees it. Sequences are taken in ascending order, so two acknowledgements never wait on each
    /// other crosswise.</para></summary>
    public static async Task<int> AcknowledgeAsync(DbSession session, Guid recipientDeviceId, IReadOnlyCollection<long> sequences)
    {
        if (sequences.Count == 0)
        {
            return 0;
        }

        // Every statement of every sequence together: one batch, one round trip on PostgreSQL; one after another on
        // SQLite's writer.
        var batch = AcknowledgeStatements(session, recipientDeviceId, sequences, ownCall: false);
        return batch.CountDeleted(await session.ExecuteEachAsync(batch.Statements));
    }

    /// <summary>
    /// A device's own acknowledgement call: <see cref="AcknowledgeAsync"/>, after the per-call device check
    /// (<see cref="DeviceRepository.Active"/>: a revoked device is refused and nothing is deleted), all in one batch that on
    /// PostgreSQL also commits the unit: one round trip. The check's answer is read after that commit, so on PostgreSQL
    /// each copy's delete also requires the device to be active: a revoked device's batch deletes nothing (an envelope left
    /// without copies may still go, which is always right). The commit does not wait for its WAL to reach the disk
    /// (<c>synchronous_commit = off</c> for this transaction only; the WAL writer flushes it within a few hundred
    /// milliseconds). A crash of PostgreSQL in that window forgets the acknowledgement and nothing else: the copy is
    /// delivered again and the client drops it as a duplicate, as after a client that crashed before acknowledging. Every
    /// other acknowledgement (carried by a send, a revocation's purge) commits durably with its unit.
    /// </summary>
    public static async Task<int> AcknowledgeOwnAsync(DbSession session, Guid deviceId, IReadOnlyCollection<long> sequences)
    {
        var batch = AcknowledgeStatements(session, deviceId, sequences, ownCall: true);
        var (_, changed) = await session.QueryThenExecuteEachAsync(DeviceRepository.Active(deviceId), DeviceRepository.EnsureCallerActive,
            batch.Statements, commit: true);
        return batch.CountDeleted(changed);
    }

    /// <summary>The statements of an acknowledgement. The envelope is checked even when this device's copy was already
    /// gone: deleting an envelope no copy waits for is always right, and a copy still uncommitted by its send is as
    /// invisible to the check as its envelope is to the delete.</summary>
    private static AcknowledgeBatch AcknowledgeStatements(DbSession session, Guid deviceId, IReadOnlyCollection<long> sequences, bool ownCall,
        Guid? carriedBy = null)
    {
        var perSequence = session.LocksRows ? 3 : 2;
        var statements = new List<(string Sql, (string Name, object? Value)[] Parameters)>((perSequence * sequences.Count) + 1);
        var ownOnPostgres = ownCall && session.LocksRows;
        if (ownOnPostgres)
        {
            // PostgreSQL only: SQLite's writer commits several units at once, durably, whatever each asks.
            statements.Add(("SET LOCAL synchronous_commit = off;", []));
        }

        var first = statements.Count;

        foreach (var sequence in sequences.Order())
        {
            statements.Add(carriedBy is { } envelopeId
                ? (DeleteCarriedCopy, [("@device", deviceId), ("@seq", sequence), ("@envelope", envelopeId)])
                : (ownOnPostgres ? DeleteOwnCopy : DeleteCopy, [("@device", deviceId), ("@seq", sequence)]));
            if (session.LocksRows)
            {
                statements.Add(("SELECT 1 FROM envelopes WHERE seq = @seq FOR NO KEY UPDATE;", [("@seq", sequence)]));
            }

            statements.Add((DeleteEnvelopeWithoutCopies, [("@seq", sequence)]));
        }

        return new AcknowledgeBatch(statements, first, perSequence, sequences.Count);
    }

    /// <summary>An acknowledgement's statements: from <paramref name="First"/> on, a group of <paramref name="PerSequence"/>
    /// per sequence, the copy's delete first.</summary>
    private sealed record AcknowledgeBatch(
        List<(string Sql, (string Name, object? Value)[] Parameters)> Statements, int First, int PerSequence, int Sequences)
    {
        /// <summary>How many of the sequences had this device's copy, from the rows each statement changed.</summary>
        public int CountDeleted(int[] changed) => Enumerable.Range(0, Sequences).Count(i => changed[First + (PerSequence * i)] > 0);
    }

    private const string DeleteCopy = "DELETE FROM envelope_recipients WHERE recipient_device_id = @device AND envelope_seq = @seq;";

    /// <summary>A device's own delete of its copy, on PostgreSQL: only while the device is active (see <see cref="AcknowledgeOwnAsync"/>).</summary>
    private const string DeleteOwnCopy = """
        DELETE FROM envelope_recipients WHERE recipient_device_id = @device AND envelope_seq = @seq
          AND EXISTS (SELECT 1 FROM devices WHERE id = @device AND status = 'active');
        """;

    /// <summary>The delete of a copy whose acknowledgement a send decided in its storing statement carries: only where
    /// that send's envelope is stored and the device is active (see <see cref="StoreIfAllowedAsync"/>).</summary>
    private const string DeleteCarriedCopy = """
        DELETE FROM envelope_recipients WHERE recipient_device_id = @device AND envelope_seq = @seq
          AND EXISTS (SELECT 1 FROM envelopes e JOIN devices d ON d.id = e.sender_device_id
                      WHERE e.sender_device_id = @device AND e.envelope_id = @envelope AND d.status = 'active');
        """;

    private const string DeleteEnvelopeWithoutCopies = """
        DELETE FROM envelopes WHERE seq = @seq
          AND NOT EXISTS (SELECT 1 FROM envelope_recipients r WHERE r.envelope_seq = @seq);
        """;

    /// <summary>Revocation: drops every copy waiting for the device, and envelopes left without recipients.</summary>
    public static async Task DeleteForRecipientAsync(DbSession session, Guid recipientDeviceId)
    {
        var sequences = await session.QueryAsync(
            "SELECT envelope_seq FROM envelope_recipients WHERE recipient_device_id = @device;", r => r.GetInt64(0), ("@device", recipientDeviceId));
        await AcknowledgeAsync(session, recipientDeviceId, sequences);
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
            purged += await AcknowledgeAsync(session, copies.Key, [.. copies.Select(c => c.Sequence)]);
        }

        return purged + await session.ExecuteAsync(
            """
            DELETE FROM envelopes WHERE created_at <= @before
              AND NOT EXISTS (SELECT 1 FROM envelope_recipients r WHERE r.envelope_seq = envelopes.seq);
            """,
            ("@before", now - grace));
    }

    /// <summary>The columns <see cref="MapDelivery"/> reads, in its order (<c>e</c>: the envelope, <c>r</c>: the copy).</summary>
    private const string DeliveryColumns = "e.seq, e.envelope_id, e.conversation_id, e.sender_member_id, e.sender_device_id, e.kind, r.ciphertext, e.created_at, e.expires_at";

    private static EnvelopeDelivery MapDelivery(DbDataReader r) => new(
        r.GetInt64(0), r.GetGuidValue(1), r.GetGuidValue(2), r.GetGuidValue(3), r.GetGuidValue(4), (EnvelopeKind)r.GetInt64(5),
        r.GetBlob(6), r.GetInstant(7), r.GetInstant(8));
}
