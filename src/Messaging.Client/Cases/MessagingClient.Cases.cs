using Messaging.Client.Cases;
using Messaging.Client.Storage;
using Messaging.Contracts;
using Messaging.Contracts.Referrals;

namespace Messaging.Client;

/// <summary>A referral this device sent: the server's record, the conversation it travels in, and the envelope.</summary>
/// <param name="Referral">What the server records (case reference, the two services, status, times).</param>
/// <param name="ConversationId">The conversation holding this worker and the receiving service's members.</param>
/// <param name="EnvelopeId">The end-to-end encrypted referral envelope.</param>
public sealed record ReferralSent(ReferralEntry Referral, Guid ConversationId, Guid EnvelopeId);

/// <summary>What this device holds about one case, decrypted (never sent anywhere).</summary>
/// <param name="CaseReference">The case reference.</param>
/// <param name="ConversationId">The conversation the case's envelopes travel in.</param>
/// <param name="Referral">The referral record (sent or received).</param>
/// <param name="Answers">Answers of the receiving service received so far.</param>
/// <param name="Identities">Identity shares received (the accepting service's side).</param>
/// <param name="Notes">Case notes received under a consent.</param>
public sealed record CaseView(Guid ConversationId, string CaseReference, ReferralRecord Referral, IReadOnlyList<ReferralAnswer> Answers,
    IReadOnlyList<PersonIdentity> Identities, IReadOnlyList<CaseNote> Notes)
{
    /// <summary>Never prints the case's content.</summary>
    public override string ToString() => $"CaseView {{ CaseReference = {CaseReference} }}";
}

/// <summary>
/// A follow-up already runs elsewhere (the referral says so): protocol 7.A/7.B allows only a tripartite interview as the
/// next step. Nothing was sent; propose a tripartite interview instead.
/// </summary>
public sealed class FollowUpOngoingException(string caseReference)
    : MessagingClientException($"A follow-up already runs elsewhere for case {caseReference}: only a tripartite interview can be proposed first.");

/// <summary>This device holds no referral under the case reference (it neither sent nor received it).</summary>
public sealed class CaseNotFoundException(string caseReference)
    : MessagingClientException($"This device holds no referral under case {caseReference}.");

public sealed partial class MessagingClient
{
    /// <summary>The services that accept referrals for a person anchored in a commune: local first, then regional, then
    /// community-wide (protocol 7, geographic anchoring).</summary>
    /// <param name="communeNisCode">The commune's five-digit INS/NIS code.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="ServerRefusedException">Unknown commune or malformed code.</exception>
    public Task<OrientationResult> OrientAsync(string communeNisCode, CancellationToken cancellationToken = default)
        => InvokeAsync<OrientationResult>(nameof(IMessagingHub.Orient), new OrientRequest(communeNisCode), cancellationToken);

    /// <summary>Refers a person to another service from the JSON form a worker writes (fields
    /// <see cref="ReferralRecord.DraftFields"/> only).</summary>
    /// <param name="receivingOrganisationId">The service the person is oriented to.</param>
    /// <param name="draftJson">The JSON form.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="CaseRecordException">The form holds a field outside the allow-list or a malformed one; nothing was sent.</exception>
    public Task<ReferralSent> ReferAsync(Guid receivingOrganisationId, ReadOnlyMemory<byte> draftJson, CancellationToken cancellationToken = default)
        => ReferAsync(receivingOrganisationId, ReferralRecord.ParseDraft(draftJson.Span, CaseReference.New()), cancellationToken);

