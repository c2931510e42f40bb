using System.Security.Cryptography;
using System.Threading.Channels;
using Messaging.Contracts;
using Messaging.Crypto;
using Messaging.Crypto.KeyStore;
using Messaging.Crypto.Keys;
using Messaging.Crypto.Ratchet;
using Messaging.Crypto.SafetyNumbers;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace Messaging.Client;

/// <summary>Options of a <see cref="MessagingClient"/>.</summary>
public sealed record MessagingClientOptions
{
    /// <summary>Argon2id cost of the key store (default: <see cref="KeyStoreOptions.Default"/>).</summary>
    public KeyStoreOptions KeyStore { get; init; } = KeyStoreOptions.Default;

    /// <summary>The clock.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>How many one-time prekeys to publish at enrolment and on each replenishment.</summary>
    public int OneTimePreKeyBatch { get; init; } = 100;

    /// <summary>The longest wait between two reconnection attempts.</summary>
    public TimeSpan MaxReconnectDelay { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a processed delivery's acknowledgement waits for a send to carry it before it is sent on its
    /// own. A device that talks as much as it listens then never makes a separate acknowledgement call.</summary>
    public TimeSpan AcknowledgementDelay { get; init; } = TimeSpan.FromMilliseconds(100);
}

/// <summary>What the server said about a send.</summary>
/// <param name="EnvelopeId">The envelope id (reuse it to retry the same send idempotently).</param>
/// <param name="Sequence">The server sequence number.</param>
/// <param name="AcceptedAt">When the server stored it durably.</param>
/// <param name="Recipients">How many devices it was encrypted for.</param>
public sealed record SendReceipt(Guid EnvelopeId, long Sequence, DateTimeOffset AcceptedAt, int Recipients);

/// <summary>A message that reached this device but could not be decrypted (it is acknowledged and dropped).</summary>
/// <param name="Sequence">Its server sequence number.</param>
/// <param name="SenderDeviceId">Its sender device.</param>
/// <param name="Reason">Why, without any content.</param>
public sealed record DeliveryFailure(long Sequence, Guid SenderDeviceId, string Reason);

/// <summary>
/// One device of one member: holds the device's keys and sessions in the encrypted key store, talks to the server over
/// HTTP and the SignalR hub, encrypts per recipient device and decrypts what it receives.
/// <para>Received envelopes are processed one at a time: decrypt, drop duplicates, persist the new state and the inbox
/// entry, publish on <see cref="Messages"/>, and only then acknowledge — so an acknowledged message is never lost, and a
/// crash before the acknowledgement only causes a redelivery that is dropped as a duplicate.</para>
/// <para>Thread-safe: every use of the device state is serialised.</para>
/// </summary>
public sealed partial class MessagingClient : IAsyncDisposable
{
    private const int SendAttempts = 4;

    /// <summary>At most this many sequences per acknowledgement call (the server accepts up to 500), and per fetched page.</summary>
    private const int MaxAcknowledgementBatch = 200;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly SemaphoreSlim _tokenGate = new(1, 1);
    private readonly SemaphoreSlim _establishGate = new(1, 1);
    private readonly UnlockedKeyStore _store;
    private readonly DeviceState _state;
    private readonly IdentityKeyPair _identity;
    private readonly MessagingClientOptions _options;
    private readonly Channel<WorkItem> _work = Channel.CreateUnbounded<WorkItem>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Channel<InboxMessage> _messages = Channel.CreateUnbounded<InboxMessage>();
    private readonly CancellationTokenSource _stopping = new();

    // Processed (and saved) deliveries not yet acknowledged: the next send carries them, or a separate call after
    // AcknowledgementDelay. Guarded by _acknowledgements itself.
    private readonly List<long> _acknowledgements = [];

    // The devices of each conversation as the server last listed them. A send uses them without asking again; the
    // server refuses a recipient set that is no longer right (naming the missing and stale devices), and only then is
    // the list fetched anew. Trust does not come from this list: every identity is checked against the key log.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<Guid, IReadOnlyList<DeviceAddress>> _conversationDevices = new();
    private bool _acknowledgementFlushScheduled;
    private HubConnection? _connection;
    private Task? _pump;
    private string? _token;
    private DateTimeOffset _tokenExpiresAt;
    private volatile bool _tokenUnsaved;

    private MessagingClient(UnlockedKeyStore store, DeviceState state, MessagingClientOptions options)
    {
        _store = store;
        _state = state;
        _options = options;
        _identity = IdentityKeyPair.FromSecrets(state.IdentitySeed, state.IdentityAgreementSecret);
        Api = new ServerApi(state.Server);
        if (state.AccessToken is { } stored)
        {
            (_token, _tokenExpiresAt) = (stored.Token, stored.ExpiresAt);
        }
    }

    /// <summary>Raised (on the processing loop) when a delivered envelope cannot be decrypted.</summary>
    public event EventHandler<DeliveryFailure>? DeliveryFailed;

    /// <summary>
    /// Raised (on the processing loop) when a received prekey message comes from a device whose identity key differs
    /// from the pinned one. The message is not accepted; compare safety numbers, then call <see cref="TrustIdentityAsync"/>.
    /// </summary>
    public event EventHandler<IdentityKeyChangedException>? IdentityKeyChanged;

