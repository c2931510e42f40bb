using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Messaging.Contracts;
using Microsoft.Data.Sqlite;

namespace Messaging.Client.Storage;

/// <summary>
/// The device's local database beside its key store (SQLite, one file): sessions, pinned identities, the verified key
/// log, how far each conversation's membership log was verified, the prekey messages seen, and the received messages — one sealed row each (<see cref="RowSealer"/>), looked up
/// by keyed hashes. Opened only by the process holding the unlocked key store (the store's one owner), so there is a
/// single writer. Writes go through one <see cref="Batch"/> per step (a page of deliveries, a send), committed in one
/// SQLite transaction with <c>synchronous=FULL</c>: once <see cref="Batch.Commit"/> returns, the step is on disk.
/// <c>secure_delete</c> is on: a deleted or replaced row (a pruned message, a superseded ratchet state) is overwritten in
/// the file rather than left in a free cell or page; the write-ahead log is truncated after a prune.
/// </summary>
internal sealed class LocalDatabase : IDisposable
{
    internal const string SessionsTable = "sessions";
    internal const string PinnedTable = "pinned";
    internal const string KeyLogTable = "keylog";
    internal const string MetaTable = "meta";
    internal const string MessagesTable = "messages";
    internal const string ConversationLookup = "messages.conversation";
    internal const string KindLookup = "messages.kind";
    internal const string SeenTable = "prekey_seen";
    internal const string ReadMarksTable = "read_marks";
    internal const string MembershipTable = "membership";
    private const byte MessageFormat = 1;

    private readonly SqliteConnection _connection;
    private readonly RowSealer _sealer;

    private LocalDatabase(SqliteConnection connection, RowSealer sealer)
    {
        _connection = connection;
        _sealer = sealer;
    }

    public RowSealer Sealer => _sealer;

    /// <summary>The database file of the key store at <paramref name="keyStorePath"/>.</summary>
    public static string PathFor(string keyStorePath) => keyStorePath + ".db";

    public static LocalDatabase Open(string path, RowSealer sealer)
    {
        var isNew = !File.Exists(path);
        if (isNew && !OperatingSystem.IsWindows())
        {
            // Created empty with mode 0600 first: SQLite keeps the mode of an existing file (and gives it to -wal/-shm).
            using (File.Create(path, 1, FileOptions.None))
            {
            }

            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString());
        connection.Open();
        try
        {
            Execute(connection, """
                PRAGMA journal_mode=WAL;
                PRAGMA synchronous=FULL;
                PRAGMA secure_delete=ON;
                CREATE TABLE IF NOT EXISTS sessions (lookup BLOB PRIMARY KEY, sealed BLOB NOT NULL) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS pinned (lookup BLOB PRIMARY KEY, sealed BLOB NOT NULL) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS keylog (lookup BLOB PRIMARY KEY, sealed BLOB NOT NULL) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS meta (lookup BLOB PRIMARY KEY, sealed BLOB NOT NULL) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS read_marks (lookup BLOB PRIMARY KEY, sealed BLOB NOT NULL) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS membership (lookup BLOB PRIMARY KEY, sealed BLOB NOT NULL) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS prekey_seen (lookup BLOB PRIMARY KEY, signed_prekey_id INTEGER NOT NULL) WITHOUT ROWID;
                CREATE INDEX IF NOT EXISTS prekey_seen_by_key ON prekey_seen (signed_prekey_id);
                CREATE TABLE IF NOT EXISTS messages (
                    lookup BLOB NOT NULL UNIQUE, conversation BLOB NOT NULL, kind BLOB NOT NULL,
                    sequence INTEGER NOT NULL, received_at INTEGER NOT NULL, sealed BLOB NOT NULL);
                CREATE INDEX IF NOT EXISTS messages_by_sequence ON messages (sequence);
                CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages (conversation, sequence);
                CREATE INDEX IF NOT EXISTS messages_by_kind ON messages (kind, sequence);
                CREATE INDEX IF NOT EXISTS messages_by_age ON messages (received_at);
                """);
        }
        catch
        {
            connection.Dispose();
            throw;
        }

        return new LocalDatabase(connection, sealer);
    }