    /// <summary>
    /// Refers a person to another service: validates the closed record (before anything leaves the device), opens the
    /// referral under its fresh pseudonymous case reference, starts a conversation with the receiving service's workers
    /// and admins, and sends the record there end to end encrypted.
    /// <para>Resumable: the operation (case reference, envelope id, record, and the conversation once created) is
    /// recorded in the key store before the first server call. If a step fails, call this method again with the same
    /// record — or simply connect again: <see cref="ConnectAsync"/> completes pending operations — and it finishes with
    /// the same envelope id (the server deduplicates the send, and opening the same referral again returns it).</para>
    /// </summary>
    /// <param name="receivingOrganisationId">The service the person is oriented to.</param>
    /// <param name="record">The record; its case reference must be fresh (<see cref="CaseReference.New"/>).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="CaseRecordException">The record does not fit the schema; nothing was sent.</exception>
    /// <exception cref="ServerRefusedException">The service does not accept referrals, or this member may not refer.</exception>
    public async Task<ReferralSent> ReferAsync(Guid receivingOrganisationId, ReferralRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        var body = record.Encode();
        var pending = await RecordPendingAsync(record.CaseReference,
            existing => existing.Kind == PendingCaseOperationKind.Refer && existing.ReceivingOrganisationId == receivingOrganisationId && existing.Body.AsSpan().SequenceEqual(body),
            () => new PendingCaseOperation(PendingCaseOperationKind.Refer, receivingOrganisationId, null, Guid.NewGuid(), body), cancellationToken).ConfigureAwait(false);
        return await CompleteReferralAsync(record.CaseReference, pending, cancellationToken).ConfigureAwait(false);
    }

    private async Task<ReferralSent> CompleteReferralAsync(string caseReference, PendingCaseOperation pending, CancellationToken cancellationToken)
    {
        var referral = await InvokeAsync<ReferralEntry>(nameof(IMessagingHub.OpenReferral), new OpenReferralRequest(caseReference, pending.ReceivingOrganisationId), cancellationToken).ConfigureAwait(false);
        if (pending.ConversationId is null)
        {
            var recipients = (await ListMembersAsync(pending.ReceivingOrganisationId, cancellationToken).ConfigureAwait(false))
                .Where(m => m.Role is Roles.Worker or Roles.OrganisationAdmin && m.ActiveDeviceIds.Count > 0)
                .Select(m => m.MemberId)
                .Take(MaxReferralRecipients)
                .ToList();
            if (recipients.Count == 0)
            {
                throw new MessagingClientException("No worker of the receiving service has an enrolled device to receive the referral.");
            }

            var conversation = await CreateConversationAsync(recipients, collective: false, cancellationToken).ConfigureAwait(false);
            pending = pending with { ConversationId = conversation.ConversationId };
            await UpdateKeysAsync(keys =>
            {
                keys.PendingOperations[caseReference] = pending;
                keys.SentReferrals[caseReference] = new SentReferral(conversation.ConversationId, pending.Body);
            }, cancellationToken).ConfigureAwait(false);
        }

        var receipt = await SendAsync(pending.ConversationId!.Value, EnvelopeKind.Referral, pending.Body, caseReference, envelopeId: pending.EnvelopeId, cancellationToken: cancellationToken).ConfigureAwait(false);
        await UpdateKeysAsync(keys => keys.PendingOperations.Remove(caseReference), cancellationToken).ConfigureAwait(false);
        return new ReferralSent(referral, pending.ConversationId.Value, receipt.EnvelopeId);
    }

    /// <summary>The referrals of this member's organisation (either side), as the server records them.</summary>
    public Task<IReadOnlyList<ReferralEntry>> ListReferralsAsync(CancellationToken cancellationToken = default)
        => InvokeAsync<IReadOnlyList<ReferralEntry>>(nameof(IMessagingHub.ListReferrals), cancellationToken);