    /// <summary>Raised when the server says this device was revoked.</summary>
    public event EventHandler? Revoked;

    /// <summary>This device.</summary>
    public Guid DeviceId => _state.DeviceId;

    /// <summary>This device's member.</summary>
    public Guid MemberId => _state.MemberId;

    /// <summary>The member's organisation.</summary>
    public Guid OrganisationId => _state.OrganisationId;

    /// <summary>The member's role.</summary>
    public string Role => _state.Role;

    /// <summary>This device's public identity.</summary>
    public IdentityPublicKey Identity => _identity.PublicKey;

    /// <summary>The server's HTTP API (administration calls take <see cref="GetAccessTokenAsync"/>).</summary>
    public ServerApi Api { get; }

    /// <summary>Decrypted messages as they arrive (after they were persisted).</summary>
    public ChannelReader<InboxMessage> Messages => _messages.Reader;

    /// <summary>Whether the hub connection is up.</summary>
    public bool IsConnected => _connection?.State == HubConnectionState.Connected;

    /// <summary>
    /// Enrols a new device with a one-time code: generates its identity, a signed prekey and one-time prekeys, registers
    /// the public halves, and creates the encrypted key store at <paramref name="storePath"/>.
    /// </summary>
    /// <exception cref="MessagingClientException">A key store already exists at <paramref name="storePath"/>.</exception>
    /// <exception cref="ServerRefusedException">The server refused the code or the keys.</exception>
    public static async Task<MessagingClient> EnrolAsync(Uri server, string code, string storePath, Passphrase passphrase, MessagingClientOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentException.ThrowIfNullOrWhiteSpace(code);
        options ??= new MessagingClientOptions();
        var store = new EncryptedKeyStore(storePath, options.KeyStore);
        if (store.Exists())
        {
            throw new MessagingClientException("A device is already enrolled with this key store; choose another path.");
        }

        var state = new DeviceState
        {
            Server = server,
            IdentitySeed = RandomNumberGenerator.GetBytes(32),
            IdentityAgreementSecret = RandomNumberGenerator.GetBytes(32),
        };
        using var identity = IdentityKeyPair.FromSecrets(state.IdentitySeed, state.IdentityAgreementSecret);
        var signedPreKeySecret = RandomNumberGenerator.GetBytes(32);
        using var signedPreKey = SignedPreKeyPair.FromSecret(identity, 1, signedPreKeySecret);
        state.SignedPreKeys.Add(new StoredSignedPreKey(1, signedPreKeySecret));
        var oneTimePreKeys = NewOneTimePreKeys(state, options.OneTimePreKeyBatch);

        using var api = new ServerApi(server);
        var enrolled = await api.EnrolAsync(
            new EnrolDeviceRequest(
                code,
                identity.PublicKey.ToBytes(),
                new SignedPreKeyData(1, signedPreKey.PublicKey.PublicKey, signedPreKey.PublicKey.Signature),
                oneTimePreKeys),
            cancellationToken).ConfigureAwait(false);
        state.DeviceId = enrolled.DeviceId;
        state.MemberId = enrolled.MemberId;
        state.OrganisationId = enrolled.OrganisationId;
        state.Role = enrolled.Role;
        state.PinnedIdentities[enrolled.DeviceId] = identity.PublicKey.ToBytes();

        var unlocked = await store.CreateAsync(state.Serialize(), passphrase, cancellationToken).ConfigureAwait(false);
        return new MessagingClient(unlocked, state, options);
    }

    /// <summary>Opens an enrolled device's key store.</summary>
    /// <exception cref="KeyStoreAuthenticationException">Wrong passphrase, or the file was modified.</exception>
    /// <exception cref="KeyStoreNotFoundException">No device is enrolled at this path.</exception>
    public static async Task<MessagingClient> OpenAsync(string storePath, Passphrase passphrase, MessagingClientOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new MessagingClientOptions();
        var unlocked = await new EncryptedKeyStore(storePath, options.KeyStore).UnlockAsync(passphrase, cancellationToken).ConfigureAwait(false);
        try
        {
            using var payload = await unlocked.ReadAsync(cancellationToken).ConfigureAwait(false);
            return new MessagingClient(unlocked, DeviceState.Deserialize(payload.Span), options);
        }
        catch
        {
            unlocked.Dispose();
            throw;
        }
    }

    /// <summary>A valid access token for this device (challenge signed with the identity key), renewed before it expires.</summary>
    public async Task<string> GetAccessTokenAsync(CancellationToken cancellationToken = default)
    {
        await _tokenGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_token is not null && _tokenExpiresAt - _options.Time.GetUtcNow() > TimeSpan.FromMinutes(1))
            {
                return _token;
            }

