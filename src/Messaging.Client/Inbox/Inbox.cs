using System.Threading.Channels;
using Messaging.Client.Connection;
using Messaging.Client.KeyLog;
using Messaging.Client.Sessions;
using Messaging.Client.Storage;
using Messaging.Contracts;
using Messaging.Crypto;
using Messaging.Crypto.KeyStore;
using Messaging.Crypto.Ratchet;

namespace Messaging.Client.Inbox;

/// <summary>
/// The receiving side: one loop that runs every receiving-side hub call one after another (pushed deliveries, fetching
/// what is pending, acknowledgements, prekey upkeep). A page of deliveries is decrypted, duplicates (by sender device
/// and envelope id) are dropped, and the new messages and advanced sessions are committed in one transaction; only then
/// are they published and acknowledged — an acknowledged message is never lost, and a crash before the acknowledgement
/// only causes a redelivery that is dropped as a duplicate.
/// </summary>
internal sealed class Inbox(DeviceStore store, HubLink hub, SessionBook sessions, KeyDirectory keys, MessagingClientOptions options, CancellationToken stopping)
{
    /// <summary>At most this many sequences per acknowledgement call, and per fetched page (the server's maximum for
    /// both): fewer round trips and fewer commits during a catch-up.</summary>
    public const int PageSize = 500;

    private readonly Channel<WorkItem> _work = Channel.CreateUnbounded<WorkItem>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Channel<InboxMessage> _messages = Channel.CreateUnbounded<InboxMessage>();

    // Processed (and saved) deliveries not yet acknowledged: the next send carries them, or a separate call after
    // AcknowledgementDelay. Guarded by _acknowledgements itself.
    private readonly List<long> _acknowledgements = [];
    private bool _acknowledgementFlushScheduled;
    private Task? _pump;
    private KeyStoreConflictException? _fault;

    /// <summary>Raised on the loop when a delivered envelope cannot be decrypted.</summary>
    public event EventHandler<DeliveryFailure>? DeliveryFailed;

    /// <summary>Raised on the loop when a session start comes from a device whose identity changed.</summary>
    public event EventHandler<IdentityKeyChangedException>? IdentityKeyChanged;

    public ChannelReader<InboxMessage> Messages => _messages.Reader;

    /// <summary>Every delivery as it reaches the loop, before any check (tests capture envelopes to replay them).</summary>
    internal event Action<EnvelopeDelivery>? Received;

    public void Start() => _pump ??= Task.Run(() => PumpAsync(stopping), CancellationToken.None);

    public void Deliver(EnvelopeDelivery delivery) => _work.Writer.TryWrite(new WorkItem(WorkKind.Delivery, delivery, null));

    /// <summary>Queues a fetch of everything pending (after a reconnection).</summary>
    public void FetchLater() => _work.Writer.TryWrite(new WorkItem(WorkKind.FetchPending, null, null));

    /// <summary>Queues other receiving-side work (prekey upkeep) on the loop.</summary>
    public void Enqueue(Func<CancellationToken, Task> work) => _work.Writer.TryWrite(new WorkItem(WorkKind.Other, work, null));

    /// <summary>Fetches and processes every pending envelope; completes when they are stored.</summary>
    public async Task SynchronizeAsync(CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_work.Writer.TryWrite(new WorkItem(WorkKind.FetchPending, null, done)))
        {
            throw (Exception?)_fault ?? new MessagingClientException("The client is stopping.");
        }

        await done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Takes every waiting acknowledgement (null when none waits), for a send to carry.</summary>
    public long[]? TakeAcknowledgements()
    {
        lock (_acknowledgements)
        {
            if (_acknowledgements.Count == 0)
            {
                return null;
            }

            long[] taken = [.. _acknowledgements];
            _acknowledgements.Clear();
            return taken;
        }
    }

    /// <summary>Queues processed sequences for acknowledgement and makes sure a separate call follows after
    /// <see cref="MessagingClientOptions.AcknowledgementDelay"/> unless a send carries them first. Returns how many wait.</summary>
    public int QueueAcknowledgements(IReadOnlyList<long>? sequences)
    {
        int waiting;
        lock (_acknowledgements)
        {
            if (sequences is not null)
            {
                _acknowledgements.AddRange(sequences);
            }

            waiting = _acknowledgements.Count;
            if (waiting == 0 || _acknowledgementFlushScheduled)
            {
                return waiting;
            }

            _acknowledgementFlushScheduled = true;
        }

        _ = FlushAcknowledgementsLaterAsync();
        return waiting;
    }