    /// <summary>
    /// The receiving service answers a referral it received: the server records the status, and the answer travels end
    /// to end to the referring service. When the referral says a follow-up already runs elsewhere, only a tripartite
    /// interview may be proposed first (checked here, since only the devices can read that flag).
    /// <para>Resumable: the response and its envelope id are recorded before the first server call. If a step fails,
    /// call this method again with the same response — or connect again: <see cref="ConnectAsync"/> completes pending
    /// operations — and it finishes with the same envelope id (answering the same way again returns the current entry).</para>
    /// </summary>
    /// <exception cref="CaseNotFoundException">This device did not receive that referral.</exception>
    /// <exception cref="FollowUpOngoingException">A follow-up runs elsewhere and the response is not a tripartite proposal.</exception>
    /// <exception cref="CaseRecordException">A decline without a reason, or a reason with another response.</exception>
    /// <exception cref="ServerRefusedException">The transition is not allowed now, or this member is not of the receiving service.</exception>
    public async Task<ReferralEntry> RespondToReferralAsync(string caseReference, ReferralResponse response, ReferralDeclineReason? declineReason = null, CancellationToken cancellationToken = default)
    {
        var answer = new ReferralAnswer(caseReference, response, declineReason);
        answer.Validate();
        var view = await GetCaseAsync(caseReference, cancellationToken).ConfigureAwait(false);
        var body = answer.Encode();
        var resuming = await _store.UnderLockAsync(() => _store.Keys.PendingOperations.TryGetValue(caseReference, out var p) && IsSameResponse(p), cancellationToken).ConfigureAwait(false);
        if (!resuming)
        {
            var current = (await ListReferralsAsync(cancellationToken).ConfigureAwait(false)).FirstOrDefault(r => r.CaseReference == caseReference)
                ?? throw new CaseNotFoundException(caseReference);
            if (view.Referral.FollowUpOngoing && !ReferralStateMachine.IsAllowedWithFollowUp(current.Status, response, followUpOngoing: true)
                && ReferralStateMachine.IsAllowedWithFollowUp(current.Status, response, followUpOngoing: false))
            {
                throw new FollowUpOngoingException(caseReference);
            }
        }

        var pending = await RecordPendingAsync(caseReference, IsSameResponse,
            () => new PendingCaseOperation(PendingCaseOperationKind.Respond, OrganisationId, view.ConversationId, Guid.NewGuid(), body, response, declineReason), cancellationToken).ConfigureAwait(false);
        return await CompleteResponseAsync(caseReference, pending, cancellationToken).ConfigureAwait(false);

        bool IsSameResponse(PendingCaseOperation p) => p.Kind == PendingCaseOperationKind.Respond && p.Response == response && p.DeclineReason == declineReason;
    }

    private async Task<ReferralEntry> CompleteResponseAsync(string caseReference, PendingCaseOperation pending, CancellationToken cancellationToken)
    {
        var entry = await InvokeAsync<ReferralEntry>(nameof(IMessagingHub.RespondToReferral), new RespondToReferralRequest(caseReference, pending.Response!.Value, pending.DeclineReason), cancellationToken).ConfigureAwait(false);
        await SendAsync(pending.ConversationId!.Value, EnvelopeKind.ReferralResponse, pending.Body, caseReference, envelopeId: pending.EnvelopeId, cancellationToken: cancellationToken).ConfigureAwait(false);
        await UpdateKeysAsync(keys => keys.PendingOperations.Remove(caseReference), cancellationToken).ConfigureAwait(false);
        return entry;
    }

    /// <summary>Completes the refer and respond operations a previous run left half-done (called by <see cref="ConnectAsync"/>).
    /// One that fails again stays pending for the next attempt.</summary>
    private async Task ResumePendingOperationsAsync(CancellationToken cancellationToken)
    {
        var pending = await _store.UnderLockAsync(() => _store.Keys.PendingOperations.ToList(), cancellationToken).ConfigureAwait(false);
        foreach (var (caseReference, operation) in pending)
        {
            try
            {
                _ = operation.Kind == PendingCaseOperationKind.Refer
                    ? await CompleteReferralAsync(caseReference, operation, cancellationToken).ConfigureAwait(false)
                    : (object)await CompleteResponseAsync(caseReference, operation, cancellationToken).ConfigureAwait(false);
            }
            catch (MessagingClientException)
            {
                // Still refused or unreachable: it stays pending; calling the operation again reports why.
            }
        }
    }

    /// <summary>Returns the operation already recorded under <paramref name="caseReference"/> when it is the same one
    /// (a retry), otherwise records a new one before any server call.</summary>
    private async Task<PendingCaseOperation> RecordPendingAsync(string caseReference, Func<PendingCaseOperation, bool> same, Func<PendingCaseOperation> create, CancellationToken cancellationToken)
    {
        await _store.LockAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_store.Keys.PendingOperations.TryGetValue(caseReference, out var existing) && same(existing))
            {
                return existing;
            }

