using Messaging.Client.Connection;
using Messaging.Client.KeyLog;
using Messaging.Client.Storage;
using Messaging.Contracts;
using Messaging.Crypto.CrossSigning;

namespace Messaging.Client.Sending;

/// <summary>The devices of a conversation as the server lists them, and the members its verified membership log
/// justifies (null when this device does not check membership: a client from before cross-signing).</summary>
internal sealed record VerifiedDevices(IReadOnlyList<DeviceAddress> Devices, IReadOnlySet<Guid>? Members);

/// <summary>
/// Conversation membership signed by participants (docs/crypto.md §12), this device's side: lists a conversation's
/// devices together with its membership log, verifies the log against the member keys this device trusts, refuses a
/// log that does not extend the head this device recorded (a rewound or stripped log), starts the log of a conversation
/// that has none with a snapshot (trust on first use), and signs this member's own changes.
/// </summary>
internal sealed class ConversationMembers(DeviceStore store, HubLink hub, KeyDirectory keys, bool enabled)
{
    /// <summary>The conversation's devices and the members its verified log justifies.</summary>
    /// <exception cref="ConversationMembershipRejectedException">The log does not verify, or does not extend the head
    /// this device recorded.</exception>
    /// <exception cref="MemberKeyChangedException">A statement is signed by a member's new key that the user has not
    /// confirmed.</exception>
    public async Task<VerifiedDevices> ListAsync(Guid conversationId, CancellationToken cancellationToken)
    {
        if (!enabled)
        {
            return new VerifiedDevices((await FetchAsync(conversationId, cancellationToken).ConfigureAwait(false)).Devices, null);
        }

        var (listed, log) = await LoadAsync(conversationId, cancellationToken).ConfigureAwait(false);
        return new VerifiedDevices(listed.Devices, log?.Members);
    }

    /// <summary>The conversation's verified log, started with a snapshot if it has none, for a change this member signs;
    /// null when this device holds no member key (it then changes membership the old way, and the server refuses it
    /// while it awaits approval).</summary>
    /// <exception cref="ConversationMembershipRejectedException">The log does not verify, or does not extend the head
    /// this device recorded.</exception>
    public async Task<MembershipLog?> ForChangeAsync(Guid conversationId, CancellationToken cancellationToken)
        => CanSign ? (await LoadAsync(conversationId, cancellationToken).ConfigureAwait(false)).Log : null;

    /// <summary>Lists and verifies (syncing the key log first: the statements are checked against it); a conversation
    /// from before signed membership is stated by this device as the server lists it now, then read again (another
    /// member may have stated it first: that statement is verified like any other).</summary>
    private async Task<(ConversationDevices Listed, MembershipLog? Log)> LoadAsync(Guid conversationId, CancellationToken cancellationToken)
    {
        var listed = await FetchAsync(conversationId, cancellationToken).ConfigureAwait(false);
        await keys.SyncAsync(cancellationToken).ConfigureAwait(false);
        var log = await VerifyAsync(conversationId, listed.Membership, cancellationToken).ConfigureAwait(false);
        if (log is not { IsEmpty: true })
        {
            return (listed, log);
        }

        await SnapshotAsync(conversationId, listed.Membership!, cancellationToken).ConfigureAwait(false);
        listed = await FetchAsync(conversationId, cancellationToken).ConfigureAwait(false);
        log = await VerifyAsync(conversationId, listed.Membership, cancellationToken).ConfigureAwait(false);
        return log is { IsEmpty: false }
            ? (listed, log)
            : throw new ConversationMembershipRejectedException(conversationId, "the server did not keep the membership snapshot this device signed");
    }

    /// <summary>This member's signing key when this device holds it (the caller disposes it).</summary>
    public MemberSigningKey? SigningKey() => CanSign ? MemberSigningKey.FromSeed(store.Keys.MemberId, store.Keys.MemberSigningSeed!) : null;

    /// <summary>Whether this device holds its member's signing key (and checks membership).</summary>
    private bool CanSign => enabled && store.Keys.MemberSigningSeed is { Length: MemberSigningKey.SeedLength };

