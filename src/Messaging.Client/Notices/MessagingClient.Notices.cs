using Messaging.Client.Notices;
using Messaging.Contracts;
using Messaging.Crypto;
using Messaging.Crypto.Attestations;
using Messaging.Crypto.Keys;

namespace Messaging.Client;

public sealed partial class MessagingClient
{
    /// <summary>The following service sets up a mandate for a case with one justice assistant (who accepts it next).</summary>
    /// <param name="caseReference">The pseudonymous case reference.</param>
    /// <param name="assistantMemberId">A justice assistant of a Maison de justice.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="ServerRefusedException"><c>mandate.not-justice-assistant</c>, <c>mandate.exists</c>, or this member may not.</exception>
    public Task<MandateEntry> ProposeMandateAsync(string caseReference, Guid assistantMemberId, CancellationToken cancellationToken = default)
        => InvokeAsync<MandateEntry>(nameof(IMessagingHub.ProposeMandate), new ProposeMandateRequest(caseReference, assistantMemberId), cancellationToken);

    /// <summary>The justice assistant accepts a mandate; notices may travel from then on. Idempotent.</summary>
    /// <exception cref="ServerRefusedException"><c>mandate.not-found</c> or <c>mandate.transition-refused</c>.</exception>
    public Task<MandateEntry> AcceptMandateAsync(Guid mandateId, CancellationToken cancellationToken = default)
        => InvokeAsync<MandateEntry>(nameof(IMessagingHub.AcceptMandate), new MandateRequest(mandateId), cancellationToken);

    /// <summary>Either side ends a mandate. Idempotent.</summary>
    /// <exception cref="ServerRefusedException"><c>mandate.not-found</c>.</exception>
    public Task<MandateEntry> EndMandateAsync(Guid mandateId, CancellationToken cancellationToken = default)
        => InvokeAsync<MandateEntry>(nameof(IMessagingHub.EndMandate), new MandateRequest(mandateId), cancellationToken);

    /// <summary>The mandates of this member's service (or, for a justice assistant, their own), newest first.</summary>
    public Task<IReadOnlyList<MandateEntry>> ListMandatesAsync(CancellationToken cancellationToken = default)
        => InvokeAsync<IReadOnlyList<MandateEntry>>(nameof(IMessagingHub.ListMandates), cancellationToken);

