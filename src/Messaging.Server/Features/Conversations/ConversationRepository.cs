using Messaging.Server.Persistence;

namespace Messaging.Server.Features.Conversations;

internal sealed record ConversationRecord(Guid Id, bool Collective, Guid CreatedBy, DateTimeOffset CreatedAt);

/// <summary>A conversation member with their role and active devices, as the send policy needs them.</summary>
internal sealed record Participant(Guid MemberId, string Role, List<Guid> ActiveDeviceIds);

internal static class ConversationRepository
{
    public static async Task InsertAsync(DbSession session, ConversationRecord conversation, IEnumerable<Guid> memberIds)
    {
        await session.ExecuteAsync(
            "INSERT INTO conversations (id, collective, created_by_member_id, created_at) VALUES (@id, @collective, @by, @at);",
            ("@id", conversation.Id), ("@collective", conversation.Collective), ("@by", conversation.CreatedBy), ("@at", conversation.CreatedAt));
        foreach (var member in memberIds)
        {
            await AddMemberAsync(session, conversation.Id, member, conversation.CreatedAt);
        }
    }

    public static Task AddMemberAsync(DbSession session, Guid conversationId, Guid memberId, DateTimeOffset at) => session.ExecuteAsync(
        "INSERT INTO conversation_members (conversation_id, member_id, added_at) VALUES (@c, @m, @at) ON CONFLICT (conversation_id, member_id) DO NOTHING;",
        ("@c", conversationId), ("@m", memberId), ("@at", at));

    public static Task<int> RemoveMemberAsync(DbSession session, Guid conversationId, Guid memberId) => session.ExecuteAsync(
        "DELETE FROM conversation_members WHERE conversation_id = @c AND member_id = @m;", ("@c", conversationId), ("@m", memberId));

    public static async Task<ConversationRecord?> GetAsync(DbSession session, Guid id)
        => (await session.QueryAsync(Get(id))).SingleOrDefault();

    /// <summary>The conversation's row (none when there is no such conversation), to read with other queries.</summary>
    public static DbQuery<ConversationRecord> Get(Guid id) => new(
        "SELECT id, collective, created_by_member_id, created_at FROM conversations WHERE id = @id;",
        r => new ConversationRecord(r.GetGuidValue(0), r.GetInt64(1) != 0, r.GetGuidValue(2), r.GetInstant(3)), ("@id", id));

    /// <summary>The conversation's membership statements in log order (none for a conversation created before
    /// membership was signed).</summary>
    public static Task<List<byte[]>> ListMembershipAsync(DbSession session, Guid conversationId) => session.QueryAsync(
        "SELECT statement FROM conversation_membership WHERE conversation_id = @c ORDER BY idx;", r => r.GetBlob(0), ("@c", conversationId));

    /// <summary>Appends a statement at its index (the primary key refuses a second statement at the same index).</summary>
    public static Task AppendMembershipAsync(DbSession session, Guid conversationId, long index, byte[] statement) => session.ExecuteAsync(
        "INSERT INTO conversation_membership (conversation_id, idx, statement) VALUES (@c, @i, @s);",
        ("@c", conversationId), ("@i", index), ("@s", statement));

    /// <summary>Whether the two members belong to at least one conversation together.</summary>
    public static async Task<bool> ShareAConversationAsync(DbSession session, Guid memberId, Guid otherMemberId)
        => await session.ScalarInt64Async(
            """
            SELECT EXISTS (
                SELECT 1 FROM conversation_members mine
                JOIN conversation_members theirs ON theirs.conversation_id = mine.conversation_id
                WHERE mine.member_id = @member AND theirs.member_id = @other);
            """,
            ("@member", memberId), ("@other", otherMemberId)) > 0;

    public static Task<List<Guid>> ListMemberIdsAsync(DbSession session, Guid conversationId) => session.QueryAsync(
        "SELECT member_id FROM conversation_members WHERE conversation_id = @c ORDER BY added_at, member_id;",
        r => r.GetGuidValue(0), ("@c", conversationId));

    public static Task<List<ConversationRecord>> ListForMemberAsync(DbSession session, Guid memberId) => session.QueryAsync(
        """
        SELECT c.id, c.collective, c.created_by_member_id, c.created_at
        FROM conversations c JOIN conversation_members cm ON cm.conversation_id = c.id
        WHERE cm.member_id = @m ORDER BY c.created_at, c.id;
        """,
        r => new ConversationRecord(r.GetGuidValue(0), r.GetInt64(1) != 0, r.GetGuidValue(2), r.GetInstant(3)), ("@m", memberId));

    /// <summary>Every member with role and active devices, in one query.</summary>
    public static async Task<List<Participant>> ListParticipantsAsync(DbSession session, Guid conversationId)
        => ToParticipants(await session.QueryAsync(Participants(conversationId)));

    /// <summary>The conversation's members with their roles and active devices, one row per device (or one with no
    /// device), in the order <see cref="ToParticipants"/> groups them.</summary>
    public static DbQuery<(Guid Member, string Role, Guid? Device)> Participants(Guid conversationId) => new(
        """
        SELECT cm.member_id, m.role, d.id
        FROM conversation_members cm
        JOIN members m ON m.id = cm.member_id
        LEFT JOIN devices d ON d.member_id = cm.member_id AND d.status = 'active'
        WHERE cm.conversation_id = @c
        ORDER BY cm.member_id, d.created_at, d.id;
        """,
        r => (r.GetGuidValue(0), r.GetString(1), r.GetNullableGuid(2)), ("@c", conversationId));

    public static List<Participant> ToParticipants(List<(Guid Member, string Role, Guid? Device)> rows)
    {
        var participants = new List<Participant>();
        foreach (var row in rows)
        {
            if (participants.Count == 0 || participants[^1].MemberId != row.Member)
            {
                participants.Add(new Participant(row.Member, row.Role, []));
            }

            if (row.Device is { } device)
            {
                participants[^1].ActiveDeviceIds.Add(device);
            }
        }

        return participants;
    }
}
