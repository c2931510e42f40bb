using System.Security.Cryptography;
using System.Threading.Channels;
using Messaging.Client.Connection;
using Messaging.Client.KeyLog;
using Messaging.Client.PreKeys;
using Messaging.Client.Sending;
using Messaging.Client.Sessions;
using Messaging.Client.Storage;
using Messaging.Contracts;
using Messaging.Crypto.CrossSigning;
using Messaging.Crypto.KeyStore;
using Messaging.Crypto.Keys;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace Messaging.Client;

/// <summary>Options of a <see cref="MessagingClient"/>.</summary>
public sealed record MessagingClientOptions
{
    /// <summary>Argon2id cost of the key store (default: <see cref="KeyStoreOptions.Default"/>).</summary>
    public KeyStoreOptions KeyStore { get; init; } = KeyStoreOptions.Default;

    /// <summary>The lowest Argon2id cost a key store is created or opened with: production's
    /// (<see cref="KeyStoreOptions.Interactive"/>) everywhere but in the tests' own process, whose devices never leave it
    /// at a lower cost (a store handed to another process is sealed again at production's).</summary>
    internal KeyStoreLimits KeyStoreLimits { get; init; } = KeyStoreLimits.Production;

    /// <summary>The clock.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>How many one-time prekeys to publish at enrolment and on each replenishment.</summary>
    public int OneTimePreKeyBatch { get; init; } = 100;