            var challenge = await Api.ChallengeAsync(DeviceId, cancellationToken).ConfigureAwait(false);
            var token = await Api.TokenAsync(new TokenRequest(DeviceId, challenge.Challenge, _identity.SignChallenge(challenge.Challenge)), cancellationToken).ConfigureAwait(false);
            (_token, _tokenExpiresAt) = (token.AccessToken, token.ExpiresAt);
            // Kept in the encrypted store with the next save, so that short-lived processes (the CLI: one command, one
            // process) reuse it instead of authenticating every time and running into the authentication rate limit.
            // Not saved here: a save needs the state gate, which callers of this method may hold.
            _state.AccessToken = new StoredToken(token.AccessToken, token.ExpiresAt);
            _tokenUnsaved = true;
            return _token;
        }
        finally
        {
            _tokenGate.Release();
        }
    }

    /// <summary>Connects to the hub (reconnecting by itself for as long as the client lives) and fetches what is pending.</summary>
    public async Task ConnectAsync(CancellationToken cancellationToken = default)
    {
        if (_connection is not null)
        {
            return;
        }

        var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(_state.Server, HubRoutes.Messaging), o => o.AccessTokenProvider = async () => await GetAccessTokenAsync(_stopping.Token).ConfigureAwait(false))
            .WithAutomaticReconnect(new ForeverRetryPolicy(_options.MaxReconnectDelay))
            .Build();
        // Handlers only enqueue: the SignalR client runs them on its receive loop, so awaiting a hub call inside one would deadlock.
        connection.On<EnvelopeDelivery>(nameof(IMessagingClient.ReceiveEnvelope), d => _work.Writer.TryWrite(new WorkItem(WorkKind.Delivery, d)));
        connection.On<int>(nameof(IMessagingClient.PreKeysLow), _ => _work.Writer.TryWrite(new WorkItem(WorkKind.Replenish, null)));
        connection.On(nameof(IMessagingClient.DeviceRevoked), () => Revoked?.Invoke(this, EventArgs.Empty));
        connection.Reconnected += _ =>
        {
            _work.Writer.TryWrite(new WorkItem(WorkKind.FetchPending, null));
            return Task.CompletedTask;
        };
        connection.Closed += async _ =>
        {
            // Automatic reconnection gives up only if the first attempts fail during a start; keep trying while alive.
            while (!_stopping.IsCancellationRequested && connection.State == HubConnectionState.Disconnected)
            {
                try
                {
                    await Task.Delay(_options.MaxReconnectDelay, _stopping.Token).ConfigureAwait(false);
                    await connection.StartAsync(_stopping.Token).ConfigureAwait(false);
                    _work.Writer.TryWrite(new WorkItem(WorkKind.FetchPending, null));
                }
                catch (Exception ex) when (ex is HttpRequestException or InvalidOperationException or OperationCanceledException or ServerRefusedException or System.Net.WebSockets.WebSocketException)
                {
                    // Still unreachable (or stopping): try again after the delay.
                }
            }
        };

        _connection = connection;
        await connection.StartAsync(cancellationToken).ConfigureAwait(false);
        _pump = Task.Run(() => PumpAsync(_stopping.Token), CancellationToken.None);
        await SynchronizeAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Fetches and processes every envelope pending for this device; completes when they are in the inbox.</summary>
    public async Task SynchronizeAsync(CancellationToken cancellationToken = default)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _work.Writer.TryWrite(new WorkItem(WorkKind.FetchPending, done));
        await done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Who the server says this device is.</summary>
    public Task<WhoAmIResult> WhoAmIAsync(CancellationToken cancellationToken = default)
        => InvokeAsync<WhoAmIResult>(nameof(IMessagingHub.WhoAmI), cancellationToken);

    /// <summary>The directory's organisations.</summary>
    public Task<IReadOnlyList<OrganisationEntry>> ListOrganisationsAsync(CancellationToken cancellationToken = default)
        => InvokeAsync<IReadOnlyList<OrganisationEntry>>(nameof(IMessagingHub.ListOrganisations), cancellationToken);

    /// <summary>The directory's members, optionally of one organisation.</summary>
    public Task<IReadOnlyList<MemberEntry>> ListMembersAsync(Guid? organisationId = null, CancellationToken cancellationToken = default)
        => InvokeAsync<IReadOnlyList<MemberEntry>>(nameof(IMessagingHub.ListMembers), new ListMembersRequest(organisationId), cancellationToken);

    /// <summary>The conversations of this member.</summary>
    public Task<IReadOnlyList<ConversationSummary>> ListConversationsAsync(CancellationToken cancellationToken = default)
        => InvokeAsync<IReadOnlyList<ConversationSummary>>(nameof(IMessagingHub.ListConversations), cancellationToken);

    /// <summary>Creates a conversation with this member and <paramref name="memberIds"/>.</summary>
    public Task<ConversationSummary> CreateConversationAsync(IReadOnlyList<Guid> memberIds, bool collective = false, CancellationToken cancellationToken = default)
        => InvokeAsync<ConversationSummary>(nameof(IMessagingHub.CreateConversation), new CreateConversationRequest(memberIds, collective), cancellationToken);

    /// <summary>Adds <paramref name="memberId"/> to a conversation (the server checks this member may).</summary>
    /// <exception cref="NotPermittedException">This member may not change the conversation's membership.</exception>
    /// <exception cref="TargetNotFoundException">The conversation or member does not exist.</exception>
    public Task<ConversationSummary> AddConversationMemberAsync(Guid conversationId, Guid memberId, CancellationToken cancellationToken = default)
        => InvokeAsync<ConversationSummary>(nameof(IMessagingHub.AddConversationMember), new ConversationMemberRequest(conversationId, memberId), cancellationToken);

    /// <summary>Removes <paramref name="memberId"/> from a conversation; later sends leave out its devices.</summary>
    /// <exception cref="NotPermittedException">This member may not change the conversation's membership.</exception>
    /// <exception cref="TargetNotFoundException">The conversation or member does not exist.</exception>
    public Task<ConversationSummary> RemoveConversationMemberAsync(Guid conversationId, Guid memberId, CancellationToken cancellationToken = default)
        => InvokeAsync<ConversationSummary>(nameof(IMessagingHub.RemoveConversationMember), new ConversationMemberRequest(conversationId, memberId), cancellationToken);

    /// <summary>The decrypted messages kept on this device, in server order.</summary>
    public async Task<IReadOnlyList<InboxMessage>> GetInboxAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return [.. _state.Inbox.OrderBy(m => m.Sequence)];
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Sends a chat message to every device of every member of a conversation (this member's other devices included).</summary>
    public Task<SendReceipt> SendTextAsync(Guid conversationId, string text, CancellationToken cancellationToken = default)
        => SendAsync(conversationId, EnvelopeKind.Chat, System.Text.Encoding.UTF8.GetBytes(text), cancellationToken: cancellationToken);

    /// <summary>
    /// Encrypts <paramref name="body"/> once per recipient device and sends it. When the server reports missing or stale
    /// devices, fixes the sessions and resends with the same envelope id (idempotent on the server).
    /// </summary>
    /// <exception cref="ServerRefusedException">The server's policy refused the send (nothing was stored).</exception>
    /// <exception cref="IdentityKeyChangedException">A recipient device's identity changed.</exception>
    /// <exception cref="SendNotCompletedException">The device set kept changing.</exception>
    public async Task<SendReceipt> SendAsync(Guid conversationId, EnvelopeKind kind, ReadOnlyMemory<byte> body, string? caseReference = null, Guid? consentId = null, Guid? envelopeId = null, CancellationToken cancellationToken = default)
    {
        var id = envelopeId ?? Guid.NewGuid();
        var frame = PlaintextFrame.Wrap(body.Span);
        for (var attempt = 0; attempt < SendAttempts; attempt++)
        {
            if (!_conversationDevices.TryGetValue(conversationId, out var devices))
            {
                devices = (await InvokeAsync<ConversationDevices>(nameof(IMessagingHub.GetConversationDevices), new GetConversationDevicesRequest(conversationId), cancellationToken).ConfigureAwait(false)).Devices;
                _conversationDevices[conversationId] = devices;
            }

            var targets = devices.Where(d => d.DeviceId != DeviceId).ToList();
            var recipients = await EncryptForAsync(targets, frame, AssociatedData(id, conversationId, DeviceId, kind), cancellationToken).ConfigureAwait(false);
            // Pending acknowledgements ride along; the server applies them only if it accepts the send.
            var acknowledge = TakeAcknowledgements();
            SendEnvelopeResult result;
            try
            {
                result = await InvokeAsync<SendEnvelopeResult>(nameof(IMessagingHub.SendEnvelope), new SendEnvelopeRequest(id, conversationId, kind, recipients, caseReference, consentId, acknowledge), cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                QueueAcknowledgements(acknowledge);
                _conversationDevices.TryRemove(conversationId, out _);
                throw;
            }

            if (result.Outcome == SendOutcome.Accepted)
            {
                return new SendReceipt(id, result.Sequence, result.AcceptedAt ?? _options.Time.GetUtcNow(), recipients.Count);
            }

            // The device set changed: list it anew for the next attempt.
            QueueAcknowledgements(acknowledge);
            _conversationDevices.TryRemove(conversationId, out _);
            await DropSessionsAsync(result.StaleDeviceIds, cancellationToken).ConfigureAwait(false);
        }

        throw new SendNotCompletedException($"The devices of conversation {conversationId} kept changing; the send was not completed.");
    }

    /// <summary>The safety numbers between this device and each active device of <paramref name="memberId"/>.</summary>
    public async Task<IReadOnlyList<(Guid DeviceId, string SafetyNumber)>> GetSafetyNumbersAsync(Guid memberId, CancellationToken cancellationToken = default)
    {
        await SyncKeyLogAsync(cancellationToken).ConfigureAwait(false);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return [.. _state.KeyLogDevices
                .Where(d => d.Value.MemberId == memberId && d.Value.Active && d.Key != DeviceId)
                .Select(d => (d.Key, SafetyNumber.Compute(MemberId.ToString("D"), Identity, memberId.ToString("D"), IdentityPublicKey.Parse(d.Value.IdentityKey)).Displayable))];
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The devices of <paramref name="memberId"/> (default: this member) according to the verified key log.</summary>
    public async Task<IReadOnlyList<(Guid DeviceId, bool Active)>> GetDevicesAsync(Guid? memberId = null, CancellationToken cancellationToken = default)
    {
        await SyncKeyLogAsync(cancellationToken).ConfigureAwait(false);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var member = memberId ?? MemberId;
            return [.. _state.KeyLogDevices.Where(d => d.Value.MemberId == member).Select(d => (d.Key, d.Value.Active))];
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Accepts the identity the verified key log now records for <paramref name="deviceId"/>, after the user
    /// compared safety numbers; drops the old session.</summary>
    public async Task TrustIdentityAsync(Guid deviceId, CancellationToken cancellationToken = default)
    {
        await SyncKeyLogAsync(cancellationToken).ConfigureAwait(false);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_state.KeyLogDevices.TryGetValue(deviceId, out var device) || !device.Active)
            {
                throw new MessagingClientException($"Device {deviceId} is not an active device in the key log.");
            }

            _state.PinnedIdentities[deviceId] = device.IdentityKey;
            _state.Sessions.Remove(deviceId);
            await SaveAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Fetches and verifies the key log from the last verified entry; records device keys.</summary>
    /// <exception cref="KeyLogTamperedException">The chain does not continue from the recorded head.</exception>
    public async Task SyncKeyLogAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            long from;
            await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                from = _state.KeyLogNextIndex;
            }
            finally
            {
                _gate.Release();
            }

            var page = await InvokeAsync<KeyLogPage>(nameof(IMessagingHub.GetKeyLog), new GetKeyLogRequest(from, 500), cancellationToken).ConfigureAwait(false);
            await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (_state.KeyLogNextIndex != from)
                {
                    continue;
                }

                if (KeyLogHash.FindFirstBroken(page.Entries, from, _state.KeyLogHead) is { } broken)
                {
                    throw new KeyLogTamperedException(broken);
                }

                foreach (var entry in page.Entries)
                {
                    _state.KeyLogDevices[entry.DeviceId] = new KeyLogDevice(entry.MemberId, entry.IdentityKey, entry.Action == KeyLogAction.Added);
                    _state.KeyLogHead = entry.Hash;
                    _state.KeyLogNextIndex = entry.Index + 1;
                }

                if (page.Entries.Count > 0)
                {
                    await SaveAsync(cancellationToken).ConfigureAwait(false);
                }
            }
            finally
            {
                _gate.Release();
            }

            if (!page.HasMore)
            {
                return;
            }
        }
    }

    private async Task<List<RecipientCiphertext>> EncryptForAsync(List<DeviceAddress> targets, byte[] frame, byte[] associatedData, CancellationToken cancellationToken)
    {
        await EnsureSessionsAsync(targets, cancellationToken).ConfigureAwait(false);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var recipients = new List<RecipientCiphertext>(targets.Count);
            foreach (var target in targets)
            {
                if (!_state.Sessions.TryGetValue(target.DeviceId, out var sessions) || sessions.Count == 0)
                {
                    throw new SendNotCompletedException($"No session could be established with device {target.DeviceId}.");
                }

                using var session = Session.Deserialize(sessions[0].State);
                recipients.Add(new RecipientCiphertext(target.DeviceId, session.Encrypt(frame, associatedData)));
                sessions[0] = sessions[0] with { State = session.Serialize() };
            }

            // The ratchets advanced: persist before the ciphertext leaves, so a restart never reuses a message key.
            await SaveAsync(cancellationToken).ConfigureAwait(false);
            return recipients;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Starts a session with every target that has none. Establishment is serialised: concurrent sends that both found
    /// no session would otherwise each start one (each consuming a one-time prekey), and a surplus of parallel sessions
    /// pushes the one still in use out of the receiver's bounded session list, whose later messages it could no longer
    /// read.
    /// </summary>
    private async Task EnsureSessionsAsync(List<DeviceAddress> targets, CancellationToken cancellationToken)
    {
        await _establishGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await EnsureSessionsSerialisedAsync(targets, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _establishGate.Release();
        }
    }

    private async Task EnsureSessionsSerialisedAsync(List<DeviceAddress> targets, CancellationToken cancellationToken)
    {
        List<DeviceAddress> missing;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            missing = [.. targets.Where(t => !_state.Sessions.TryGetValue(t.DeviceId, out var sessions) || sessions.Count == 0)];
        }
        finally
        {
            _gate.Release();
        }

        if (missing.Count == 0)
        {
            return;
        }

        await SyncKeyLogAsync(cancellationToken).ConfigureAwait(false);
        foreach (var member in missing.Select(m => m.MemberId).Distinct())
        {
            var bundles = await InvokeAsync<PreKeyBundles>(nameof(IMessagingHub.GetPreKeyBundles), new GetPreKeyBundlesRequest(member), cancellationToken).ConfigureAwait(false);
            await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                foreach (var bundle in bundles.Bundles.Where(b => missing.Any(m => m.DeviceId == b.DeviceId)))
                {
                    var identity = VerifyRemoteIdentity(bundle.DeviceId, member, bundle.IdentityKey);
                    var signedPreKey = SignedPreKeyPublic.Create(bundle.SignedPreKey.Id, bundle.SignedPreKey.PublicKey, bundle.SignedPreKey.Signature, identity);
                    var oneTimePreKey = bundle.OneTimePreKey is { } o ? OneTimePreKeyPublic.Create(o.Id, o.PublicKey) : null;
                    using var session = Session.Initiate(_identity, new PreKeyBundle(identity, signedPreKey, oneTimePreKey));
                    PromoteSession(bundle.DeviceId, new StoredSession(member, session.Serialize()));
                }

                await SaveAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _gate.Release();
            }
        }
    }

    /// <summary>Checks an identity the server handed out against the verified key log and the pinned identity. Caller holds the gate.</summary>
    private IdentityPublicKey VerifyRemoteIdentity(Guid deviceId, Guid memberId, byte[] identityKey)
    {
        if (!_state.KeyLogDevices.TryGetValue(deviceId, out var logged) || !logged.Active || logged.MemberId != memberId
            || !CryptographicOperations.FixedTimeEquals(logged.IdentityKey, identityKey))
        {
            throw new MessagingClientException($"The server presented a key for device {deviceId} that its verified key log does not record.");
        }

        if (_state.PinnedIdentities.TryGetValue(deviceId, out var pinned) && !CryptographicOperations.FixedTimeEquals(pinned, identityKey))
        {
            throw new IdentityKeyChangedException(deviceId, memberId);
        }

        _state.PinnedIdentities[deviceId] = identityKey;
        return IdentityPublicKey.Parse(identityKey);
    }

    private async Task DropSessionsAsync(IReadOnlyList<Guid> devices, CancellationToken cancellationToken)
    {
        if (devices.Count == 0)
        {
            return;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            foreach (var device in devices)
            {
                _state.Sessions.Remove(device);
            }

            await SaveAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
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
                        await ProcessDeliveryAsync(delivery, cancellationToken).ConfigureAwait(false);
                        if (QueueAcknowledgements([delivery.Sequence]) >= MaxAcknowledgementBatch)
                        {
                            await FlushAcknowledgementsAsync(cancellationToken).ConfigureAwait(false);
                        }

                        break;
                    case WorkKind.Acknowledge:
                        await FlushAcknowledgementsAsync(cancellationToken).ConfigureAwait(false);
                        break;
                    case WorkKind.FetchPending:
                        await FetchPendingAsync(cancellationToken).ConfigureAwait(false);
                        (item.Payload as TaskCompletionSource)?.TrySetResult();
                        break;
                    case WorkKind.Replenish:
                        await ReplenishOneTimePreKeysAsync(cancellationToken).ConfigureAwait(false);
                        break;
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // Disconnected mid-way or refused: what is not acknowledged is redelivered on the next (re)connect,
                // recognised as already processed, and acknowledged then.
                (item.Payload as TaskCompletionSource)?.TrySetException(ex);
            }
        }
    }

    /// <summary>Queues processed sequences for acknowledgement and makes sure a separate call follows after
    /// <see cref="MessagingClientOptions.AcknowledgementDelay"/> unless a send carries them first. Returns how many wait.</summary>
    private int QueueAcknowledgements(IReadOnlyList<long>? sequences)
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

    private async Task FlushAcknowledgementsLaterAsync()
    {
        try
        {
            await Task.Delay(_options.AcknowledgementDelay, _options.Time, _stopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        lock (_acknowledgements)
        {
            _acknowledgementFlushScheduled = false;
        }

        // Through the processing loop, which makes every hub call of the receiving side one after another.
        _work.Writer.TryWrite(new WorkItem(WorkKind.Acknowledge, null));
    }

    /// <summary>Takes every waiting acknowledgement (null when none waits).</summary>
    private long[]? TakeAcknowledgements()
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

    private async Task FlushAcknowledgementsAsync(CancellationToken cancellationToken)
    {
        while (TakeAcknowledgements() is { } waiting)
        {
            foreach (var chunk in waiting.Chunk(MaxAcknowledgementBatch))
            {
                await AcknowledgeAsync(chunk, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Acknowledges <paramref name="sequences"/> (at most <see cref="MaxAcknowledgementBatch"/>) in one call;
    /// the server deletes this device's copies.</summary>
    private async Task AcknowledgeAsync(IReadOnlyList<long> sequences, CancellationToken cancellationToken)
    {
        if (sequences.Count > 0)
        {
            await InvokeAsync<AcknowledgeResult>(nameof(IMessagingHub.AcknowledgeEnvelopes), new AcknowledgeRequest(sequences), cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task FetchPendingAsync(CancellationToken cancellationToken)
    {
        long after = 0;
        while (true)
        {
            var page = await InvokeAsync<PendingEnvelopes>(nameof(IMessagingHub.FetchPending), new FetchPendingRequest(after, MaxAcknowledgementBatch), cancellationToken).ConfigureAwait(false);
            var processed = new List<long>(page.Envelopes.Count);
            foreach (var delivery in page.Envelopes)
            {
                await ProcessDeliveryAsync(delivery, cancellationToken).ConfigureAwait(false);
                processed.Add(delivery.Sequence);
                after = delivery.Sequence;
            }

            // One acknowledgement per page: every envelope of it is processed and saved by now.
            await AcknowledgeAsync(processed, cancellationToken).ConfigureAwait(false);

            if (!page.HasMore || page.Envelopes.Count == 0)
            {
                return;
            }
        }
    }

    private async Task ProcessDeliveryAsync(EnvelopeDelivery delivery, CancellationToken cancellationToken)
    {
        var key = DeviceState.ProcessedKey(delivery.SenderDeviceId, delivery.EnvelopeId);
        InboxMessage? message = null;
        var info = TryReadPreKeyInfo(delivery.Ciphertext);
        if (info is not null)
        {
            // A new session names its initiator: check it against the verified key log before accepting it.
            await SyncKeyLogIfUnknownAsync(delivery.SenderDeviceId, cancellationToken).ConfigureAwait(false);
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_state.Processed.Contains(key))
            {
                try
                {
                    var body = PlaintextFrame.Unwrap(Decrypt(delivery, info));
                    message = new InboxMessage(delivery.Sequence, delivery.EnvelopeId, delivery.ConversationId, delivery.SenderMemberId, delivery.SenderDeviceId, delivery.Kind, body, delivery.SentAt);
                    _state.Inbox.Add(message);
                }
                catch (DuplicateMessageException)
                {
                    // Already decrypted earlier (its processed mark was evicted): nothing new.
                }
                catch (IdentityKeyChangedException ex)
                {
                    IdentityKeyChanged?.Invoke(this, ex);
                    DeliveryFailed?.Invoke(this, new DeliveryFailure(delivery.Sequence, delivery.SenderDeviceId, ex.GetType().Name));
                }
                catch (Exception ex) when (ex is CryptoException or MessagingClientException)
                {
                    DeliveryFailed?.Invoke(this, new DeliveryFailure(delivery.Sequence, delivery.SenderDeviceId, ex.GetType().Name));
                }

                _state.Processed.Add(key);
                if (_state.Processed.Count > DeviceState.MaxProcessed)
                {
                    _state.Processed.RemoveRange(0, _state.Processed.Count - DeviceState.MaxProcessed);
                }

                await SaveAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }

        if (message is not null)
        {
            _messages.Writer.TryWrite(message);
        }

        // The caller acknowledges it, batched with its neighbours, now that it is processed and saved.
    }

    private static PreKeyMessageInfo? TryReadPreKeyInfo(byte[] ciphertext)
    {
        try
        {
            return Session.ReadPreKeyInfo(ciphertext);
        }
        catch (MalformedMessageException)
        {
            return null;
        }
    }

    private async Task SyncKeyLogIfUnknownAsync(Guid deviceId, CancellationToken cancellationToken)
    {
        bool known;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            known = _state.KeyLogDevices.ContainsKey(deviceId);
        }
        finally
        {
            _gate.Release();
        }

        if (!known)
        {
            await SyncKeyLogAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Decrypts with one of the sender device's sessions (promoting the one that worked to current), or starts the
    /// session a new prekey message carries. A failed attempt leaves every session unchanged. Caller holds the gate.
    /// </summary>
    private byte[] Decrypt(EnvelopeDelivery delivery, PreKeyMessageInfo? info)
    {
        var associatedData = AssociatedData(delivery.EnvelopeId, delivery.ConversationId, delivery.SenderDeviceId, delivery.Kind);
        var sessions = _state.Sessions.TryGetValue(delivery.SenderDeviceId, out var known) ? known : [];
        CryptoException? failure = null;
        for (var i = 0; i < sessions.Count; i++)
        {
            using var session = Session.Deserialize(sessions[i].State);
            if (info is not null && !session.Continues(info))
            {
                continue;
            }

            try
            {
                var plaintext = session.Decrypt(delivery.Ciphertext, associatedData);
                var updated = sessions[i] with { State = session.Serialize() };
                sessions.RemoveAt(i);
                PromoteSession(delivery.SenderDeviceId, updated);
                return plaintext;
            }
            catch (DuplicateMessageException)
            {
                throw; // The message belongs to this session and was already read.
            }
            catch (CryptoException ex)
            {
                failure = ex; // Not this session's message: try the next one.
            }
        }

        if (info is null)
        {
            throw failure is null ? new MessagingClientException("No session with the sending device.") : failure;
        }

        var initiator = VerifyRemoteIdentity(delivery.SenderDeviceId, delivery.SenderMemberId, info.Initiator.ToBytes());
        var signedPreKey = _state.SignedPreKeys.FirstOrDefault(s => s.Id == info.SignedPreKeyId)
            ?? throw new MessagingClientException("The message names a signed prekey this device no longer has.");
        byte[]? oneTimeSecret = null;
        if (info.OneTimePreKeyId is { } oneTimeId && !_state.OneTimePreKeys.TryGetValue(oneTimeId, out oneTimeSecret))
        {
            throw new DuplicateMessageException("The one-time prekey the message names was already used.");
        }

        using var signed = SignedPreKeyPair.FromSecret(_identity, signedPreKey.Id, signedPreKey.Secret);
        using var oneTime = oneTimeSecret is null ? null : OneTimePreKeyPair.FromSecret(info.OneTimePreKeyId!.Value, oneTimeSecret);
        using var accepted = Session.AcceptPreKeyMessage(_identity, signed, oneTime, delivery.Ciphertext, associatedData, out var first);
        if (!accepted.RemoteIdentity.Equals(initiator))
        {
            throw new MessagingClientException("The session's identity does not match the key log.");
        }

        if (info.OneTimePreKeyId is { } used)
        {
            _state.OneTimePreKeys.Remove(used);
        }

        PromoteSession(delivery.SenderDeviceId, new StoredSession(delivery.SenderMemberId, accepted.Serialize()));
        return first;
    }

    /// <summary>Makes <paramref name="session"/> the device's current session, keeping a few older ones. Caller holds the gate.</summary>
    private void PromoteSession(Guid deviceId, StoredSession session)
    {
        if (!_state.Sessions.TryGetValue(deviceId, out var sessions))
        {
            _state.Sessions[deviceId] = sessions = [];
        }

        sessions.Insert(0, session);
        if (sessions.Count > DeviceState.MaxSessionsPerDevice)
        {
            sessions.RemoveRange(DeviceState.MaxSessionsPerDevice, sessions.Count - DeviceState.MaxSessionsPerDevice);
        }
    }

    private async Task ReplenishOneTimePreKeysAsync(CancellationToken cancellationToken)
    {
        List<OneTimePreKeyData> fresh;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            fresh = NewOneTimePreKeys(_state, _options.OneTimePreKeyBatch);
            await SaveAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }

        await InvokeAsync<PreKeyStatus>(nameof(IMessagingHub.UploadOneTimePreKeys), new UploadOneTimePreKeysRequest(fresh), cancellationToken).ConfigureAwait(false);
    }

    private static List<OneTimePreKeyData> NewOneTimePreKeys(DeviceState state, int count)
    {
        var published = new List<OneTimePreKeyData>(count);
        for (var i = 0; i < count; i++)
        {
            var id = state.NextOneTimePreKeyId++;
            var secret = RandomNumberGenerator.GetBytes(32);
            using var pair = OneTimePreKeyPair.FromSecret(id, secret);
            state.OneTimePreKeys[id] = secret;
            published.Add(new OneTimePreKeyData(id, pair.PublicKey.PublicKey));
        }

        return published;
    }

    /// <summary>Binds a ciphertext to its envelope: id, conversation, sending device and kind.</summary>
    internal static byte[] AssociatedData(Guid envelopeId, Guid conversationId, Guid senderDeviceId, EnvelopeKind kind)
    {
        var ad = new byte[16 + 16 + 16 + 1];
        envelopeId.TryWriteBytes(ad.AsSpan(0, 16), bigEndian: true, out _);
        conversationId.TryWriteBytes(ad.AsSpan(16, 16), bigEndian: true, out _);
        senderDeviceId.TryWriteBytes(ad.AsSpan(32, 16), bigEndian: true, out _);
        ad[48] = (byte)kind;
        return ad;
    }

    private Task SaveAsync(CancellationToken cancellationToken)
    {
        _tokenUnsaved = false;
        return _store.SaveAsync(_state.Serialize(), cancellationToken);
    }

    private async Task<T> InvokeAsync<T>(string method, CancellationToken cancellationToken)
    {
        var connection = _connection ?? throw new InvalidOperationException("Connect first.");
        try
        {
            return await connection.InvokeAsync<T>(method, cancellationToken).ConfigureAwait(false);
        }
        catch (HubException ex)
        {
            throw Refusal(ex);
        }
    }

    private async Task<T> InvokeAsync<T>(string method, object argument, CancellationToken cancellationToken)
    {
        var connection = _connection ?? throw new InvalidOperationException("Connect first.");
        try
        {
            return await connection.InvokeAsync<T>(method, argument, cancellationToken).ConfigureAwait(false);
        }
        catch (HubException ex)
        {
            throw Refusal(ex);
        }
    }

    private static ServerRefusedException Refusal(HubException ex)
        => ErrorCodes.TryParseHubMessage(ex.Message, out var code, out var text)
            ? ServerRefusedException.FromCode(code, text)
            : new ServerRefusedException("hub.error", ex.Message);

    /// <summary>Stops the connection and the processing loop, and zeroes the keys held in memory.</summary>
    public async ValueTask DisposeAsync()
    {
        if (IsConnected)
        {
            // Best effort: what stays unacknowledged is redelivered on the next connection and dropped as a duplicate.
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await FlushAcknowledgementsAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or MessagingClientException or InvalidOperationException or HubException)
            {
                // Disconnected or refused: nothing is lost.
            }
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _work.Writer.TryComplete();
        if (_connection is not null)
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
        }

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
        }

        _messages.Writer.TryComplete();
        if (_tokenUnsaved)
        {
            try
            {
                await SaveAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (IOException)
            {
                // Only the token would be lost: the next process authenticates again.
            }
        }

        _identity.Dispose();
        _store.Dispose();
        Api.Dispose();
        _gate.Dispose();
        _tokenGate.Dispose();
        _establishGate.Dispose();
        _stopping.Dispose();
    }

    private enum WorkKind
    {
        Delivery,
        FetchPending,
        Replenish,
        Acknowledge,
    }

    private sealed record WorkItem(WorkKind Kind, object? Payload);

    private sealed class ForeverRetryPolicy(TimeSpan maxDelay) : IRetryPolicy
    {
        public TimeSpan? NextRetryDelay(RetryContext retryContext)
            => TimeSpan.FromMilliseconds(Math.Min(maxDelay.TotalMilliseconds, 100 * Math.Pow(2, Math.Min(retryContext.PreviousRetryCount, 10))));
    }
}