    /// <summary>Records the head a change this device made and the server accepted leads to.</summary>
    public Task RecordAsync(Guid conversationId, MembershipStatement statement, CancellationToken cancellationToken)
        => store.UnderLockAsync(() =>
        {
            var kept = store.Database.LoadMembershipHead(conversationId);
            if (kept is null || kept.NextIndex <= statement.Index)
            {
                using var batch = store.Database.Begin();
                batch.PutMembershipHead(conversationId, statement.Index + 1, statement.Hash());
                batch.Commit();
            }

            return true;
        }, cancellationToken);

    private Task<ConversationDevices> FetchAsync(Guid conversationId, CancellationToken cancellationToken)
        => hub.InvokeAsync<ConversationDevices>(nameof(IMessagingHub.GetConversationDevices), new GetConversationDevicesRequest(conversationId), cancellationToken);

    private async Task SnapshotAsync(Guid conversationId, ConversationMembership membership, CancellationToken cancellationToken)
    {
        using var key = SigningKey();
        if (key is null)
        {
            return;
        }

        var snapshot = MembershipLog.Empty(conversationId).SignLegacySnapshot(key, membership.CreatedBy, membership.Collective, membership.MemberIds);
        try
        {
            await hub.InvokeAsync<ConversationSummary>(nameof(IMessagingHub.SnapshotConversationMembership),
                new ConversationMembershipSnapshotRequest(conversationId, snapshot.ToBytes()), cancellationToken).ConfigureAwait(false);
        }
        catch (StateConflictException)
        {
            // Another member stated it first, or its members changed meanwhile: the log is read again either way.
        }
    }

    /// <summary>Verifies the log and moves this device's recorded head forward; null when there is nothing to check
    /// against (no log, never seen here, and this device cannot start one), the empty log when this device should.</summary>
    private async Task<MembershipLog?> VerifyAsync(Guid conversationId, ConversationMembership? membership, CancellationToken cancellationToken)
    {
        await store.LockAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var log = Verify(conversationId, membership, store.Database.LoadMembershipHead(conversationId));
            await store.SaveAsync(cancellationToken).ConfigureAwait(false); // A member key pinned on first use on the way.
            return log;
        }
        finally
        {
            store.Release();
        }
    }

    private MembershipLog? Verify(Guid conversationId, ConversationMembership? membership, MembershipHeadRow? kept)
    {
        var statements = membership?.Statements ?? [];
        if (statements.Count == 0)
        {
            if (kept is not null || membership is null)
            {
                throw new ConversationMembershipRejectedException(conversationId, kept is null
                    ? "the server sent no membership"
                    : $"the server's log is empty, but this device verified {kept.NextIndex} statement(s) of it before (it was stripped)");
            }

            return store.Keys.MemberSigningSeed is null ? null : MembershipLog.Empty(conversationId);
        }

        MembershipLog log;
        try
        {
            log = MembershipLog.Verify(conversationId, statements, keys.TrustedMemberKeys);
        }
        catch (MembershipStatementRejectedException ex)
        {
            // Signed by a member's new key the user has not confirmed: the same blocking warning as a send to them.
            if (ex.Index < statements.Count && MembershipStatement.TryParse(statements[(int)ex.Index], out var refused) && keys.IsUnconfirmed(refused!.Actor)
                && store.Keys.MemberKeys[refused.Actor].Logged is { } logged && refused.VerifiesUnder(logged))
            {
                throw new MemberKeyChangedException(refused.Actor);
            }

            throw new ConversationMembershipRejectedException(conversationId, ex.Message);
        }

        if (kept is not null && (log.NextIndex < kept.NextIndex
            || !MembershipStatement.Parse(statements[(int)kept.NextIndex - 1]).Hash().AsSpan().SequenceEqual(kept.Head)))
        {
            throw new ConversationMembershipRejectedException(conversationId,
                $"the server's log does not extend the {kept.NextIndex} statement(s) this device verified before (it was rewound or rewritten)");
        }

        if (kept is null || log.NextIndex > kept.NextIndex)
        {
            using var batch = store.Database.Begin();
            batch.PutMembershipHead(conversationId, log.NextIndex, log.Head.ToArray());
            batch.Commit();
        }

        return log;
    }
}
