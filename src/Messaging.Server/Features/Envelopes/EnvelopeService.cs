using Messaging.Contracts;
using Messaging.Server.Errors;
using Messaging.Server.Features.Authentication;
using Messaging.Server.Features.Conversations;
using Messaging.Server.Features.Devices;
using Messaging.Server.Features.RateLimiting;
using Messaging.Server.Features.Telemetry;
using Messaging.Server.Persistence;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Features.Envelopes;

/// <summary>
/// Send, deliver, acknowledge. A send is checked in this order — rate limit, shape and sizes (with the checks of the
/// request alone that gates make for some kinds, <see cref="IEnvelopeGate.ChecksRequestOnly"/>), idempotency, membership,
/// kind policy, the registered <see cref="IEnvelopeGate"/>s in their order (the referral and consent rules among them),
/// recipient set — and every refusal happens before anything is written. On PostgreSQL a send of a kind that no gate
/// reads state for (chat and session control: nearly all the traffic) is decided by the statement that stores it, in one
/// round trip; when that statement stores nothing the checks above run in this order and give the answer. An accepted envelope is committed before the call returns, then pushed to
/// the recipients' live connections; the database stays the source of truth, so devices also receive everything pending
/// when they connect. No audit entry and no other lasting row is written for an envelope: its metadata (sender,
/// conversation, kind, times) lives in <c>envelopes</c> and <c>envelope_recipients</c> only until every recipient device
/// acknowledged it or it expired (DESIGN.md section 2: no lasting record of who wrote to whom).
/// </summary>
internal sealed partial class EnvelopeService(
    IDatabase database,
    IEnumerable<IEnvelopeGate> gates,
    IEnumerable<IEnvelopeAcceptedHook> acceptedHooks,
    IDeviceSignals signals,
    IRateLimiter rateLimiter,
    MessagingMetrics metrics,
    TimeProvider time,
    IOptions<EnvelopesOptions> options,
    ILogger<EnvelopeService> logger)
{
    private readonly IEnvelopeGate[] _gates = InOrder(gates);
    private readonly IEnvelopeAcceptedHook[] _acceptedHooks = [.. acceptedHooks.OrderBy(h => h.GetType().FullName, StringComparer.Ordinal)];
    private readonly KindPlan[] _plans = PlanKinds(InOrder(gates), acceptedHooks);

    public async Task<SendEnvelopeResult> SendAsync(CallerDevice sender, SendEnvelopeRequest request, CancellationToken cancellationToken = default)
    {
        rateLimiter.Acquire(RateLimitPolicy.Send, sender.DeviceId);
        ValidateShape(request);
        var acknowledge = ValidSequences(request.Acknowledge ?? []);

        var now = DbValues.ToStoragePrecision(time.GetUtcNow());
        var expiresAt = now + options.Value.Retention;
        // A repeated envelope id is answered with the first acceptance (and the acknowledgement it carries still applies).
        // Its copies still waiting are pushed again: the instance that accepted it first may have died, or lost Redis,
        // between its commit and its pushes, and a recipient connected all along would otherwise wait for its next
        // connection. Clients drop repeats by envelope id.
        async Task<(SendEnvelopeResult Result, EnvelopeDelivery? Delivery, List<Func<Task>>? AfterCommit, List<(Guid DeviceId, EnvelopeDelivery Delivery)>? Again)> RepeatAsync(
            DbSession s, StoredAcceptance earlier)
            => (SendEnvelopeResult.Accepted(earlier.Sequence, earlier.CreatedAt, earlier.ExpiresAt,
                await EnvelopeRepository.AcknowledgeAsync(s, sender.DeviceId, acknowledge)), null, null,
                await EnvelopeRepository.ListWaitingCopiesAsync(s, earlier.Sequence));

        // An accepted send's answer and delivery, whichever way it was decided.
        (SendEnvelopeResult Result, EnvelopeDelivery? Delivery, List<Func<Task>>? AfterCommit, List<(Guid DeviceId, EnvelopeDelivery Delivery)>? Again) Accepted(
            long sequence, int acknowledged, List<Func<Task>>? afterCommit)
            => (SendEnvelopeResult.Accepted(sequence, now, expiresAt, acknowledged), new EnvelopeDelivery(sequence, request.EnvelopeId,
                request.ConversationId, sender.MemberId, sender.DeviceId, request.Kind, [], now, expiresAt), afterCommit, null);

        // A kind no gate reads state for is decided, on PostgreSQL, by the statement that stores it (one round trip, which
        // commits); when that statement stores nothing, the unit runs again the full way below, which finds out why.
        var plan = _plans[(int)request.Kind];
        var envelope = new NewEnvelope(sender.DeviceId, sender.MemberId, request.EnvelopeId, request.ConversationId, request.Kind, now,
            expiresAt, request.Recipients);
        var storeDecides = StoreDecides(plan, sender, request);
        var carried = 0;
        var outcome = await database.WriteAsync(async s =>
        {
            if (storeDecides is { } rule && s.LocksRows)
            {
                storeDecides = null;
                var (decided, decidedAcknowledged) = await EnvelopeRepository.StoreIfAllowedAsync(s, envelope, request.Unreachable ?? [],
                    rule.Receivers, rule.CollectiveAllowed, acknowledge);
                if (decided is not { } decidedSequence)
                {
                    carried = decidedAcknowledged;
                    throw new DbRunAgainException();
                }

                return Accepted(decidedSequence, decidedAcknowledged, null);
            }

            // The per-call device check, a repeat, the conversation and its members, read together (one round trip on
            // PostgreSQL). The hub leaves the check to this unit (ChecksCallerInUnitAttribute).
            var (active, repeats, conversations, members) = await s.QueryAsync(DeviceRepository.Active(sender.DeviceId),
                EnvelopeRepository.Find(sender.DeviceId, request.EnvelopeId), ConversationRepository.Get(request.ConversationId),
                ConversationRepository.Participants(request.ConversationId));
            DeviceRepository.EnsureCallerActive(active);
            if (repeats.SingleOrDefault() is { } earlier)
            {
                return await RepeatAsync(s, earlier);
            }

            var conversation = conversations.SingleOrDefault();
            var participants = ConversationRepository.ToParticipants(members);
            if (conversation is null || !participants.Any(p => p.MemberId == sender.MemberId))
            {
                throw new NotFoundException(ErrorCodes.ConversationNotFound, "No such conversation.");
            }

            ApplyKindPolicy(sender, request.Kind, conversation.Collective, participants);
            var context = new EnvelopeGateContext(sender, request, conversation.Collective, participants, now);
            await RunGatesAsync(s, context);

            var mismatch = CompareRecipients(sender.DeviceId, participants, request.Recipients, request.Unreachable ?? []);
            if (mismatch is not null)
            {
                return (Result: mismatch, Delivery: null, AfterCommit: null, Again: null);
            }

            // With no hook to run after it, the store is the unit's last step and commits it (on PostgreSQL in the same
            // round trip).
            var (stored, acknowledged) = await EnvelopeRepository.StoreAsync(s, envelope, acknowledge, commit: !plan.Hooked);
            if (stored is not { } sequence)
            {
                // A retry of this very send committed beside it: answer as for any repeat, from a new run of this unit
                // when this one has already committed (its first reads then find the repeat).
                return s.Committed ? throw new DbRunAgainException() : await RepeatAsync(s, await EnvelopeRepository.FindAsync(s, sender.DeviceId, request.EnvelopeId)
                    ?? throw new InvalidOperationException("A conflicting envelope is not visible after its commit."));
            }

            return Accepted(sequence, acknowledged, await RunAcceptedHooksAsync(s, context, sequence));
        }, plan.Isolation, cancellationToken);

        if (carried > 0)
        {
            // A repeat whose acknowledgement the storing statement already applied: the full path found those copies gone.
            outcome.Result = outcome.Result with { Acknowledged = outcome.Result.Acknowledged + carried };
        }

        metrics.CopiesDelivered(outcome.Result.Acknowledged);
        foreach (var work in outcome.AfterCommit ?? [])
        {
            await work();
        }

        if (outcome.Delivery is { } accepted)
        {
            metrics.EnvelopeStored();
            LogAccepted(logger, accepted.Sequence, sender.DeviceId, request.ConversationId, request.Recipients.Count);
            foreach (var recipient in request.Recipients)
            {
                await signals.PushEnvelopeAsync(recipient.DeviceId, accepted with { Ciphertext = recipient.Ciphertext });
            }
        }
        else if (outcome.Again is { Count: > 0 } again)
        {
            LogPushedAgain(logger, again[0].Delivery.Sequence, again.Count);
            foreach (var (deviceId, delivery) in again)
            {
                await signals.PushEnvelopeAsync(deviceId, delivery);
            }
        }
        else if (outcome.Result.Outcome == SendOutcome.DeviceMismatch)
        {
            LogMismatch(logger, sender.DeviceId, request.ConversationId, outcome.Result.MissingDevices.Count, outcome.Result.StaleDeviceIds.Count);
        }

        return outcome.Result;
    }

    public async Task<AcknowledgeResult> AcknowledgeAsync(CallerDevice device, AcknowledgeRequest request, CancellationToken cancellationToken = default)
    {
        var sequences = ValidSequences(request?.Sequences);
        var count = await database.WriteAsync(s => EnvelopeRepository.AcknowledgeOwnAsync(s, device.DeviceId, sequences), WriteIsolation.ReadCommitted, cancellationToken);
        metrics.CopiesDelivered(count);
        return new AcknowledgeResult(count);
    }

    /// <summary>
    /// What the gates and hooks make of a kind, worked out once per kind (their answers depend on the kind alone):
    /// <list type="bullet">
    /// <item><see cref="KindPlan.Hooked"/>: a hook completes an accepted envelope of the kind in the send's unit of work.</item>
    /// <item><see cref="KindPlan.Isolation"/>: a send that a gate checks or a hook completes decides on case state (a
    /// referral's status, a consent, a mandate) that other units change, and runs serializable. Any other send — chat and
    /// session control, nearly all the traffic — checks only the conversation's membership and devices, and runs at
    /// <see cref="WriteIsolation.ReadCommitted"/>: its outcome is that of the send committed just before whatever change it
    /// raced (a member leaving, a device enrolled or revoked a moment later), its idempotency rests on the unique
    /// constraint, and a copy it leaves for a device revoked meanwhile is swept
    /// (<see cref="EnvelopeRepository.PurgeStrandedAsync"/>).</item>
    /// <item><see cref="KindPlan.RequestChecks"/>: null when the storing statement cannot decide the kind (a hook, or a
    /// gate that reads more than the request); otherwise the gates whose checks of the request alone run first.</item>
    /// </list>
    /// </summary>
    private sealed record KindPlan(bool Hooked, WriteIsolation Isolation, IEnvelopeGate[]? RequestChecks);

    private static KindPlan[] PlanKinds(IEnvelopeGate[] gates, IEnumerable<IEnvelopeAcceptedHook> acceptedHooks)
        => [.. Enumerable.Range(0, StoreRules.Length).Select(i =>
        {
            var kind = (EnvelopeKind)i;
            var hooked = acceptedHooks.Any(h => h.Applies(kind));
            var applying = gates.Where(g => g.Applies(kind)).ToArray();
            return new KindPlan(hooked,
                hooked || gates.Any(g => g.ReadsState(kind)) ? WriteIsolation.Serializable : WriteIsolation.ReadCommitted,
                hooked || applying.Any(g => !g.ChecksRequestOnly(kind)) ? null : applying);
        })];

    /// <summary>The gates in the order they check a send.</summary>
    private static IEnvelopeGate[] InOrder(IEnumerable<IEnvelopeGate> gates)
        => [.. gates.OrderBy(g => g.Order).ThenBy(g => g.GetType().FullName, StringComparer.Ordinal)];

    /// <summary>
    /// What the storing statement checks in place of the full path's reads (<see cref="EnvelopeRepository.StoreIfAllowedAsync"/>),
    /// for a send whose kind no gate reads state for and no hook completes, after the request-only checks of the gates that
    /// apply to it; null when the full path must run (a gate or hook, or a sender whose role may not send the kind, which
    /// the full path refuses with its reason).
    /// </summary>
    private static StoreRule? StoreDecides(KindPlan plan, CallerDevice sender, SendEnvelopeRequest request)
    {
        if (plan.RequestChecks is not { } checks || !EnvelopePolicy.MaySend(sender.Role, request.Kind))
        {
            return null;
        }

        foreach (var gate in checks)
        {
            gate.CheckRequest(request);
        }

        return StoreRules[(int)request.Kind];
    }

    /// <summary>The kind policy as the storing statement applies it: the roles that may receive the kind, and whether a
    /// collective conversation takes it.</summary>
    private sealed record StoreRule(string[] Receivers, bool CollectiveAllowed);

    private static readonly StoreRule[] StoreRules = [.. Enumerable.Range(0, Enum.GetValues<EnvelopeKind>().Max(k => (int)k) + 1).Select(i =>
        new StoreRule([.. Roles.All.Where(r => EnvelopePolicy.MayReceive(r, (EnvelopeKind)i))], EnvelopePolicy.AllowedInCollective((EnvelopeKind)i)))];

    /// <summary>The sequences of an acknowledgement (its own call, or carried by a send), without repeats.</summary>
    private List<long> ValidSequences(IReadOnlyList<long>? sequences)
    {
        if (sequences is null || sequences.Count > options.Value.MaxBatch || sequences.Any(s => s <= 0))
        {
            throw new MalformedRequestException($"Between 0 and {options.Value.MaxBatch} positive sequence numbers are accepted.");
        }

        return sequences.Distinct().ToList();
    }

    public async Task<PendingEnvelopes> FetchPendingAsync(CallerDevice device, FetchPendingRequest request, CancellationToken cancellationToken = default)
    {
        if (request is null || request.AfterSequence < 0 || request.Limit < 1 || request.Limit > options.Value.MaxBatch)
        {
            throw new MalformedRequestException($"AfterSequence must be ≥ 0 and Limit between 1 and {options.Value.MaxBatch}.");
        }

        var page = await database.ReadAsync(s => EnvelopeRepository.ListPendingAsync(s, device.DeviceId, request.AfterSequence, request.Limit + 1), cancellationToken);
        var hasMore = page.Count > request.Limit;
        return new PendingEnvelopes(hasMore ? page.GetRange(0, request.Limit) : page, hasMore);
    }

    /// <summary>Pushes every pending envelope of a device, in sequence order, through <paramref name="push"/>.</summary>
    public async Task PushPendingAsync(Guid deviceId, Func<EnvelopeDelivery, Task> push, CancellationToken cancellationToken = default)
    {
        long after = 0;
        while (true)
        {
            var page = await database.ReadAsync(s => EnvelopeRepository.ListPendingAsync(s, deviceId, after, options.Value.MaxBatch), cancellationToken);
            foreach (var envelope in page)
            {
                await push(envelope);
                after = envelope.Sequence;
            }

            if (page.Count < options.Value.MaxBatch)
            {
                return;
            }
        }
    }

    private void ValidateShape(SendEnvelopeRequest? request)
    {
        if (request is null || request.EnvelopeId == Guid.Empty || request.ConversationId == Guid.Empty)
        {
            throw new MalformedRequestException("An envelope id and a conversation id are required.");
        }

        if (!EnvelopeKinds.IsDefined(request.Kind))
        {
            throw new MalformedRequestException("Unknown envelope kind.", ErrorCodes.UnknownKind);
        }

        var settings = options.Value;
        if (request.Recipients is null || request.Recipients.Count == 0)
        {
            throw new MalformedRequestException($"An envelope has between 1 and {settings.MaxRecipients} recipients.");
        }

        if (request.Recipients.Count > settings.MaxRecipients)
        {
            // A size limit like the byte limits: the sender can do something about it (a smaller conversation).
            throw new PayloadTooLargeException($"An envelope has at most {settings.MaxRecipients} recipients.");
        }

        if (request.Unreachable is { } unreachable && (unreachable.Count > settings.MaxRecipients || unreachable.Any(d => d == Guid.Empty)))
        {
            throw new MalformedRequestException($"An envelope names at most {settings.MaxRecipients} unreachable devices, each a device id.");
        }

        var seen = new HashSet<Guid>();
        long total = 0;
        foreach (var recipient in request.Recipients)
        {
            if (recipient is null || recipient.DeviceId == Guid.Empty || recipient.Ciphertext is null)
            {
                throw new MalformedRequestException("Every recipient needs a device id and a ciphertext.");
            }

            if (!seen.Add(recipient.DeviceId))
            {
                throw new MalformedRequestException("A recipient device appears twice.");
            }

            if (recipient.Ciphertext.Length > settings.MaxCiphertextBytes)
            {
                throw new PayloadTooLargeException($"A ciphertext is at most {settings.MaxCiphertextBytes} bytes.");
            }

            if (!CiphertextFormat.HasKnownVersion(recipient.Ciphertext))
            {
                throw new MalformedRequestException("A ciphertext does not start with a known version tag.", ErrorCodes.UnknownCiphertextVersion);
            }

            total += recipient.Ciphertext.Length;
        }

        if (total > settings.MaxEnvelopeBytes)
        {
            throw new PayloadTooLargeException($"An envelope is at most {settings.MaxEnvelopeBytes} bytes of ciphertext.");
        }
    }

    private async Task RunGatesAsync(DbSession session, EnvelopeGateContext context)
    {
        foreach (var gate in _gates)
        {
            if (gate.Applies(context.Request.Kind))
            {
                await gate.CheckAsync(session, context);
            }
        }
    }

    private async Task<List<Func<Task>>> RunAcceptedHooksAsync(DbSession session, EnvelopeGateContext context, long sequence)
    {
        var afterCommit = new List<Func<Task>>();
        foreach (var hook in _acceptedHooks)
        {
            if (hook.Applies(context.Request.Kind) && await hook.OnAcceptedAsync(session, context, sequence) is { } work)
            {
                afterCommit.Add(work);
            }
        }

        return afterCommit;
    }

    private static void ApplyKindPolicy(CallerDevice sender, EnvelopeKind kind, bool collective, List<Participant> participants)
    {
        if (!EnvelopePolicy.MaySend(sender.Role, kind))
        {
            throw new ForbiddenException($"Your role does not send {EnvelopeKinds.Name(kind)} envelopes.", ErrorCodes.KindRefused);
        }

        if (collective && !EnvelopePolicy.AllowedInCollective(kind))
        {
            throw new ForbiddenException($"A collective conversation refuses {EnvelopeKinds.Name(kind)} envelopes.", ErrorCodes.KindRefused);
        }

        if (participants.Any(p => !EnvelopePolicy.MayReceive(p.Role, kind)))
        {
            throw new ForbiddenException($"A member of this conversation may not receive {EnvelopeKinds.Name(kind)} envelopes.", ErrorCodes.KindRefused);
        }
    }

    /// <summary>The recipient set must be exactly the active devices of every member, minus the sending device.
    /// Devices the sender declares unreachable (unusable prekey bundle) count as addressed.</summary>
    private static SendEnvelopeResult? CompareRecipients(Guid senderDeviceId, List<Participant> participants, IReadOnlyList<RecipientCiphertext> recipients, IReadOnlyList<Guid> unreachable)
    {
        // Nearly every send addresses exactly the expected devices: settle that with two sets and plain loops (this runs
        // on SQLite's single writer, once per send); only a mismatch builds the lists it reports.
        var expectedIds = new HashSet<Guid>();
        foreach (var participant in participants)
        {
            foreach (var deviceId in participant.ActiveDeviceIds)
            {
                if (deviceId != senderDeviceId)
                {
                    expectedIds.Add(deviceId);
                }
            }
        }

        var provided = new HashSet<Guid>();
        for (var i = 0; i < recipients.Count; i++)
        {
            provided.Add(recipients[i].DeviceId);
        }

        for (var i = 0; i < unreachable.Count; i++)
        {
            provided.Add(unreachable[i]);
        }

        return provided.SetEquals(expectedIds) ? null : Mismatch(senderDeviceId, participants, recipients, unreachable, provided, expectedIds);
    }

    private static SendEnvelopeResult Mismatch(Guid senderDeviceId, List<Participant> participants, IReadOnlyList<RecipientCiphertext> recipients,
        IReadOnlyList<Guid> unreachable, HashSet<Guid> provided, HashSet<Guid> expectedIds)
    {
        var expected = participants
            .SelectMany(p => p.ActiveDeviceIds.Select(d => new DeviceAddress(p.MemberId, d)))
            .Where(a => a.DeviceId != senderDeviceId)
            .ToList();
        var missing = expected.Where(a => !provided.Contains(a.DeviceId)).ToList();
        var stale = recipients.Select(r => r.DeviceId).Concat(unreachable).Where(d => !expectedIds.Contains(d)).Distinct().ToList();
        return SendEnvelopeResult.Mismatch(missing, stale);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Envelope {Sequence} accepted from device {DeviceId} in conversation {ConversationId} for {RecipientCount} devices")]
    private static partial void LogAccepted(ILogger logger, long sequence, Guid deviceId, Guid conversationId, int recipientCount);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Envelope {Sequence} sent again: its {Copies} copies still waiting pushed again")]
    private static partial void LogPushedAgain(ILogger logger, long sequence, int copies);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Envelope from device {DeviceId} in conversation {ConversationId}: device mismatch ({Missing} missing, {Stale} stale)")]
    private static partial void LogMismatch(ILogger logger, Guid deviceId, Guid conversationId, int missing, int stale);
}