    /// <summary>
    /// Issues an attendance notice under the accepted mandate of <paramref name="caseReference"/>: builds the closed
    /// record (kind, justification category for a justified absence, the interview or a date — nothing else), signs it
    /// with this device's identity key, and sends it end to end to every device of the mandate's assistant in a
    /// conversation of this member and the assistant only.
    /// </summary>
    /// <param name="caseReference">The case under mandate.</param>
    /// <param name="kind">What the notice reports.</param>
    /// <param name="justification">Required for a justified absence, null otherwise.</param>
    /// <param name="interviewId">An interview of this member's service under the case that has started, or null with
    /// <paramref name="date"/> (an interview held outside the system).</param>
    /// <param name="date">The date, or null with <paramref name="interviewId"/>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The issued notice.</returns>
    /// <exception cref="ArgumentException">The fields do not fit the closed record; nothing was sent.</exception>
    /// <exception cref="MandateNotFoundException">No accepted mandate for the case in this member's service.</exception>
    /// <exception cref="ServerRefusedException">The server's notice gate refused it (<c>notice.*</c>); nothing was stored. For
    /// an interview: <see cref="TargetNotFoundException"/> <c>notice.interview-unknown</c> (none with this id involves this
    /// member's service), <see cref="NotPermittedException"/> <c>notice.interview-other-case</c>,
    /// <see cref="StateConflictException"/> <c>notice.interview-not-started</c>.</exception>
    public async Task<NoticeIssued> IssueNoticeAsync(string caseReference, AttendanceNoticeKind kind, AbsenceJustification? justification = null,
        Guid? interviewId = null, DateOnly? date = null, CancellationToken cancellationToken = default)
    {
        var mandate = await AcceptedMandateAsync(caseReference, cancellationToken).ConfigureAwait(false)
            ?? throw new MandateNotFoundException(caseReference);
        return await IssueUnderMandateAsync(mandate, kind, justification, interviewId, date, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Builds, signs and sends a notice under <paramref name="mandate"/> (already found accepted).</summary>
    private async Task<NoticeIssued> IssueUnderMandateAsync(MandateEntry mandate, AttendanceNoticeKind kind, AbsenceJustification? justification,
        Guid? interviewId, DateOnly? date, CancellationToken cancellationToken)
    {
        var caseReference = mandate.CaseReference;
        var notice = AttendanceNotice.Create(Guid.NewGuid(), kind, justification, interviewId, date, caseReference, OrganisationId, MemberId, DeviceId,
            _options.Time.GetUtcNow(), mandate.AssistantMemberId);
        var signed = notice.Sign(_store.Identity).ToBytes();
        var conversation = await NoticeConversationAsync(mandate.AssistantMemberId, cancellationToken).ConfigureAwait(false);
        var receipt = await _sender.SendAsync(conversation, EnvelopeKind.AttendanceNotice, signed, caseReference, null, Guid.NewGuid(), cancellationToken,
            new NoticeRouting(notice.NoticeId, NoticeKindMap.ToWire(kind), interviewId)).ConfigureAwait(false);
        var issued = new NoticeIssued(notice, signed, conversation, receipt);
        if (mandate.IntakeConfigured)
        {
            await ForwardNoticeToIntakeAsync(issued, cancellationToken).ConfigureAwait(false);
        }

        return issued;
    }

    /// <summary>Hands a notice this device issued to the server for the Maison de justice's own system (done by
    /// <see cref="IssueNoticeAsync"/> when the mandate says so; call it again after a failure: it is idempotent).</summary>
    /// <exception cref="ServerRefusedException"><c>notice.intake-not-configured</c>, <c>notice.invalid</c>.</exception>
    public Task ForwardNoticeToIntakeAsync(NoticeIssued issued, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(issued);
        return InvokeAsync<object?>(nameof(IMessagingHub.ForwardNoticeToIntake), new ForwardNoticeRequest(issued.Notice.NoticeId, issued.SignedNotice), cancellationToken);
    }

    /// <summary>
    /// The host records an interview's outcome. When the person did not come (held, <see cref="PersonAttendance.NoShow"/>)
    /// to an interview whose case is under an accepted mandate of this member's service, the no-show notice goes out at
    /// once, signed by this device (the server cannot sign one). A retry after a failure between the two steps completes
    /// the operation: an outcome already recorded exactly as asked is taken as it is, and a no-show notice the server
    /// already relayed for this interview is not sent twice.
    /// </summary>
    /// <param name="interviewId">An interview this member organises.</param>
    /// <param name="held">Whether it took place.</param>
    /// <param name="attendance">Whether the person came, for a held interview that invites the person; null otherwise.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The interview as recorded and, when one went out now, the no-show notice.</returns>
    /// <exception cref="StateConflictException"><c>interview.transition-refused</c>: the interview has another outcome
    /// already, is cancelled, or has not started.</exception>
    /// <exception cref="ServerRefusedException">The interview or notice call was refused (<c>interview.*</c>, <c>notice.*</c>).</exception>
    public async Task<InterviewOutcome> RecordInterviewOutcomeAsync(Guid interviewId, bool held, PersonAttendance? attendance,
        CancellationToken cancellationToken = default)
    {
        InterviewEntry? interview;
        try
        {
            interview = await Interviews.RecordOutcomeAsync(interviewId, held, attendance, cancellationToken).ConfigureAwait(false);
        }
        catch (StateConflictException ex) when (ex.Code == ErrorCodes.InterviewTransitionRefused)
        {
            // A retry: the outcome went in before, exactly as asked; go on with the notice. Any other state: refused.
            interview = (await Interviews.ListAsync(cancellationToken).ConfigureAwait(false))
                .FirstOrDefault(i => i.InterviewId == interviewId && i.Held == held && i.Attendance == attendance);
            if (interview is null)
            {
                throw;
            }
        }

        if (!held || attendance != PersonAttendance.NoShow
            || await AcceptedMandateAsync(interview.CaseReference, cancellationToken).ConfigureAwait(false) is not { } mandate)
        {
            return new InterviewOutcome(interview, null, NoticeAlreadySent: false);
        }

        try
        {
            var notice = await IssueUnderMandateAsync(mandate, AttendanceNoticeKind.NoShow, null, interviewId, null, cancellationToken).ConfigureAwait(false);
            return new InterviewOutcome(interview, notice, NoticeAlreadySent: false);
        }
        catch (StateConflictException ex) when (ex.Code == ErrorCodes.NoticeDuplicate)
        {
            return new InterviewOutcome(interview, null, NoticeAlreadySent: true);
        }
    }

    /// <summary>Issues the no-show notice for an interview of this member's service (organised by it or with it as a
    /// participant) under <paramref name="caseReference"/> that has started, without recording an outcome on the server
    /// (for an interview organised here, <see cref="RecordInterviewOutcomeAsync"/> does both). The notice goes out at
    /// once, signed by this device. For an interview held outside this system, use <see cref="IssueNoticeAsync"/> with
    /// its date.</summary>
    /// <inheritdoc cref="IssueNoticeAsync" path="/exception"/>
    public Task<NoticeIssued> RecordNoShowAsync(string caseReference, Guid interviewId, CancellationToken cancellationToken = default)
        => IssueNoticeAsync(caseReference, AttendanceNoticeKind.NoShow, interviewId: interviewId, cancellationToken: cancellationToken);

    /// <summary>
    /// The attendance notices this device received, newest first, each verified against the issuing device's key as the
    /// verified key log records it (synced first when the device is unknown), checked to be for this member and sent
    /// by the device that signed it; with the issuer's and service's names from the directory.
    /// </summary>
    public async Task<IReadOnlyList<ReceivedNotice>> GetNoticesAsync(CancellationToken cancellationToken = default)
    {
        var messages = await _store.UnderLockAsync(() => _store.Database.ReadMessages(kind: EnvelopeKind.AttendanceNotice), cancellationToken).ConfigureAwait(false);
        var received = messages.Where(m => m.SenderMemberId != MemberId).ToList();
        if (received.Count == 0)
        {
            return [];
        }

        await _keys.SyncIfUnknownAsync(received.Select(m => m.SenderDeviceId), cancellationToken).ConfigureAwait(false);
        var members = await ListMembersAsync(null, cancellationToken).ConfigureAwait(false);
        var organisations = await ListOrganisationsAsync(cancellationToken).ConfigureAwait(false);
        var views = new List<ReceivedNotice>();
        foreach (var message in received.OrderByDescending(m => m.Sequence))
        {
            var (notice, verification) = await _store.UnderLockAsync(() => VerifyReceived(message), cancellationToken).ConfigureAwait(false);
            var issuer = notice is null ? null : members.FirstOrDefault(m => m.MemberId == notice.IssuerMemberId);
            var service = notice is null ? null : organisations.FirstOrDefault(o => o.OrganisationId == notice.IssuerOrganisationId);
            views.Add(new ReceivedNotice(notice, verification, issuer?.DisplayName, service?.Name, message.Body, message.Sequence, message.SentAt));
        }

        return views;
    }

    /// <summary>
    /// A printable attendance certificate for a received notice: self-contained HTML with a print stylesheet, the
    /// notice, its verification code, and — embedded for offline checking — the signed attestation and the signing
    /// device's key-log entries (from the whole log, whose chain is verified from its start up to the head this device
    /// already verified). The embedded entries are hints for a reader: a certificate is valid only when checked against a
    /// verified key log (<see cref="VerifyAttendanceCertificateAsync"/>, <c>messaging verify-certificate</c> with a key store).
    /// </summary>
    /// <exception cref="NoticeNotFoundException">This device holds no verified notice with this id.</exception>
    /// <exception cref="KeyLogTamperedException">The key log does not continue the chain this device verified.</exception>
    public async Task<string> CreateAttendanceCertificateAsync(Guid noticeId, CancellationToken cancellationToken = default)
    {
        var notice = (await GetNoticesAsync(cancellationToken).ConfigureAwait(false))
            .FirstOrDefault(n => n.Notice?.NoticeId == noticeId && n.Verification is NoticeVerification.Verified or NoticeVerification.SignerRevoked)
            ?? throw new NoticeNotFoundException(noticeId);
        var entries = await SignerEntriesAsync(notice.Notice!.IssuerDeviceId, cancellationToken).ConfigureAwait(false);
        return AttendanceCertificate.Render(new CertificateData(notice.SignedNotice, entries, notice.IssuerName, notice.ServiceName));
    }

    /// <summary>
    /// Checks a printable attendance certificate against this device's verified key log, synced first so that a
    /// revocation is known: the file must be exactly the certificate its embedded data renders, and the notice must be
    /// signed with the identity key the log records for the signing device of the issuing member. The key-log entries the
    /// file embeds are not consulted (a file cannot vouch for itself): a forged certificate, with a key and a self-hashed
    /// entry of its own, is <see cref="CertificateStatus.SignerUnknown"/>, and a revoked device's certificate that leaves
    /// out its revocation is <see cref="CertificateStatus.SignerRevoked"/>. Nothing of the file is sent anywhere.
    /// </summary>
    /// <param name="html">The certificate file's text.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Valid, signer revoked, signer unknown or altered; never throws for a bad file.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="html"/> is null.</exception>
    /// <exception cref="KeyLogTamperedException">The key log does not continue the chain this device verified; nothing was checked.</exception>
    public async Task<CertificateCheck> VerifyAttendanceCertificateAsync(string html, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(html);
        await _keys.SyncAsync(cancellationToken).ConfigureAwait(false);
        return await _store.UnderLockAsync(() => AttendanceCertificate.Verify(html, LoggedSignerOf), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The signing device of <paramref name="claimed"/> as the verified key log records it for the notice's
    /// issuing member; null when the log does not record that device for that member. Caller holds the lock.</summary>
    private LoggedSigner? LoggedSignerOf(AttendanceNotice claimed)
        => _store.TryGetLoggedDevice(claimed.IssuerDeviceId, out var logged) && logged.MemberId == claimed.IssuerMemberId
            && IdentityPublicKey.TryParse(logged.IdentityKey, out var identity)
            ? new LoggedSigner(identity!, logged.Active)
            : null;

    private (AttendanceNotice? Notice, NoticeVerification Verification) VerifyReceived(InboxMessage message)
    {
        SignedAttestation signed;
        AttendanceNotice claimed;
        try
        {
            signed = SignedAttestation.Parse(message.Body);
            claimed = AttendanceNotice.FromAttestation(signed.Attestation);
        }
        catch (CryptoException)
        {
            return (null, NoticeVerification.Invalid);
        }

        if (claimed.IssuerDeviceId != message.SenderDeviceId || claimed.IssuerMemberId != message.SenderMemberId)
        {
            return (claimed, NoticeVerification.Invalid);
        }

        if (LoggedSignerOf(claimed) is not { } logged)
        {
            return (claimed, NoticeVerification.SignerUnknown);
        }

        try
        {
            var verified = AttendanceNotice.Verify(message.Body, logged.Identity, MemberId);
            return (verified, logged.Active ? NoticeVerification.Verified : NoticeVerification.SignerRevoked);
        }
        catch (SignatureVerificationException)
        {
            return (claimed, NoticeVerification.SignerUnknown);
        }
        catch (CryptoException)
        {
            return (claimed, NoticeVerification.Invalid);
        }
    }

    /// <summary>The key-log entries of one device, from the whole log verified from its start to the head this device
    /// already verified.</summary>
    private async Task<IReadOnlyList<KeyLogEntry>> SignerEntriesAsync(Guid deviceId, CancellationToken cancellationToken)
    {
        await _keys.SyncAsync(cancellationToken).ConfigureAwait(false);
        var (head, headHash) = await _store.UnderLockAsync(() => (_store.KeyLogNextIndex, _store.KeyLogHead.ToArray()), cancellationToken).ConfigureAwait(false);
        var all = new List<KeyLogEntry>();
        while (all.Count < head)
        {
            var page = await InvokeAsync<KeyLogPage>(nameof(IMessagingHub.GetKeyLog), new GetKeyLogRequest(all.Count, 500), cancellationToken).ConfigureAwait(false);
            if (page.Entries.Count == 0)
            {
                break;
            }

            all.AddRange(page.Entries);
        }

        var upToHead = all.Take((int)head).ToList();
        if (KeyLogHash.FindFirstBroken(upToHead, 0, KeyLogHash.Genesis()) is { } broken)
        {
            throw new KeyLogTamperedException(broken);
        }

        if (upToHead.Count != head || (head > 0 && !upToHead[^1].Hash.AsSpan().SequenceEqual(headHash)))
        {
            throw new KeyLogTamperedException(head);
        }

        return [.. upToHead.Where(e => e.DeviceId == deviceId && e.Action is KeyLogAction.Added or KeyLogAction.Revoked)];
    }

    /// <summary>The accepted mandate linking <paramref name="caseReference"/> to this member's service, if any.</summary>
    private async Task<MandateEntry?> AcceptedMandateAsync(string caseReference, CancellationToken cancellationToken)
        => (await ListMandatesAsync(cancellationToken).ConfigureAwait(false))
            .FirstOrDefault(m => m.CaseReference == caseReference && m.ServiceOrganisationId == OrganisationId && m.Status == MandateStatus.Accepted);

    /// <summary>The conversation of this member and the assistant alone, created when there is none.</summary>
    private async Task<Guid> NoticeConversationAsync(Guid assistantMemberId, CancellationToken cancellationToken)
    {
        var existing = (await ListConversationsAsync(cancellationToken).ConfigureAwait(false))
            .FirstOrDefault(c => !c.Collective && c.MemberIds.Count == 2 && c.MemberIds.Contains(assistantMemberId) && c.MemberIds.Contains(MemberId));
        return existing?.ConversationId
            ?? (await CreateConversationAsync([assistantMemberId], collective: false, cancellationToken).ConfigureAwait(false)).ConversationId;
    }
}