    public Dictionary<Guid, List<StoredSession>> LoadSessions()
        => LoadRows(SessionsTable, LocalRowsJson.Default.SessionsRow).ToDictionary(r => r.DeviceId, r => r.Sessions);

    public Dictionary<Guid, byte[]> LoadPinned()
        => LoadRows(PinnedTable, LocalRowsJson.Default.PinnedRow).ToDictionary(r => r.DeviceId, r => r.IdentityKey);

    public Dictionary<Guid, KeyLogDevice> LoadKeyLog()
        => LoadRows(KeyLogTable, LocalRowsJson.Default.KeyLogRow).ToDictionary(r => r.DeviceId, r => r.Device);

    /// <summary>How far each conversation was read on this device (the highest server sequence shown).</summary>
    public Dictionary<Guid, long> LoadReadMarks()
        => LoadRows(ReadMarksTable, LocalRowsJson.Default.ReadMarkRow).ToDictionary(r => r.ConversationId, r => r.UpToSequence);

    /// <summary>How far this device verified a conversation's membership log (none when it never did).</summary>
    public MembershipHeadRow? LoadMembershipHead(Guid conversationId)
    {
        var lookup = _sealer.Lookup(MembershipTable, conversationId);
        using var command = Command("SELECT sealed FROM membership WHERE lookup = $l");
        command.Parameters.AddWithValue("$l", lookup);
        return command.ExecuteScalar() is byte[] row
            ? JsonSerializer.Deserialize(_sealer.Open(MembershipTable, lookup, row), LocalRowsJson.Default.MembershipHeadRow)
            : null;
    }

    public KeyLogHeadRow? LoadKeyLogHead()
    {
        var lookup = _sealer.Lookup(MetaTable, "keylog.head"u8);
        using var command = Command("SELECT sealed FROM meta WHERE lookup = $l");
        command.Parameters.AddWithValue("$l", lookup);
        return command.ExecuteScalar() is byte[] row
            ? JsonSerializer.Deserialize(_sealer.Open(MetaTable, lookup, row), LocalRowsJson.Default.KeyLogHeadRow)
            : null;
    }

    /// <summary>Which of <paramref name="messages"/> (sender device, envelope id) are stored already: a handful of
    /// queries for a whole page of deliveries rather than one per delivery.</summary>
    public HashSet<(Guid SenderDeviceId, Guid EnvelopeId)> StoredMessages(IReadOnlyCollection<(Guid SenderDeviceId, Guid EnvelopeId)> messages)
    {
        const int perQuery = 100;
        var stored = new HashSet<(Guid, Guid)>();
        // A lookup is 16 bytes: a Guid holds it as a value, compared and hashed by content (a byte[] key would compare
        // by reference).
        var byLookup = new Dictionary<Guid, (Guid, Guid)>(messages.Count);
        foreach (var message in messages)
        {
            byLookup[new Guid(_sealer.Lookup(MessagesTable, message.SenderDeviceId, message.EnvelopeId))] = message;
        }

        foreach (var chunk in byLookup.Keys.Chunk(perQuery))
        {
            using var command = Command($"SELECT lookup FROM messages WHERE lookup IN ({string.Join(',', chunk.Select((_, i) => "$l" + i.ToString(CultureInfo.InvariantCulture)))})");
            for (var i = 0; i < chunk.Length; i++)
            {
                command.Parameters.AddWithValue("$l" + i.ToString(CultureInfo.InvariantCulture), chunk[i].ToByteArray());
            }

            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                stored.Add(byLookup[new Guid((byte[])reader[0])]);
            }
        }

