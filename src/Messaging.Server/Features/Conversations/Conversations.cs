using System.ComponentModel.DataAnnotations;
using Messaging.Contracts;
using Messaging.Server.Errors;
using Messaging.Server.Features.Audit;
using Messaging.Server.Features.Authentication;
using Messaging.Server.Features.Envelopes;
using Messaging.Server.Features.Members;
using Messaging.Server.Features.RateLimiting;
using Messaging.Server.Persistence;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Features.Conversations;

/// <summary>Conversation limits (section <c>Messaging:Conversations</c>).</summary>
public sealed class ConversationsOptions
{
    public const string Section = "Messaging:Conversations";

    /// <summary>Most members in one conversation, the creator included.</summary>
    [Range(2, 1000)]
    public int MaxMembers { get; set; } = 32;
}

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

    public static Task<ConversationRecord?> GetAsync(DbSession session, Guid id) => session.QuerySingleOrDefaultAsync(
        "SELECT id, collective, created_by_member_id, created_at FROM conversations WHERE id = @id;",
        r => new ConversationRecord(r.GetGuidValue(0), r.GetInt64(1) != 0, r.GetGuidValue(2), r.GetInstant(3)), ("@id", id));

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
    {
        var rows = await session.QueryAsync(
            """
            SELECT cm.member_id, m.role, d.id
            FROM conversation_members cm
            JOIN members m ON m.id = cm.member_id
            LEFT JOIN devices d ON d.member_id = cm.member_id AND d.status = 'active'
            WHERE cm.conversation_id = @c
            ORDER BY cm.member_id, d.created_at, d.id;
            """,
            r => (Member: r.GetGuidValue(0), Role: r.GetString(1), Device: r.GetNullableGuid(2)), ("@c", conversationId));
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

/// <summary>
/// One-to-one and small group conversations, across organisations. Any member may add members; a member may remove
/// themselves, and only the creator may remove others. A collective conversation (inter-service meeting, protocol 7.D)
/// refuses case-bound kinds; only workers and organisation admins create one.
/// </summary>
internal sealed class ConversationService(
    IDatabase database,
    AuditLog audit,
    IRateLimiter rateLimiter,
    TimeProvider time,
    IOptions<ConversationsOptions> options)
{
    public async Task<ConversationSummary> CreateAsync(CallerDevice caller, CreateConversationRequest request, CancellationToken cancellationToken = default)
    {
        if (request?.MemberIds is null || request.MemberIds.Any(id => id == Guid.Empty))
        {
            throw new MalformedRequestException("Member ids are required.");
        }

        var members = request.MemberIds.Where(id => id != caller.MemberId).Distinct().ToList();
        if (members.Count == 0)
        {
            throw new MalformedRequestException("A conversation needs at least one other member.");
        }

        if (members.Count + 1 > options.Value.MaxMembers)
        {
            throw new ConflictException(ErrorCodes.ConversationFull, $"A conversation has at most {options.Value.MaxMembers} members.");
        }

        if (request.Collective && !EnvelopePolicy.MayCreateCollective(caller.Role))
        {
            throw new ForbiddenException("Your role does not allow creating collective conversations.");
        }

        rateLimiter.Acquire(RateLimitPolicy.ConversationChange, caller.DeviceId);
        var conversation = new ConversationRecord(Guid.NewGuid(), request.Collective, caller.MemberId, DbValues.ToStoragePrecision(time.GetUtcNow()));
        List<Guid> all = [caller.MemberId, .. members];
        await database.WriteAsync(async s =>
        {
            foreach (var member in members)
            {
                _ = await MemberRepository.GetAsync(s, member) ?? throw new NotFoundException(ErrorCodes.MemberNotFound, "No such member.");
            }

            await ConversationRepository.InsertAsync(s, conversation, all);
            await audit.AppendAsync(s, new AuditEvent(AuditEventTypes.ConversationCreated, caller.MemberId, caller.DeviceId,
                [AuditSubject.Conversation(conversation.Id), .. all.Select(AuditSubject.Member)], conversation.Collective ? "collective" : null));
            return true;
        }, cancellationToken);
        return new ConversationSummary(conversation.Id, conversation.Collective, conversation.CreatedBy, conversation.CreatedAt, all);
    }

    public async Task<ConversationSummary> AddMemberAsync(CallerDevice caller, ConversationMemberRequest request, CancellationToken cancellationToken = default)
    {
        RequireIds(request);
        rateLimiter.Acquire(RateLimitPolicy.ConversationChange, caller.DeviceId);
        return await database.WriteAsync(async s =>
        {
            var (conversation, memberIds) = await RequireMembershipAsync(s, caller, request.ConversationId);
            if (memberIds.Contains(request.MemberId))
            {
                return Summary(conversation, memberIds);
            }

            _ = await MemberRepository.GetAsync(s, request.MemberId) ?? throw new NotFoundException(ErrorCodes.MemberNotFound, "No such member.");
            if (memberIds.Count + 1 > options.Value.MaxMembers)
            {
                throw new ConflictException(ErrorCodes.ConversationFull, $"A conversation has at most {options.Value.MaxMembers} members.");
            }

            await ConversationRepository.AddMemberAsync(s, conversation.Id, request.MemberId, DbValues.ToStoragePrecision(time.GetUtcNow()));
            await audit.AppendAsync(s, new AuditEvent(AuditEventTypes.ConversationMemberAdded, caller.MemberId, caller.DeviceId,
                [AuditSubject.Conversation(conversation.Id), AuditSubject.Member(request.MemberId)]));
            memberIds.Add(request.MemberId);
            return Summary(conversation, memberIds);
        }, cancellationToken);
    }

    public async Task<ConversationSummary> RemoveMemberAsync(CallerDevice caller, ConversationMemberRequest request, CancellationToken cancellationToken = default)
    {
        RequireIds(request);
        rateLimiter.Acquire(RateLimitPolicy.ConversationChange, caller.DeviceId);
        return await database.WriteAsync(async s =>
        {
            var (conversation, memberIds) = await RequireMembershipAsync(s, caller, request.ConversationId);
            if (request.MemberId != caller.MemberId && conversation.CreatedBy != caller.MemberId)
            {
                throw new ForbiddenException("Only the conversation's creator removes other members.");
            }

            if (await ConversationRepository.RemoveMemberAsync(s, conversation.Id, request.MemberId) > 0)
            {
                await audit.AppendAsync(s, new AuditEvent(AuditEventTypes.ConversationMemberRemoved, caller.MemberId, caller.DeviceId,
                    [AuditSubject.Conversation(conversation.Id), AuditSubject.Member(request.MemberId)]));
                memberIds.Remove(request.MemberId);
            }

            return Summary(conversation, memberIds);
        }, cancellationToken);
    }

    public Task<IReadOnlyList<ConversationSummary>> ListAsync(CallerDevice caller, CancellationToken cancellationToken = default)
        => database.ReadAsync(async s =>
        {
            var result = new List<ConversationSummary>();
            foreach (var conversation in await ConversationRepository.ListForMemberAsync(s, caller.MemberId))
            {
                result.Add(Summary(conversation, await ConversationRepository.ListMemberIdsAsync(s, conversation.Id)));
            }

            return (IReadOnlyList<ConversationSummary>)result;
        }, cancellationToken);

    public Task<ConversationDevices> GetDevicesAsync(CallerDevice caller, GetConversationDevicesRequest request, CancellationToken cancellationToken = default)
    {
        if (request is null || request.ConversationId == Guid.Empty)
        {
            throw new MalformedRequestException("A conversation id is required.");
        }

        return database.ReadAsync(async s =>
        {
            var participants = await ConversationRepository.ListParticipantsAsync(s, request.ConversationId);
            if (!participants.Any(p => p.MemberId == caller.MemberId))
            {
                throw new NotFoundException(ErrorCodes.ConversationNotFound, "No such conversation.");
            }

            return new ConversationDevices(request.ConversationId,
                [.. participants.SelectMany(p => p.ActiveDeviceIds.Select(d => new DeviceAddress(p.MemberId, d)))]);
        }, cancellationToken);
    }

    private static async Task<(ConversationRecord Conversation, List<Guid> MemberIds)> RequireMembershipAsync(DbSession session, CallerDevice caller, Guid conversationId)
    {
        var conversation = await ConversationRepository.GetAsync(session, conversationId);
        var members = conversation is null ? [] : await ConversationRepository.ListMemberIdsAsync(session, conversationId);
        if (conversation is null || !members.Contains(caller.MemberId))
        {
            throw new NotFoundException(ErrorCodes.ConversationNotFound, "No such conversation.");
        }

        return (conversation, members);
    }

    private static void RequireIds(ConversationMemberRequest? request)
    {
        if (request is null || request.ConversationId == Guid.Empty || request.MemberId == Guid.Empty)
        {
            throw new MalformedRequestException("A conversation id and a member id are required.");
        }
    }

    private static ConversationSummary Summary(ConversationRecord conversation, List<Guid> memberIds)
        => new(conversation.Id, conversation.Collective, conversation.CreatedBy, conversation.CreatedAt, memberIds);
}

internal static class ConversationsFeature
{
    public static IServiceCollection AddConversations(this IServiceCollection services)
    {
        services.AddOptions<ConversationsOptions>().BindConfiguration(ConversationsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<ConversationService>();
        return services;
    }
}
