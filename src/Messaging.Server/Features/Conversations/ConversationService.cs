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