        return stored;
    }

    public bool HasSeenPreKeyMessage(uint signedPreKeyId, ReadOnlySpan<byte> ephemeralKey)
    {
        using var command = Command("SELECT 1 FROM prekey_seen WHERE lookup = $l");
        command.Parameters.AddWithValue("$l", SeenLookup(signedPreKeyId, ephemeralKey));
        return command.ExecuteScalar() is not null;
    }

    /// <summary>Forgets the prekey messages seen under an erased signed prekey (no message naming it can open any more).</summary>
    public void ForgetPreKeyMessages(uint signedPreKeyId)
    {
        using var command = Command("DELETE FROM prekey_seen WHERE signed_prekey_id = $id");
        command.Parameters.AddWithValue("$id", (long)signedPreKeyId);
        command.ExecuteNonQuery();
    }

    /// <summary>The stored messages in server order, optionally of one conversation and/or one kind.</summary>
    public List<InboxMessage> ReadMessages(Guid? conversationId = null, EnvelopeKind? kind = null)
    {
        using var command = Command($"""
            SELECT lookup, sealed FROM messages
            WHERE 1 = 1 {(conversationId is null ? "" : "AND conversation = $c")} {(kind is null ? "" : "AND kind = $k")}
            ORDER BY sequence
            """);
        if (conversationId is { } c)
        {
            command.Parameters.AddWithValue("$c", _sealer.Lookup(ConversationLookup, c));
        }

        if (kind is { } k)
        {
            command.Parameters.AddWithValue("$k", _sealer.Lookup(KindLookup, [(byte)k]));
        }

        var messages = new List<InboxMessage>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var lookup = (byte[])reader[0];
            var message = DecodeMessage(_sealer.Open(MessagesTable, lookup, (byte[])reader[1]));
            if (!_sealer.Lookup(MessagesTable, message.SenderDeviceId, message.EnvelopeId).AsSpan().SequenceEqual(lookup))
            {
                throw new LocalStoreCorruptedException("A message row is filed under another message's key.");
            }

            messages.Add(message);
        }

        return messages;
    }

    public long CountMessages()
    {
        using var command = Command("SELECT count(*) FROM messages");
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>Deletes messages received before <paramref name="receivedBefore"/>, and all but the newest
    /// <paramref name="keepLatest"/>. Returns how many were deleted. The deleted rows are overwritten in the file
    /// (<c>secure_delete</c>), and the write-ahead log, whose earlier frames still hold them, is checkpointed and
    /// truncated to nothing.</summary>
    public int DeleteMessages(DateTimeOffset? receivedBefore, int? keepLatest)
    {
        var deleted = DeleteMessageRows(receivedBefore, keepLatest);
        if (deleted > 0)
        {
            // This connection is the file's only one (the store's one owner), so nothing can hold the checkpoint back;
            // if something did, the log would still hold the deleted rows: say so rather than report a clean prune.
            using var checkpoint = Command("PRAGMA wal_checkpoint(TRUNCATE)");
            if (checkpoint.ExecuteScalar() is not 0L)
            {
                throw new MessagingClientException($"{deleted} messages were deleted, but the local database's write-ahead log could not be truncated.");
            }
        }

        return deleted;
    }

    private int DeleteMessageRows(DateTimeOffset? receivedBefore, int? keepLatest)
    {
        using var transaction = _connection.BeginTransaction();
        var deleted = 0;
        if (receivedBefore is { } before)
        {
            using var command = Command("DELETE FROM messages WHERE received_at < $t", transaction);
            command.Parameters.AddWithValue("$t", before.ToUnixTimeMilliseconds());
            deleted += command.ExecuteNonQuery();
        }

        if (keepLatest is { } keep)
        {
            using var command = Command("DELETE FROM messages WHERE rowid NOT IN (SELECT rowid FROM messages ORDER BY sequence DESC LIMIT $n)", transaction);
            command.Parameters.AddWithValue("$n", keep);
            deleted += command.ExecuteNonQuery();
        }

        transaction.Commit();
        return deleted;
    }

    public Batch Begin() => new(this);

    public void Dispose()
    {
        _connection.Dispose();
    }

    private byte[] SeenLookup(uint signedPreKeyId, ReadOnlySpan<byte> ephemeralKey)
    {
        Span<byte> value = stackalloc byte[4 + ephemeralKey.Length];
        BinaryPrimitives.WriteUInt32BigEndian(value, signedPreKeyId);
        ephemeralKey.CopyTo(value[4..]);
        return _sealer.Lookup(SeenTable, value);
    }

    private List<T> LoadRows<T>(string table, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
    {
        using var command = Command($"SELECT lookup, sealed FROM {table}");
        using var reader = command.ExecuteReader();
        var rows = new List<T>();
        while (reader.Read())
        {
            rows.Add(JsonSerializer.Deserialize(_sealer.Open(table, (byte[])reader[0], (byte[])reader[1]), type)
                ?? throw new LocalStoreCorruptedException($"An empty row in table {table}."));
        }

        return rows;
    }

    private SqliteCommand Command(string sql, SqliteTransaction? transaction = null)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return command;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    internal static byte[] EncodeMessage(InboxMessage message)
    {
        var row = new byte[1 + 8 + 64 + 1 + 8 + message.Body.Length];
        var span = row.AsSpan();
        span[0] = MessageFormat;
        BinaryPrimitives.WriteInt64BigEndian(span[1..], message.Sequence);
        message.EnvelopeId.TryWriteBytes(span[9..]);
        message.ConversationId.TryWriteBytes(span[25..]);
        message.SenderMemberId.TryWriteBytes(span[41..]);
        message.SenderDeviceId.TryWriteBytes(span[57..]);
        span[73] = (byte)message.Kind;
        BinaryPrimitives.WriteInt64BigEndian(span[74..], message.SentAt.ToUnixTimeMilliseconds());
        message.Body.CopyTo(span[82..]);
        return row;
    }

    internal static InboxMessage DecodeMessage(byte[] row)
    {
        if (row.Length < 82 || row[0] != MessageFormat)
        {
            throw new LocalStoreCorruptedException("A message row has an unknown format.");
        }

        var span = row.AsSpan();
        return new InboxMessage(
            BinaryPrimitives.ReadInt64BigEndian(span[1..]),
            new Guid(span.Slice(9, 16)),
            new Guid(span.Slice(25, 16)),
            new Guid(span.Slice(41, 16)),
            new Guid(span.Slice(57, 16)),
            (EnvelopeKind)span[73],
            span[82..].ToArray(),
            DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64BigEndian(span[74..])));
    }

    /// <summary>The writes of one step, committed together (or not at all).</summary>
    internal sealed class Batch : IDisposable
    {
        private readonly LocalDatabase _db;
        private readonly SqliteTransaction _transaction;
        private SqliteCommand? _insertMessage;

        public Batch(LocalDatabase db)
        {
            _db = db;
            _transaction = db._connection.BeginTransaction();
        }

        public void PutSessions(Guid deviceId, List<StoredSession> sessions)
        {
            if (sessions.Count == 0)
            {
                Delete(SessionsTable, _db._sealer.Lookup(SessionsTable, deviceId));
                return;
            }

            Put(SessionsTable, _db._sealer.Lookup(SessionsTable, deviceId), JsonSerializer.SerializeToUtf8Bytes(new SessionsRow(deviceId, sessions), LocalRowsJson.Default.SessionsRow));
        }

        public void PutPinned(Guid deviceId, byte[] identityKey)
            => Put(PinnedTable, _db._sealer.Lookup(PinnedTable, deviceId), JsonSerializer.SerializeToUtf8Bytes(new PinnedRow(deviceId, identityKey), LocalRowsJson.Default.PinnedRow));

        public void PutKeyLog(Guid deviceId, KeyLogDevice device)
            => Put(KeyLogTable, _db._sealer.Lookup(KeyLogTable, deviceId), JsonSerializer.SerializeToUtf8Bytes(new KeyLogRow(deviceId, device), LocalRowsJson.Default.KeyLogRow));

        public void PutKeyLogHead(long nextIndex, byte[] head)
            => Put(MetaTable, _db._sealer.Lookup(MetaTable, "keylog.head"u8), JsonSerializer.SerializeToUtf8Bytes(new KeyLogHeadRow(nextIndex, head), LocalRowsJson.Default.KeyLogHeadRow));

        public void PutReadMark(Guid conversationId, long upToSequence)
            => Put(ReadMarksTable, _db._sealer.Lookup(ReadMarksTable, conversationId),
                JsonSerializer.SerializeToUtf8Bytes(new ReadMarkRow(conversationId, upToSequence), LocalRowsJson.Default.ReadMarkRow));

        public void PutMembershipHead(Guid conversationId, long nextIndex, byte[] head)
            => Put(MembershipTable, _db._sealer.Lookup(MembershipTable, conversationId),
                JsonSerializer.SerializeToUtf8Bytes(new MembershipHeadRow(conversationId, nextIndex, head), LocalRowsJson.Default.MembershipHeadRow));

        public void RememberPreKeyMessage(uint signedPreKeyId, byte[] ephemeralKey)
        {
            using var command = _db.Command("INSERT OR IGNORE INTO prekey_seen (lookup, signed_prekey_id) VALUES ($l, $id)", _transaction);
            command.Parameters.AddWithValue("$l", _db.SeenLookup(signedPreKeyId, ephemeralKey));
            command.Parameters.AddWithValue("$id", (long)signedPreKeyId);
            command.ExecuteNonQuery();
        }

        /// <summary>Stores a received message once (a duplicate by sender device and envelope id is ignored).</summary>
        public void AddMessage(InboxMessage message, DateTimeOffset receivedAt)
        {
            if (_insertMessage is null)
            {
                _insertMessage = _db.Command("""
                    INSERT OR IGNORE INTO messages (lookup, conversation, kind, sequence, received_at, sealed)
                    VALUES ($l, $c, $k, $s, $r, $v)
                    """, _transaction);
                foreach (var name in new[] { "$l", "$c", "$k", "$s", "$r", "$v" })
                {
                    _insertMessage.Parameters.Add(new SqliteParameter(name, null));
                }
            }

            var lookup = _db._sealer.Lookup(MessagesTable, message.SenderDeviceId, message.EnvelopeId);
            var p = _insertMessage.Parameters;
            p[0].Value = lookup;
            p[1].Value = _db._sealer.Lookup(ConversationLookup, message.ConversationId);
            p[2].Value = _db._sealer.Lookup(KindLookup, [(byte)message.Kind]);
            p[3].Value = message.Sequence;
            p[4].Value = receivedAt.ToUnixTimeMilliseconds();
            p[5].Value = _db._sealer.Seal(MessagesTable, lookup, EncodeMessage(message));
            _insertMessage.ExecuteNonQuery();
        }

        public void Commit() => _transaction.Commit();

        public void Dispose()
        {
            _insertMessage?.Dispose();
            _transaction.Dispose();
        }

        private void Put(string table, byte[] lookup, byte[] plaintext)
        {
            using var command = _db.Command($"INSERT OR REPLACE INTO {table} (lookup, sealed) VALUES ($l, $v)", _transaction);
            command.Parameters.AddWithValue("$l", lookup);
            command.Parameters.AddWithValue("$v", _db._sealer.Seal(table, lookup, plaintext));
            command.ExecuteNonQuery();
        }

        private void Delete(string table, byte[] lookup)
        {
            using var command = _db.Command($"DELETE FROM {table} WHERE lookup = $l", _transaction);
            command.Parameters.AddWithValue("$l", lookup);
            command.ExecuteNonQuery();
        }
    }
}