    /// <summary>The longest wait between two reconnection attempts.</summary>
    public TimeSpan MaxReconnectDelay { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a send (or another call safe to repeat: acknowledgements, reads) waits for the client to
    /// reconnect when it is made while the connection is down, or after the server refused it with
    /// <see cref="ServerStoppingException"/> (the instance is shutting down), before it is sent (once more); past it the
    /// error surfaces. Default 30 s.</summary>
    public TimeSpan StoppingRetryWait { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a processed delivery's acknowledgement waits for a send to carry it before it is sent on its
    /// own. A device that talks as much as it listens then never makes a separate acknowledgement call.</summary>
    public TimeSpan AcknowledgementDelay { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How often the signed prekey is replaced (default: weekly). Checked when the client connects and every
    /// <see cref="PreKeyCheckInterval"/> while it stays connected.</summary>
    public TimeSpan SignedPreKeyRotation { get; init; } = TimeSpan.FromDays(7);

    /// <summary>How long a replaced signed prekey's secret is kept for session starts already under way (default: 14
    /// days, longer than the server keeps an undelivered envelope) before it is erased.</summary>
    public TimeSpan SignedPreKeyGracePeriod { get; init; } = TimeSpan.FromDays(14);

    /// <summary>How often a connected client checks whether its signed prekey is due for rotation (default: hourly).</summary>
    public TimeSpan PreKeyCheckInterval { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Behaves like a client from before cross-signing (never publishes or fetches a member key): only for the
    /// tests of the migration of such devices.</summary>
    internal bool WithoutCrossSigning { get; init; }
}

/// <summary>What the server said about a send.</summary>
/// <param name="EnvelopeId">The envelope id (reuse it to retry the same send idempotently).</param>
/// <param name="Sequence">The server sequence number.</param>
/// <param name="AcceptedAt">When the server stored it durably.</param>
/// <param name="Recipients">How many devices it was encrypted for.</param>
public sealed record SendReceipt(Guid EnvelopeId, long Sequence, DateTimeOffset AcceptedAt, int Recipients)
{
    /// <summary>Devices of the conversation the message could not be encrypted for (their prekey bundle was unusable);
    /// they did not receive it.</summary>
    public IReadOnlyList<UnreachableDevice> Unreachable { get; init; } = [];
}

/// <summary>A recipient device left out of a send because no session could be started with it.</summary>
/// <param name="DeviceId">The device.</param>
/// <param name="MemberId">Its member.</param>
/// <param name="Reason">Why (an error type name, no key material).</param>
public sealed record UnreachableDevice(Guid DeviceId, Guid MemberId, string Reason)
{
    /// <summary>The <see cref="Reason"/> of a device that no existing device of its member vouched for (pending approval,
    /// enrolled by someone else, a forged or replayed certificate, another member's device): it gets nothing.</summary>
    public const string NotVouchedReason = "NotVouchedByMember";

    /// <summary>The <see cref="Reason"/> of a device whose member the server lists in the conversation but whose
    /// signed membership log does not justify (a member row no participant signed for): it gets nothing.</summary>
    public const string NotInSignedMembershipReason = "NotInSignedMembership";
}

/// <summary>A device of a member, as an event names it.</summary>
/// <param name="MemberId">The member.</param>
/// <param name="DeviceId">The device.</param>
public sealed record MemberDevice(Guid MemberId, Guid DeviceId);

/// <summary>A message that reached this device but could not be decrypted (it is acknowledged and dropped).</summary>
/// <param name="Sequence">Its server sequence number.</param>
/// <param name="SenderDeviceId">Its sender device.</param>
/// <param name="Reason">Why, without any content.</param>
public sealed record DeliveryFailure(long Sequence, Guid SenderDeviceId, string Reason)
{
    /// <summary>The <see cref="Reason"/> of a message the server labelled as another member's than the one this device's
    /// session with its sending device was started with (a relabelled sender): refused, never shown as that member's.</summary>
    public const string SenderMemberMismatchReason = "SenderMemberMismatch";
}

/// <summary>
/// One device of one member: its keys in the encrypted key store, its sessions and received messages in a local
/// database beside it (every row sealed under a key from the key store), its connection to the server.
/// <para>A thin facade over parts with one job each: the connection (tokens, reconnection, hub calls), the device store
/// (the one owner of the state and its persistence), the sessions (setup, encryption, decryption, replay rules), the
/// key directory (key log and identity pinning), the inbox (deliveries, duplicates, acknowledgements), the sender and
/// the prekey upkeep (refills and signed-prekey rotation).</para>
/// <para>Received envelopes are committed to the local database a page at a time, published on <see cref="Messages"/>,
/// and only then acknowledged — so an acknowledged message is never lost, and a crash before the acknowledgement only
/// causes a redelivery that is dropped as a duplicate.</para>
/// <para>A key store has one owner at a time: opening it while another process (or another client of this process)
/// holds it fails with <see cref="KeyStoreLockedException"/>, which names that process. A key store file that changed
/// under its owner is never overwritten: the save fails with <see cref="KeyStoreConflictException"/>, which stops the
/// receiving loop and completes <see cref="Messages"/> with that error.</para>
/// <para>Thread-safe.</para>
/// </summary>
public sealed partial class MessagingClient : IAsyncDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly DeviceStore _store;
    private readonly MessagingClientOptions _options;
    private readonly HubLink _hub;
    private readonly KeyDirectory _keys;
    private readonly SessionBook _sessions;
    private readonly Inbox.Inbox _inbox;
    private readonly Sender _sender;
    private readonly PreKeyUpkeep _preKeys;
    private readonly DeviceTrust _trust;
    private readonly ConversationMembers _members;
    private Interviews.InterviewsClient? _interviewsClient;
    private ITimer? _upkeepTimer;
    private bool _disposed;

    private MessagingClient(DeviceStore store, MessagingClientOptions options)
    {
        _store = store;
        _options = options;
        _hub = new HubLink(store, options, _stopping.Token);
        _keys = new KeyDirectory(store, _hub);
        _sessions = new SessionBook(store, _hub, _keys, options.Time);
        _inbox = new Inbox.Inbox(store, _hub, _sessions, _keys, options, _stopping.Token);
        _members = new ConversationMembers(store, _hub, _keys, enabled: !options.WithoutCrossSigning);
        _sender = new Sender(_hub, _sessions, _keys, _members, _inbox, options, store.Keys.DeviceId);
        _preKeys = new PreKeyUpkeep(store, _hub, options);
        _trust = new DeviceTrust(store, _hub, _keys, options.Time);
        _sender.DeviceNotVouched += (_, device) => DeviceUnreachable?.Invoke(this, device);
        _keys.MemberKeyChanged += (_, member) => MemberKeyChanged?.Invoke(this, member);
        _keys.DeviceVouched += (_, device) => MemberDeviceAdded?.Invoke(this, device);
        _inbox.DeliveryFailed += (_, failure) => DeliveryFailed?.Invoke(this, failure);
        _inbox.IdentityKeyChanged += (_, changed) => IdentityKeyChanged?.Invoke(this, changed);
        _sessions.DeviceUnreachable += (_, device) => DeviceUnreachable?.Invoke(this, device);
    }

    /// <summary>Raised (on the processing loop) when a delivered envelope cannot be decrypted.</summary>
    public event EventHandler<DeliveryFailure>? DeliveryFailed;

    /// <summary>
    /// Raised (on the processing loop) when a received prekey message comes from a device whose identity key differs
    /// from the pinned one. The message is not accepted; compare safety numbers, then call <see cref="TrustIdentityAsync"/>.
    /// </summary>
    public event EventHandler<IdentityKeyChangedException>? IdentityKeyChanged;

    /// <summary>Raised during a send when a recipient device's prekey bundle is unusable: the send goes on without it
    /// (see <see cref="SendReceipt.Unreachable"/>).</summary>
    public event EventHandler<UnreachableDevice>? DeviceUnreachable;

    /// <summary>Raised when the server says this device was revoked.</summary>
    public event EventHandler? Revoked;

    /// <summary>This device.</summary>
    public Guid DeviceId => _store.Keys.DeviceId;

    /// <summary>This device's member.</summary>
    public Guid MemberId => _store.Keys.MemberId;

    /// <summary>The member's organisation.</summary>
    public Guid OrganisationId => _store.Keys.OrganisationId;

    /// <summary>The member's role.</summary>
    public string Role => _store.Keys.Role;

    /// <summary>This device's public identity.</summary>
    public IdentityPublicKey Identity => _store.Identity.PublicKey;

    /// <summary>The server's HTTP API (administration calls take <see cref="GetAccessTokenAsync"/>).</summary>
    public ServerApi Api => _hub.Api;

    /// <summary>Decrypted messages as they arrive (after they were stored).</summary>
    public ChannelReader<InboxMessage> Messages => _inbox.Messages;

    /// <summary>Whether the hub connection is up.</summary>
    public bool IsConnected => _hub.IsConnected;

    /// <summary>Tripartite interviews: availability, slots, invitations, answers, and the person's invitation made on
    /// this device (issue 13).</summary>
    public Interviews.InterviewsClient Interviews => _interviewsClient ??= new Interviews.InterviewsClient(_hub, _options.Time);

    /// <summary>The parts, for tests in this assembly's test project.</summary>
    internal DeviceStore Store => _store;

    internal Inbox.Inbox InboxPart => _inbox;

    internal SessionBook SessionsPart => _sessions;

    internal PreKeyUpkeep PreKeyPart => _preKeys;

    internal HubLink HubPart => _hub;

    /// <summary>
    /// Enrols a new device with a one-time code: generates its identity, a signed prekey and one-time prekeys, registers
    /// the public halves, and creates the encrypted key store at <paramref name="storePath"/> (and its local database
    /// at <paramref name="storePath"/><c>.db</c>).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="storePath"/> is empty or not a valid path.</exception>
    /// <exception cref="MessagingClientException">A key store already exists at <paramref name="storePath"/>.</exception>
    /// <exception cref="ServerRefusedException">The server refused the code or the keys.</exception>
    /// <exception cref="InsecureServerAddressException"><paramref name="server"/> is plain <c>http</c> to another machine
    /// (<see cref="ServerAddress"/>): the code would cross the network in clear. Nothing was sent or created.</exception>
    public static async Task<MessagingClient> EnrolAsync(Uri server, string code, string storePath, Passphrase passphrase, MessagingClientOptions? options = null, CancellationToken cancellationToken = default)
    {
        ServerAddress.EnsureSecure(server);
        ArgumentException.ThrowIfNullOrWhiteSpace(code);
        options ??= new MessagingClientOptions();
        var store = new EncryptedKeyStore(storePath, options.KeyStore, options.KeyStoreLimits, beforeReplace: null);
        if (store.Exists())
        {
            throw new MessagingClientException("A device is already enrolled with this key store; choose another path.");
        }

        var keys = new DeviceKeys
        {
            Server = server,
            IdentitySeed = RandomNumberGenerator.GetBytes(32),
            IdentityAgreementSecret = RandomNumberGenerator.GetBytes(32),
            StorageKey = RandomNumberGenerator.GetBytes(32),
        };
        using var identity = IdentityKeyPair.FromSecrets(keys.IdentitySeed, keys.IdentityAgreementSecret);
        var signedPreKey = PreKeyUpkeep.NewSignedPreKey(keys, identity, 1, options.Time.GetUtcNow());
        var oneTimePreKeys = PreKeyUpkeep.NewOneTimePreKeys(keys, options.OneTimePreKeyBatch);

        using var api = new ServerApi(server);
        var enrolled = await api.EnrolAsync(new EnrolDeviceRequest(code, identity.PublicKey.ToBytes(), signedPreKey, oneTimePreKeys), cancellationToken).ConfigureAwait(false);
        keys.DeviceId = enrolled.DeviceId;
        keys.MemberId = enrolled.MemberId;
        keys.OrganisationId = enrolled.OrganisationId;
        keys.Role = enrolled.Role;

        var deviceStore = await DeviceStore.CreateAsync(store, keys, passphrase, options.Time, cancellationToken).ConfigureAwait(false);
        await deviceStore.LockAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            deviceStore.Pin(enrolled.DeviceId, identity.PublicKey.ToBytes());
            await deviceStore.SaveAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            deviceStore.Release();
        }

        var client = new MessagingClient(deviceStore, options);
        if (!enrolled.MemberKeyPublished && !options.WithoutCrossSigning)
        {
            try
            {
                await client._trust.PublishFirstAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is MessagingClientException or HttpRequestException)
            {
                // The device is enrolled; connecting publishes the member key (EnsureAsync) when this did not get through.
            }
        }

        return client;
    }

    /// <summary>Opens an enrolled device's key store and its local database (an older store that kept everything in
    /// the key store is migrated on the way).</summary>
    /// <exception cref="ArgumentException"><paramref name="storePath"/> is empty or not a valid path.</exception>
    /// <exception cref="KeyStoreAuthenticationException">Wrong passphrase, or the file was modified.</exception>
    /// <exception cref="KeyStoreNotFoundException">No device is enrolled at this path.</exception>
    /// <exception cref="KeyStoreLockedException">Another process (or another client in this process) holds the key store
    /// (its <see cref="KeyStoreLockedException.HolderProcessId"/> names the process when known); nothing was changed.</exception>
    /// <exception cref="LocalStoreCorruptedException">The local database does not open under this device's key.</exception>
    public static async Task<MessagingClient> OpenAsync(string storePath, Passphrase passphrase, MessagingClientOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new MessagingClientOptions();
        var store = await DeviceStore.OpenAsync(new EncryptedKeyStore(storePath, options.KeyStore, options.KeyStoreLimits, beforeReplace: null), passphrase, options.Time, cancellationToken).ConfigureAwait(false);
        return new MessagingClient(store, options);
    }

    /// <summary>A valid access token for this device (challenge signed with the identity key), renewed before it expires.</summary>
    public Task<string> GetAccessTokenAsync(CancellationToken cancellationToken = default) => _hub.GetAccessTokenAsync(cancellationToken);

    /// <summary>Connects to the hub (reconnecting by itself for as long as the client lives), fetches what is pending,
    /// starts the prekey upkeep (signed-prekey rotation when due), and completes any refer or respond operation a
    /// previous run left half-done.</summary>
    public async Task ConnectAsync(CancellationToken cancellationToken = default)
    {
        if (_hub.IsStarted)
        {
            return;
        }

        // Handlers only enqueue: the SignalR client runs them on its receive loop, so awaiting a hub call inside one would deadlock.
        await _hub.StartAsync(
            connection =>
            {
                connection.On<EnvelopeDelivery>(nameof(IMessagingClient.ReceiveEnvelope), _inbox.Deliver);
                connection.On<int>(nameof(IMessagingClient.PreKeysLow), _ => _inbox.Enqueue(_preKeys.ReplenishAsync));
                connection.On(nameof(IMessagingClient.DeviceRevoked), () => Revoked?.Invoke(this, EventArgs.Empty));
            },
            _inbox.FetchLater,
            cancellationToken).ConfigureAwait(false);
        _inbox.Start();
        _inbox.Enqueue(_preKeys.RotateIfDueAsync);
        _upkeepTimer = _options.Time.CreateTimer(_ => _inbox.Enqueue(_preKeys.RotateIfDueAsync), null, _options.PreKeyCheckInterval, _options.PreKeyCheckInterval);
        if (!_options.WithoutCrossSigning)
        {
            await _trust.EnsureAsync(cancellationToken).ConfigureAwait(false);
        }

        await SynchronizeAsync(cancellationToken).ConfigureAwait(false);
        await ResumePendingOperationsAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Fetches and processes every envelope pending for this device; completes when they are stored.</summary>
    public Task SynchronizeAsync(CancellationToken cancellationToken = default) => _inbox.SynchronizeAsync(cancellationToken);

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

    /// <summary>Creates a conversation with this member and <paramref name="memberIds"/>, signing its creation with the
    /// member key (the first statement of its membership log, docs/crypto.md §12).</summary>
    /// <exception cref="NotPermittedException">This member may not create it (role, or this device awaits approval).</exception>
    /// <exception cref="TargetNotFoundException">A member does not exist.</exception>
    public async Task<ConversationSummary> CreateConversationAsync(IReadOnlyList<Guid> memberIds, bool collective = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(memberIds);
        using var key = _members.SigningKey();
        var statement = key is null ? null : MembershipLog.SignCreate(key, Guid.NewGuid(), memberIds.Where(m => m != MemberId), collective);
        var created = await InvokeAsync<ConversationSummary>(nameof(IMessagingHub.CreateConversation), new CreateConversationRequest(memberIds, collective, statement?.ToBytes()), cancellationToken).ConfigureAwait(false);
        if (statement is not null)
        {
            await _members.RecordAsync(created.ConversationId, statement, cancellationToken).ConfigureAwait(false);
        }

        return created;
    }

    /// <summary>Adds <paramref name="memberId"/> to a conversation, signing the addition with the member key after
    /// verifying the conversation's membership log (the server checks this member may).</summary>
    /// <exception cref="NotPermittedException">This member may not change the conversation's membership.</exception>
    /// <exception cref="TargetNotFoundException">The conversation or member does not exist.</exception>
    /// <exception cref="StateConflictException">Another change of the conversation's membership came first: try again.</exception>
    /// <exception cref="ConversationMembershipRejectedException">The conversation's membership log does not verify.</exception>
    public Task<ConversationSummary> AddConversationMemberAsync(Guid conversationId, Guid memberId, CancellationToken cancellationToken = default)
        => ChangeMembershipAsync(nameof(IMessagingHub.AddConversationMember), MembershipOperation.Add, conversationId, memberId, cancellationToken);

    /// <summary>Removes <paramref name="memberId"/> from a conversation (signed like <see cref="AddConversationMemberAsync"/>);
    /// later sends leave out its devices.</summary>
    /// <exception cref="NotPermittedException">This member may not change the conversation's membership.</exception>
    /// <exception cref="TargetNotFoundException">The conversation or member does not exist.</exception>
    /// <exception cref="StateConflictException">Another change of the conversation's membership came first: try again.</exception>
    /// <exception cref="ConversationMembershipRejectedException">The conversation's membership log does not verify.</exception>
    public Task<ConversationSummary> RemoveConversationMemberAsync(Guid conversationId, Guid memberId, CancellationToken cancellationToken = default)
        => ChangeMembershipAsync(nameof(IMessagingHub.RemoveConversationMember), MembershipOperation.Remove, conversationId, memberId, cancellationToken);

    private async Task<ConversationSummary> ChangeMembershipAsync(string method, MembershipOperation operation, Guid conversationId, Guid memberId, CancellationToken cancellationToken)
    {
        var log = await _members.ForChangeAsync(conversationId, cancellationToken).ConfigureAwait(false);
        using var key = log is null ? null : _members.SigningKey();
        if (log is null || key is null || (operation == MembershipOperation.Add) == log.Members.Contains(memberId))
        {
            // No log to extend (this device holds no member key), or nothing to change: the server answers as before.
            return await InvokeAsync<ConversationSummary>(method, new ConversationMemberRequest(conversationId, memberId), cancellationToken).ConfigureAwait(false);
        }

        var statement = log.SignChange(key, operation, memberId);
        var changed = await InvokeAsync<ConversationSummary>(method, new ConversationMemberRequest(conversationId, memberId, statement.ToBytes()), cancellationToken).ConfigureAwait(false);
        await _members.RecordAsync(conversationId, statement, cancellationToken).ConfigureAwait(false);
        return changed;
    }

    /// <summary>The decrypted messages kept on this device, in server order.</summary>
    /// <exception cref="LocalStoreCorruptedException">A stored message does not open under this device's key.</exception>
    public Task<IReadOnlyList<InboxMessage>> GetInboxAsync(CancellationToken cancellationToken = default)
        => _store.UnderLockAsync<IReadOnlyList<InboxMessage>>(() => _store.Database.ReadMessages(), cancellationToken);

    /// <summary>
    /// Deletes messages kept on this device: those received more than <paramref name="olderThan"/> ago, and all but the
    /// newest <paramref name="keepLatest"/> (either may be null). Retention is the user's choice: nothing is deleted
    /// unless asked. Sessions and keys are not affected. The deleted rows are overwritten in the local database file and
    /// its write-ahead log is truncated: neither file holds them afterwards (blocks the file system or the disk itself
    /// set aside earlier are beyond SQLite's reach: encrypt the disk).
    /// </summary>
    /// <returns>How many messages were deleted.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A negative age or count.</exception>
    /// <exception cref="MessagingClientException">The messages were deleted, but the write-ahead log could not be truncated
    /// (another process has the local database open).</exception>
    public Task<int> DeleteMessagesAsync(TimeSpan? olderThan = null, int? keepLatest = null, CancellationToken cancellationToken = default)
    {
        if (olderThan < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(olderThan), "An age is positive.");
        }

        if (keepLatest < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(keepLatest), "A count is positive.");
        }

        var before = olderThan is { } age ? _options.Time.GetUtcNow() - age : (DateTimeOffset?)null;
        return _store.UnderLockAsync(() => _store.Database.DeleteMessages(before, keepLatest), cancellationToken);
    }

    /// <summary>Sends a chat message to every device of every member of a conversation (this member's other devices included).</summary>
    public Task<SendReceipt> SendTextAsync(Guid conversationId, string text, CancellationToken cancellationToken = default)
        => SendAsync(conversationId, EnvelopeKind.Chat, System.Text.Encoding.UTF8.GetBytes(text), cancellationToken: cancellationToken);

    /// <summary>
    /// Encrypts <paramref name="body"/> once per recipient device and sends it. When the server reports missing or stale
    /// devices, fixes the sessions and resends with the same envelope id (idempotent on the server). A device whose
    /// prekey bundle is unusable is skipped and reported (<see cref="DeviceUnreachable"/>, <see cref="SendReceipt.Unreachable"/>).
    /// </summary>
    /// <exception cref="ServerRefusedException">The server's policy refused the send (nothing was stored).</exception>
    /// <exception cref="ServerStoppingException">The server instance was shutting down and the client did not reconnect
    /// within <see cref="MessagingClientOptions.StoppingRetryWait"/> (a refusal during a shutdown is otherwise retried once,
    /// after reconnecting, with the same envelope id).</exception>
    /// <exception cref="IdentityKeyChangedException">A recipient device's identity changed.</exception>
    /// <exception cref="SendNotCompletedException">The device set kept changing.</exception>
    public Task<SendReceipt> SendAsync(Guid conversationId, EnvelopeKind kind, ReadOnlyMemory<byte> body, string? caseReference = null, Guid? consentId = null, Guid? envelopeId = null, CancellationToken cancellationToken = default)
        => _sender.SendAsync(conversationId, kind, body, caseReference, consentId, envelopeId ?? Guid.NewGuid(), cancellationToken);

    /// <summary>The safety numbers between this device and each active device of <paramref name="memberId"/>.</summary>
    public Task<IReadOnlyList<(Guid DeviceId, string SafetyNumber)>> GetSafetyNumbersAsync(Guid memberId, CancellationToken cancellationToken = default)
        => _keys.SafetyNumbersAsync(memberId, cancellationToken);

    /// <summary>The devices of <paramref name="memberId"/> (default: this member) according to the verified key log.</summary>
    public Task<IReadOnlyList<(Guid DeviceId, bool Active)>> GetDevicesAsync(Guid? memberId = null, CancellationToken cancellationToken = default)
        => _keys.DevicesAsync(memberId ?? MemberId, cancellationToken);

    /// <summary>Accepts the identity the verified key log now records for <paramref name="deviceId"/>, after the user
    /// compared safety numbers; drops the old session.</summary>
    public Task TrustIdentityAsync(Guid deviceId, CancellationToken cancellationToken = default) => _keys.TrustAsync(deviceId, cancellationToken);

    /// <summary>Fetches and verifies the key log from the last verified entry; records device keys.</summary>
    /// <exception cref="KeyLogTamperedException">The chain does not continue from the recorded head.</exception>
    public Task SyncKeyLogAsync(CancellationToken cancellationToken = default) => _keys.SyncAsync(cancellationToken);

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

    private Task<T> InvokeAsync<T>(string method, CancellationToken cancellationToken) => _hub.InvokeAsync<T>(method, cancellationToken);

    private Task<T> InvokeAsync<T>(string method, object argument, CancellationToken cancellationToken) => _hub.InvokeAsync<T>(method, argument, cancellationToken);

    /// <summary>Stops the connection and the processing loop, saves what changed, and zeroes the keys held in memory.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_upkeepTimer is not null)
        {
            await _upkeepTimer.DisposeAsync().ConfigureAwait(false);
        }

        if (IsConnected)
        {
            // Best effort: what stays unacknowledged is redelivered on the next connection and dropped as a duplicate.
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _inbox.FlushAcknowledgementsAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or MessagingClientException or InvalidOperationException or HubException)
            {
                // Disconnected or refused: nothing is lost.
            }
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await _hub.DisposeAsync().ConfigureAwait(false);
        await _inbox.StopAsync().ConfigureAwait(false);
        _sessions.Dispose();
        await _store.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }
}
