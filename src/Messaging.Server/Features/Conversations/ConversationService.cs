using Messaging.Contracts;
using Messaging.Crypto.CrossSigning;
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
/// <para>Membership is signed (docs/crypto.md §12): a conversation created with a statement keeps a log of them, and every
/// later change of it carries the next statement, checked here against the log and the caller's current member key
/// (<see cref="MembershipRules"/>). Clients verify the log themselves and encrypt only to the members it justifies; these
/// checks are defence in depth. A conversation without a log (created before, or by a caller without statements) changes
/// without statements until one of its members snapshots it.</para>
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

        List<Guid> all = [caller.MemberId, .. members];
        var statement = MembershipRules.ParseOptional(request.Statement);
        if (statement is not null && (statement.Operation != MembershipOperation.Create || !MembershipRules.SameMembers(statement.Members, all)
            || statement.Collective != request.Collective))
        {
            throw MembershipRules.Invalid("The statement is not the creation of this conversation (its members and collective flag).");
        }

        rateLimiter.Acquire(RateLimitPolicy.ConversationChange, caller.DeviceId);
        var conversation = new ConversationRecord(statement?.ConversationId ?? Guid.NewGuid(), request.Collective, caller.MemberId, DbValues.ToStoragePrecision(time.GetUtcNow()));
        return await database.WriteAsync(async s =>
        {
            if (statement is not null)
            {
                if (await ConversationRepository.GetAsync(s, conversation.Id) is { } existing)
                {
                    // The same creation sent again (its answer was lost) returns the conversation; anything else is refused.
                    var log = await ConversationRepository.ListMembershipAsync(s, existing.Id);
                    return log.Count > 0 && log[0].AsSpan().SequenceEqual(request.Statement) && existing.CreatedBy == caller.MemberId
                        ? Summary(existing, await ConversationRepository.ListMemberIdsAsync(s, existing.Id))
                        : throw MembershipRules.Invalid("A conversation with this id exists already.");
                }

                await MembershipRules.RequireSignedByCallerAsync(s, caller, MembershipLog.Empty(conversation.Id), statement);
            }

            foreach (var member in members)
            {
                _ = await MemberRepository.GetAsync(s, member) ?? throw new NotFoundException(ErrorCodes.MemberNotFound, "No such member.");
            }

            await ConversationRepository.InsertAsync(s, conversation, all);
            if (statement is not null)
            {
                await ConversationRepository.AppendMembershipAsync(s, conversation.Id, 0, request.Statement!);
            }

            await audit.AppendAsync(s, new AuditEvent(AuditEventTypes.ConversationCreated, caller.MemberId, caller.DeviceId,
                [AuditSubject.Conversation(conversation.Id), .. all.Select(AuditSubject.Member)], conversation.Collective ? "collective" : null));
            return Summary(conversation, all);
        }, cancellationToken);
    }

    public async Task<ConversationSummary> AddMemberAsync(CallerDevice caller, ConversationMemberRequest request, CancellationToken cancellationToken = default)
    {
        RequireIds(request);
        var statement = MembershipRules.ParseOptional(request.Statement);
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

            await RequireChangeStatementAsync(s, caller, conversation.Id, statement, request, MembershipOperation.Add);
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
        var statement = MembershipRules.ParseOptional(request.Statement);
        rateLimiter.Acquire(RateLimitPolicy.ConversationChange, caller.DeviceId);
        return await database.WriteAsync(async s =>
        {
            var (conversation, memberIds) = await RequireMembershipAsync(s, caller, request.ConversationId);
            if (request.MemberId != caller.MemberId && conversation.CreatedBy != caller.MemberId)
            {
                throw new ForbiddenException("Only the conversation's creator removes other members.");
            }

            if (!memberIds.Contains(request.MemberId))
            {
                return Summary(conversation, memberIds);
            }

            await RequireChangeStatementAsync(s, caller, conversation.Id, statement, request, MembershipOperation.Remove);
            await ConversationRepository.RemoveMemberAsync(s, conversation.Id, request.MemberId);
            await audit.AppendAsync(s, new AuditEvent(AuditEventTypes.ConversationMemberRemoved, caller.MemberId, caller.DeviceId,
                [AuditSubject.Conversation(conversation.Id), AuditSubject.Member(request.MemberId)]));
            memberIds.Remove(request.MemberId);
            return Summary(conversation, memberIds);
        }, cancellationToken);
    }

    /// <summary>Starts the membership log of a conversation that has none with a snapshot of it as it stands.</summary>
    public async Task<ConversationSummary> SnapshotMembershipAsync(CallerDevice caller, ConversationMembershipSnapshotRequest request, CancellationToken cancellationToken = default)
    {
        if (request is null || request.ConversationId == Guid.Empty || request.Statement is null)
        {
            throw new MalformedRequestException("A conversation id and a statement are required.");
        }

        var statement = MembershipRules.ParseOptional(request.Statement)!;
        if (statement.Operation != MembershipOperation.LegacySnapshot)
        {
            throw MembershipRules.Invalid("The statement is not a snapshot.");
        }

        rateLimiter.Acquire(RateLimitPolicy.ConversationChange, caller.DeviceId);
        return await database.WriteAsync(async s =>
        {
            var (conversation, memberIds) = await RequireMembershipAsync(s, caller, request.ConversationId);
            if ((await ConversationRepository.ListMembershipAsync(s, conversation.Id)).Count > 0)
            {
                throw MembershipRules.Invalid("The conversation has a membership log already.");
            }

            if (!MembershipRules.SameMembers(statement.Members, memberIds) || statement.Creator != conversation.CreatedBy || statement.Collective != conversation.Collective)
            {
                throw MembershipRules.Invalid("The snapshot does not state the conversation's creator, collective flag and members as they stand.");
            }

            await MembershipRules.RequireSignedByCallerAsync(s, caller, MembershipLog.Empty(conversation.Id), statement);
            await ConversationRepository.AppendMembershipAsync(s, conversation.Id, 0, request.Statement);
            await audit.AppendAsync(s, new AuditEvent(AuditEventTypes.ConversationMembershipSnapshot, caller.MemberId, caller.DeviceId,
                [AuditSubject.Conversation(conversation.Id)]));
            return Summary(conversation, memberIds);
        }, cancellationToken);
    }

    /// <summary>A change of a conversation with a log carries its next statement; one without a log takes none.</summary>
    private static async Task RequireChangeStatementAsync(DbSession session, CallerDevice caller, Guid conversationId, MembershipStatement? statement,
        ConversationMemberRequest request, MembershipOperation operation)
    {
        var log = await ConversationRepository.ListMembershipAsync(session, conversationId);
        if (log.Count == 0)
        {
            if (statement is not null)
            {
                throw MembershipRules.Invalid("The conversation has no membership log yet: start it with a snapshot first.");
            }

            return;
        }

        if (statement is null)
        {
            throw new ConflictException(ErrorCodes.ConversationMembershipStatementRequired,
                "The conversation's membership is signed: the change needs the next statement, signed by your member key.");
        }

        if (statement.Operation != operation || statement.Members[0] != request.MemberId)
        {
            throw MembershipRules.Invalid($"The statement is not the {operation} of this member.");
        }

        await MembershipRules.RequireSignedByCallerAsync(session, caller, MembershipRules.Replay(conversationId, log), statement);
        await ConversationRepository.AppendMembershipAsync(session, conversationId, statement.Index, request.Statement!);
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
            if (!participants.Any(p => p.MemberId == caller.MemberId)
                || await ConversationRepository.GetAsync(s, request.ConversationId) is not { } conversation)
            {
                throw new NotFoundException(ErrorCodes.ConversationNotFound, "No such conversation.");
            }

            var membership = new ConversationMembership(await ConversationRepository.ListMembershipAsync(s, conversation.Id),
                [.. participants.Select(p => p.MemberId)], conversation.CreatedBy, conversation.Collective);
            return new ConversationDevices(request.ConversationId,
                [.. participants.SelectMany(p => p.ActiveDeviceIds.Select(d => new DeviceAddress(p.MemberId, d)))], membership);
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