    public async Task FlushAcknowledgementsAsync(CancellationToken cancellationToken)
    {
        while (TakeAcknowledgements() is { } waiting)
        {
            foreach (var chunk in waiting.Chunk(PageSize))
            {
                await AcknowledgeAsync(chunk, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Stops the loop (after the owner cancelled <c>stopping</c>) and completes <see cref="Messages"/>.</summary>
    public async Task StopAsync()
    {
        _work.Writer.TryComplete();
        if (_pump is not null)
        {
            try
            {
                await _pump.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Stopping.
            }
            catch (KeyStoreConflictException)
            {
                // Already reported: Messages completed with it, and later calls throw it.
            }
        }

        _messages.Writer.TryComplete();
    }

    /// <summary>
    /// Processes one page of deliveries and commits it (one transaction) before returning; publishes the new messages.
    /// Internal for tests, which replay a captured delivery through it.
    /// </summary>
    internal async Task ProcessPageAsync(IReadOnlyList<EnvelopeDelivery> page, CancellationToken cancellationToken)
    {
        foreach (var delivery in page)
        {
            Received?.Invoke(delivery);
        }

        // The messages of a session that has had no reply yet all carry the same prekey header: read (and verify) it
        // once per page.
        var headers = new Dictionary<string, PreKeyMessageInfo?>(StringComparer.Ordinal);
        var starts = page.Select(d => (Delivery: d, Info: TryReadPreKeyInfo(d.Ciphertext, headers))).ToList();
        var initiators = starts.Where(s => s.Info is not null).Select(s => s.Delivery.SenderDeviceId).Distinct().ToList();
        if (initiators.Count > 0)
        {
            // A new session names its initiator: check it against the verified key log before accepting it.
            await keys.SyncIfUnknownAsync(initiators, cancellationToken).ConfigureAwait(false);
        }

        // A sending device its member did not vouch for may be a ghost speaking as the member: look for a newer
        // certificate once, then refuse what still does not verify.
        var senders = page.Select(d => (d.SenderDeviceId, d.SenderMemberId)).Distinct().ToList();
        if (await store.UnderLockAsync(() => senders.Exists(s => !keys.VouchesForSender(s.SenderDeviceId, s.SenderMemberId)), cancellationToken).ConfigureAwait(false))
        {
            await keys.SyncAsync(cancellationToken).ConfigureAwait(false);
        }

        var received = new List<InboxMessage>();
        var failures = new List<(DeliveryFailure Failure, IdentityKeyChangedException? Changed)>();
        await store.LockAsync(cancellationToken).ConfigureAwait(false);
        using var live = new DecryptionPage(store);
        try
        {
            // Stored already (a redelivery), or twice in this page: read once.
            var known = store.StoredMessages([.. page.Select(d => (d.SenderDeviceId, d.EnvelopeId))]);
            foreach (var (delivery, info) in starts)
            {
                if (!known.Add((delivery.SenderDeviceId, delivery.EnvelopeId)))
                {
                    continue;
                }

                if (!keys.VouchesForSender(delivery.SenderDeviceId, delivery.SenderMemberId))
                {
                    failures.Add((new DeliveryFailure(delivery.Sequence, delivery.SenderDeviceId, UnreachableDevice.NotVouchedReason), null));
                    continue;
                }

                try
                {
                    var associatedData = MessagingClient.AssociatedData(delivery.EnvelopeId, delivery.ConversationId, delivery.SenderDeviceId, delivery.Kind);
                    var body = PlaintextFrame.Unwrap(sessions.Decrypt(live, delivery, info, associatedData));
                    var message = new InboxMessage(delivery.Sequence, delivery.EnvelopeId, delivery.ConversationId, delivery.SenderMemberId, delivery.SenderDeviceId, delivery.Kind, body, delivery.SentAt);
                    store.AddMessage(message);
                    received.Add(message);
                }
                catch (DuplicateMessageException)
                {
                    // Already read (or a replayed session start): nothing new, nothing recorded.
                }
                catch (IdentityKeyChangedException ex)
                {
                    failures.Add((new DeliveryFailure(delivery.Sequence, delivery.SenderDeviceId, ex.GetType().Name), ex));
                }
                catch (SenderMemberMismatchException)
                {
                    failures.Add((new DeliveryFailure(delivery.Sequence, delivery.SenderDeviceId, DeliveryFailure.SenderMemberMismatchReason), null));
                }
                catch (Exception ex) when (ex is CryptoException or MessagingClientException)
                {
                    // Not recorded as processed: a message that does not authenticate leaves no trace.
                    failures.Add((new DeliveryFailure(delivery.Sequence, delivery.SenderDeviceId, ex.GetType().Name), null));
                }
            }

            live.Complete();
            await store.SaveAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            store.Release();
        }

        foreach (var (failure, changed) in failures)
        {
            if (changed is not null)
            {
                IdentityKeyChanged?.Invoke(this, changed);
            }

            DeliveryFailed?.Invoke(this, failure);
        }

        foreach (var message in received)
        {
            _messages.Writer.TryWrite(message);
        }
    }

    private async Task FetchPendingAsync(CancellationToken cancellationToken)
    {
        var next = FetchPageAsync(0, cancellationToken);
        while (true)
        {
            var page = await next.ConfigureAwait(false);
            var more = page.HasMore && page.Envelopes.Count > 0;

            // The next page travels while this one is decrypted and committed; it is processed only after this one
            // is committed and acknowledged.
            next = more ? FetchPageAsync(page.Envelopes[^1].Sequence, cancellationToken) : null;
            try
            {
                await ProcessPageAsync(page.Envelopes, cancellationToken).ConfigureAwait(false);

                // One acknowledgement per page: every envelope of it is committed by now.
                await AcknowledgeAsync([.. page.Envelopes.Select(e => e.Sequence)], cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                if (next is not null)
                {
                    // Observed, so a failure of the prefetch does not go unobserved; the page is fetched again later.
                    _ = next.ContinueWith(t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
                }

                throw;
            }

            if (next is null)
            {
                return;
            }
        }
    }

    private Task<PendingEnvelopes> FetchPageAsync(long after, CancellationToken cancellationToken)
        => hub.InvokeAsync<PendingEnvelopes>(nameof(IMessagingHub.FetchPending), new FetchPendingRequest(after, PageSize), cancellationToken);

    /// <summary>Acknowledges <paramref name="sequences"/> (at most <see cref="PageSize"/>) in one call; the server
    /// deletes this device's copies.</summary>
    private async Task AcknowledgeAsync(long[] sequences, CancellationToken cancellationToken)
    {
        if (sequences.Length > 0)
        {
            await hub.InvokeAsync<AcknowledgeResult>(nameof(IMessagingHub.AcknowledgeEnvelopes), new AcknowledgeRequest(sequences), cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task FlushAcknowledgementsLaterAsync()
    {
        try
        {
            await Task.Delay(options.AcknowledgementDelay, options.Time, stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        lock (_acknowledgements)
        {
            _acknowledgementFlushScheduled = false;
        }

        // Through the loop, which makes every hub call of the receiving side one after another.
        _work.Writer.TryWrite(new WorkItem(WorkKind.Acknowledge, null, null));
    }

    private async Task PumpAsync(CancellationToken cancellationToken)
    {
        await foreach (var item in _work.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            try
            {
                switch (item.Kind)
                {
                    case WorkKind.Delivery:
                        var delivery = (EnvelopeDelivery)item.Payload!;
                        await ProcessPageAsync([delivery], cancellationToken).ConfigureAwait(false);
                        if (QueueAcknowledgements([delivery.Sequence]) >= PageSize)
                        {
                            await FlushAcknowledgementsAsync(cancellationToken).ConfigureAwait(false);
                        }

                        break;
                    case WorkKind.Acknowledge:
                        await FlushAcknowledgementsAsync(cancellationToken).ConfigureAwait(false);
                        break;
                    case WorkKind.FetchPending:
                        await FetchPendingAsync(cancellationToken).ConfigureAwait(false);
                        item.Done?.TrySetResult();
                        break;
                    case WorkKind.Other:
                        await ((Func<CancellationToken, Task>)item.Payload!)(cancellationToken).ConfigureAwait(false);
                        break;
                }
            }
            catch (KeyStoreConflictException ex)
            {
                // The key store file changed under this owner: never written over. The loop stops and says so, rather
                // than go on receiving with keys it can no longer save.
                _fault = ex;
                item.Done?.TrySetException(ex);
                _work.Writer.TryComplete(ex);
                while (_work.Reader.TryRead(out var waiting))
                {
                    // Queued behind it (a synchronisation someone awaits): answered with the same fault, never left hanging.
                    waiting.Done?.TrySetException(ex);
                }

                _messages.Writer.TryComplete(ex);
                throw;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // Disconnected mid-way or refused: what is not acknowledged is redelivered on the next (re)connect,
                // recognised as already stored, and acknowledged then.
                item.Done?.TrySetException(ex);
            }
        }
    }

    /// <summary>The prekey header of a message, or null; a header already read in this page (the same bytes, which
    /// are all it depends on) is not parsed and verified again.</summary>
    private static PreKeyMessageInfo? TryReadPreKeyInfo(byte[] ciphertext, Dictionary<string, PreKeyMessageInfo?> headers)
    {
        var cacheable = ciphertext.Length >= Session.PreKeyPrefixLength && ciphertext[1] == Session.PreKeyMessageType;
        var key = cacheable ? Convert.ToBase64String(ciphertext, 0, Session.PreKeyPrefixLength) : null;
        if (key is not null && headers.TryGetValue(key, out var known))
        {
            return known;
        }

        PreKeyMessageInfo? info;
        try
        {
            info = Session.ReadPreKeyInfo(ciphertext);
        }
        catch (MalformedMessageException)
        {
            return null;
        }

        if (key is not null && info is not null)
        {
            headers[key] = info;
        }

        return info;
    }

    private enum WorkKind
    {
        Delivery,
        FetchPending,
        Acknowledge,
        Other,
    }

    private sealed record WorkItem(WorkKind Kind, object? Payload, TaskCompletionSource? Done);
}