internal sealed record SessionsRow(Guid DeviceId, List<StoredSession> Sessions);

internal sealed record PinnedRow(Guid DeviceId, byte[] IdentityKey);

internal sealed record KeyLogRow(Guid DeviceId, KeyLogDevice Device);

internal sealed record KeyLogHeadRow(long NextIndex, byte[] Head);

internal sealed record ReadMarkRow(Guid ConversationId, long UpToSequence);

/// <summary>How many statements of a conversation's membership log this device verified, and the last one's hash.</summary>
internal sealed record MembershipHeadRow(Guid ConversationId, long NextIndex, byte[] Head);

/// <summary>The sealed rows' metadata. Metadata mode only, like <see cref="DeviceKeysJson"/>: the fast path would write a
/// key-log device's absent certificate as <c>""</c> and read it back as an empty array.</summary>
[JsonSourceGenerationOptions(GenerationMode = JsonSourceGenerationMode.Metadata)]
[JsonSerializable(typeof(SessionsRow))]
[JsonSerializable(typeof(PinnedRow))]
[JsonSerializable(typeof(KeyLogRow))]
[JsonSerializable(typeof(KeyLogHeadRow))]
[JsonSerializable(typeof(ReadMarkRow))]
[JsonSerializable(typeof(MembershipHeadRow))]
internal sealed partial class LocalRowsJson : JsonSerializerContext;