            var created = create();
            _store.Keys.PendingOperations[caseReference] = created;
            _store.KeysChanged();
            await _store.SaveAsync(cancellationToken).ConfigureAwait(false);
            return created;
        }
        finally
        {
            _store.Release();
        }
    }

    private async Task UpdateKeysAsync(Action<DeviceKeys> change, CancellationToken cancellationToken)
    {
        await _store.LockAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            change(_store.Keys);
            _store.KeysChanged();
            await _store.SaveAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _store.Release();
        }
    }

    /// <summary>The referring service withdraws a referral still awaiting a decision.</summary>
    /// <exception cref="ServerRefusedException">Already decided, or not this member's organisation's referral.</exception>
    public Task<ReferralEntry> WithdrawReferralAsync(string caseReference, CancellationToken cancellationToken = default)
        => InvokeAsync<ReferralEntry>(nameof(IMessagingHub.WithdrawReferral), new WithdrawReferralRequest(caseReference), cancellationToken);

    /// <summary>
    /// Sends the person's identity and contact details to the accepting service only (the case's conversation holds
    /// the two services' members only; the server refuses it before acceptance).
    /// </summary>
    /// <exception cref="CaseRecordException">A field is missing or malformed; nothing was sent.</exception>
    /// <exception cref="CaseNotFoundException">This device holds no referral under that case reference.</exception>
    /// <exception cref="ServerRefusedException">The referral is not accepted (<c>referral.not-accepted</c>), or closed.</exception>
    public async Task<SendReceipt> ShareIdentityAsync(PersonIdentity identity, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(identity);
        var body = identity.Encode();
        var conversation = await CaseConversationAsync(identity.CaseReference, cancellationToken).ConfigureAwait(false);
        return await SendAsync(conversation, EnvelopeKind.IdentityShare, body, identity.CaseReference, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Records the person's express consent to share case-file content with one receiving service, until a date.</summary>
    /// <exception cref="ServerRefusedException">Not a party to the referral, or the date is in the past or too far.</exception>
    public Task<ConsentEntry> RecordConsentAsync(string caseReference, Guid receivingOrganisationId, DateTimeOffset validUntil, CancellationToken cancellationToken = default)
        => InvokeAsync<ConsentEntry>(nameof(IMessagingHub.RecordConsent), new RecordConsentRequest(caseReference, receivingOrganisationId, validUntil), cancellationToken);

    /// <summary>Revokes a consent: case notes naming it are refused from now on.</summary>
    public Task<ConsentEntry> RevokeConsentAsync(Guid consentId, CancellationToken cancellationToken = default)
        => InvokeAsync<ConsentEntry>(nameof(IMessagingHub.RevokeConsent), new RevokeConsentRequest(consentId), cancellationToken);

    /// <summary>The consents recorded under a case reference.</summary>
    public Task<IReadOnlyList<ConsentEntry>> ListConsentsAsync(string caseReference, CancellationToken cancellationToken = default)
        => InvokeAsync<IReadOnlyList<ConsentEntry>>(nameof(IMessagingHub.ListConsents), new ListConsentsRequest(caseReference), cancellationToken);

    /// <summary>Sends case-file content under a recorded consent (the server refuses it without a live consent for the
    /// recipients' service). Its attachments must already be uploaded blobs; to attach files, use
    /// <see cref="SendCaseNoteAsync(string, Guid, string, IReadOnlyList{Attachments.AttachmentFile}, CancellationToken)"/>,
    /// which encrypts and uploads them first.</summary>
    /// <exception cref="CaseRecordException">The note does not fit its schema; nothing was sent.</exception>
    /// <exception cref="CaseNotFoundException">This device holds no referral under that case reference.</exception>
    /// <exception cref="NotPermittedException">No live consent (<c>consent.required</c>, <c>consent.revoked</c>, <c>consent.expired</c>, <c>consent.other-service</c>).</exception>
    public async Task<SendReceipt> SendCaseNoteAsync(CaseNote note, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(note);
        var body = note.Encode();
        var conversation = await CaseConversationAsync(note.CaseReference, cancellationToken).ConfigureAwait(false);
        return await SendAsync(conversation, EnvelopeKind.CaseFile, body, note.CaseReference, note.ConsentId, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The case references this device knows (referrals it sent or received).</summary>
    public async Task<IReadOnlyList<string>> ListCasesAsync(CancellationToken cancellationToken = default)
    {
        var (sent, referrals) = await CaseSourcesAsync(cancellationToken).ConfigureAwait(false);
        return [.. sent.Keys.Concat(ReceivedReferrals(referrals).Select(r => r.Record.CaseReference)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
    }

    /// <summary>Everything this device holds about a case, decrypted: the referral, answers, identity shares, notes.
    /// Records that do not fit their schema are left out.</summary>
    /// <exception cref="CaseNotFoundException">This device neither sent nor received that referral.</exception>
    public async Task<CaseView> GetCaseAsync(string caseReference, CancellationToken cancellationToken = default)
    {
        var (sent, referrals) = await CaseSourcesAsync(cancellationToken).ConfigureAwait(false);
        var (conversationId, referral) = sent.TryGetValue(caseReference, out var own)
            ? (own.ConversationId, ReferralRecord.Decode(own.Record))
            : ReceivedReferrals(referrals).Where(r => r.Record.CaseReference == caseReference).Select(r => (r.ConversationId, r.Record)).FirstOrDefault();
        if (referral is null)
        {
            throw new CaseNotFoundException(caseReference);
        }

        var inCase = await ConversationMessagesAsync(conversationId, cancellationToken).ConfigureAwait(false);
        return new CaseView(conversationId, caseReference, referral,
            DecodeAll(inCase, EnvelopeKind.ReferralResponse, ReferralAnswer.Decode).Where(a => a.CaseReference == caseReference).ToList(),
            DecodeAll(inCase, EnvelopeKind.IdentityShare, PersonIdentity.Decode).Where(i => i.CaseReference == caseReference).ToList(),
            DecodeAll(inCase, EnvelopeKind.CaseFile, CaseNote.Decode).Where(n => n.CaseReference == caseReference).ToList());
    }

    /// <summary>At most this many members of the receiving service receive a referral (the conversation's size limit less the sender).</summary>
    private const int MaxReferralRecipients = 31;

    private async Task<Guid> CaseConversationAsync(string caseReference, CancellationToken cancellationToken)
        => (await GetCaseAsync(caseReference, cancellationToken).ConfigureAwait(false)).ConversationId;

    private Task<(Dictionary<string, SentReferral> Sent, List<InboxMessage> Referrals)> CaseSourcesAsync(CancellationToken cancellationToken)
        => _store.UnderLockAsync(() => (new Dictionary<string, SentReferral>(_store.Keys.SentReferrals, StringComparer.Ordinal), _store.Database.ReadMessages(kind: EnvelopeKind.Referral)), cancellationToken);

    private Task<List<InboxMessage>> ConversationMessagesAsync(Guid conversationId, CancellationToken cancellationToken)
        => _store.UnderLockAsync(() => _store.Database.ReadMessages(conversationId), cancellationToken);

    private static IEnumerable<(Guid ConversationId, ReferralRecord Record)> ReceivedReferrals(IEnumerable<InboxMessage> inbox)
        => inbox.Where(m => m.Kind == EnvelopeKind.Referral)
            .Select(m => (m.ConversationId, Record: TryDecode(m.Body, ReferralRecord.Decode)))
            .Where(r => r.Record is not null)
            .Select(r => (r.ConversationId, r.Record!));

    private static IEnumerable<T> DecodeAll<T>(IEnumerable<InboxMessage> messages, EnvelopeKind kind, DecodeRecord<T> decode)
        where T : class
        => messages.Where(m => m.Kind == kind).Select(m => TryDecode(m.Body, decode)).OfType<T>();

    private static T? TryDecode<T>(byte[] body, DecodeRecord<T> decode)
        where T : class
    {
        try
        {
            return decode(body);
        }
        catch (CaseRecordException)
        {
            return null; // A record that does not fit its schema is not shown as part of the case.
        }
    }

    private delegate T DecodeRecord<out T>(ReadOnlySpan<byte> utf8);
}
