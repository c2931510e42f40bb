using System.Collections.Frozen;
using Messaging.Client.Storage;
using Messaging.Contracts;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.Http.Connections.Client;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace Messaging.Client.Connection;

/// <summary>
/// The device's connection to the server: the access token (a challenge signed with the identity key, renewed before
/// it expires), the hub connection that reconnects by itself for as long as the client lives, and typed hub calls
/// whose refusals become <see cref="ServerRefusedException"/>s.
/// </summary>
internal sealed class HubLink : IAsyncDisposable
{
    private readonly SemaphoreSlim _tokenGate = new(1, 1);
    private readonly DeviceStore _store;
    private readonly MessagingClientOptions _options;
    private readonly CancellationToken _stopping;
    private HubConnection? _connection;
    private TaskCompletionSource _nextConnection = NewConnectionSignal();
    private string? _token;
    private DateTimeOffset _tokenExpiresAt;

    public HubLink(DeviceStore store, MessagingClientOptions options, CancellationToken stopping)
    {
        _store = store;
        _options = options;
        _stopping = stopping;
        Api = new ServerApi(store.Keys.Server);
        if (store.Keys.AccessToken is { } stored)
        {
            (_token, _tokenExpiresAt) = (stored.Token, stored.ExpiresAt);
        }
    }

    public ServerApi Api { get; }

    public bool IsConnected => _connection?.State == HubConnectionState.Connected;

    public bool IsStarted => _connection is not null;

    /// <summary>A valid access token, renewed when less than a minute is left.</summary>
    public async Task<string> GetAccessTokenAsync(CancellationToken cancellationToken)
    {
        await _tokenGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_token is not null && _tokenExpiresAt - _options.Time.GetUtcNow() > TimeSpan.FromMinutes(1))
            {
                return _token;
            }

            var deviceId = _store.Keys.DeviceId;
            var challenge = await Api.ChallengeAsync(deviceId, cancellationToken).ConfigureAwait(false);
            var token = await Api.TokenAsync(new TokenRequest(deviceId, challenge.Challenge, _store.Identity.SignChallenge(challenge.Challenge)), cancellationToken).ConfigureAwait(false);
            (_token, _tokenExpiresAt) = (token.AccessToken, token.ExpiresAt);
            // Kept in the key store with its next save (at the latest when the client is disposed), so that short-lived
            // processes (the CLI: one command, one process) reuse it instead of running into the authentication rate limit.
            await _store.LockAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                _store.Keys.AccessToken = new StoredToken(token.AccessToken, token.ExpiresAt);
                _store.KeysChanged();
            }
            finally
            {
                _store.Release();
            }

            return _token;
        }
        finally
        {
            _tokenGate.Release();
        }
    }

    /// <summary>Starts the hub connection. <paramref name="register"/> adds the handlers (they must only enqueue:
    /// SignalR runs them on its receive loop); <paramref name="resumed"/> runs after every reconnection.</summary>
    public async Task StartAsync(Action<HubConnection> register, Action resumed, CancellationToken cancellationToken)
    {
        var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(_store.Keys.Server, HubRoutes.Messaging), o => WebSocketsOnly(o, async () => await GetAccessTokenAsync(_stopping).ConfigureAwait(false)))
            .WithAutomaticReconnect(new ForeverRetryPolicy(_options.MaxReconnectDelay))
            .Build();
        KeepAlive(connection);
        register(connection);
        connection.Reconnected += _ =>
        {
            Connected();
            resumed();
            return Task.CompletedTask;
        };
        connection.Closed += async _ =>
        {
            // Automatic reconnection gives up only if the first attempts fail during a start; keep trying while alive.
            while (!_stopping.IsCancellationRequested && connection.State == HubConnectionState.Disconnected)
            {
                try
                {
                    await Task.Delay(_options.MaxReconnectDelay, _stopping).ConfigureAwait(false);
                    await connection.StartAsync(_stopping).ConfigureAwait(false);
                    Connected();
                    resumed();
                }
                catch (Exception ex) when (ex is HttpRequestException or InvalidOperationException or OperationCanceledException or ServerRefusedException or System.Net.WebSockets.WebSocketException)
                {
                    // Still unreachable (or stopping): try again after the delay.
                }
            }
        };

        _connection = connection;
        await connection.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// How every hub connection of the SDK (and the load tool, which connects as the SDK does) reaches the server:
    /// WebSockets straight away, without the negotiate request. Negotiating costs a second HTTP connection that stays
    /// open beside the WebSocket until the server's keep-alive timeout (two descriptors per connecting device on the
    /// server: half the devices an instance can hold while they connect), and ties two requests to one instance behind a
    /// proxy (sticky sessions). The token travels in the upgrade request's <c>Authorization</c> header.
    /// </summary>
    internal static void WebSocketsOnly(HttpConnectionOptions options, Func<Task<string?>> accessToken)
    {
        options.Transports = HttpTransportType.WebSockets;
        options.SkipNegotiation = true;
        options.AccessTokenProvider = accessToken;
    }

    /// <summary>
    /// The SDK's side of the keep-alive agreement (<see cref="HubKeepAlive"/>), for every hub connection of the SDK and of
    /// the load tool: pings every <see cref="HubKeepAlive.ClientInterval"/>, and waits
    /// <see cref="HubKeepAlive.ServerTimeout"/> (not SignalR's 30 s) for the server, so that a server pinging less often
    /// (up to <see cref="HubKeepAlive.MaxServerInterval"/>, fewer wake-ups per idle connection) does not drop it.
    /// </summary>
    internal static HubConnection KeepAlive(HubConnection connection)
    {
        connection.KeepAliveInterval = HubKeepAlive.ClientInterval;
        connection.ServerTimeout = HubKeepAlive.ServerTimeout;
        return connection;
    }

    /// <summary>Invokes a hub method. A retry-safe call (<see cref="RetrySafeCalls"/>) made while the client is
    /// reconnecting waits for the connection first; one refused with <c>server.stopping</c> — the instance is draining
    /// and refused it before doing anything — waits for the connection to come back (the server closes it; the client
    /// reconnects to the same URL, which behind a proxy is another instance) and is sent once more, identical (a send
    /// keeps its envelope id and its ciphertexts). Both waits last at most
    /// <see cref="MessagingClientOptions.StoppingRetryWait"/>. Any other call surfaces the refusal.</summary>
    public Task<T> InvokeAsync<T>(string method, CancellationToken cancellationToken)
        => InvokeAsync<T>(method, (connection, token) => connection.InvokeAsync<T>(method, token), cancellationToken);

    /// <inheritdoc cref="InvokeAsync{T}(string, CancellationToken)"/>
    public Task<T> InvokeAsync<T>(string method, object argument, CancellationToken cancellationToken)
        => InvokeAsync<T>(method, (connection, token) => connection.InvokeAsync<T>(method, argument, token), cancellationToken);

    private async Task<T> InvokeAsync<T>(string method, Func<HubConnection, CancellationToken, Task<T>> invoke, CancellationToken cancellationToken)
    {
        var connection = _connection ?? throw new InvalidOperationException("Connect first.");
        var retrySafe = RetrySafeCalls.Contains(method);
        // Read before the state: a connection that comes up after the check below completes this signal.
        var next = Volatile.Read(ref _nextConnection).Task;
        var waitedInVain = false;
        if (retrySafe && connection.State != HubConnectionState.Connected)
        {
            if (await ConnectedWithinAsync(next, cancellationToken).ConfigureAwait(false))
            {
                next = Volatile.Read(ref _nextConnection).Task;
            }
            else
            {
                waitedInVain = true;
            }
        }

        try
        {
            return await invoke(connection, cancellationToken).ConfigureAwait(false);
        }
        catch (HubException ex)
        {
            var refusal = Refusal(ex);
            if (refusal is not ServerStoppingException || !retrySafe || !await ConnectedWithinAsync(next, cancellationToken).ConfigureAwait(false))
            {
                throw refusal;
            }
        }
        catch (InvalidOperationException) when (retrySafe && !waitedInVain && connection.State != HubConnectionState.Connected)
        {
            // The connection went down between the check and the call: nothing was sent.
            if (!await ConnectedWithinAsync(next, cancellationToken).ConfigureAwait(false))
            {
                throw;
            }
        }

        try
        {
            return await invoke(connection, cancellationToken).ConfigureAwait(false);
        }
        catch (HubException ex)
        {
            throw Refusal(ex);
        }
    }

    private async Task<bool> ConnectedWithinAsync(Task connected, CancellationToken cancellationToken)
    {
        try
        {
            await connected.WaitAsync(_options.StoppingRetryWait, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>
    /// The calls the SDK sends again by itself after a <c>server.stopping</c> refusal: those whose second run cannot do
    /// anything the first did not — a send (idempotent by envelope id: the server answers a repeated id with the first
    /// outcome), an acknowledgement (deleting what is already deleted) and reads. The others (creating a conversation,
    /// a referral, a mandate; uploading prekeys; fetching prekey bundles, which consumes one-time prekeys) surface the
    /// refusal: the application decides.
    /// </summary>
    internal static readonly FrozenSet<string> RetrySafeCalls = new[]
    {
        nameof(IMessagingHub.SendEnvelope), nameof(IMessagingHub.AcknowledgeEnvelopes), nameof(IMessagingHub.FetchPending),
        nameof(IMessagingHub.GetConversationDevices), nameof(IMessagingHub.GetKeyLog), nameof(IMessagingHub.WhoAmI),
        nameof(IMessagingHub.ListOrganisations), nameof(IMessagingHub.ListMembers), nameof(IMessagingHub.ListConversations),
        nameof(IMessagingHub.ListReferrals), nameof(IMessagingHub.ListConsents), nameof(IMessagingHub.ListMandates),
        nameof(IMessagingHub.ListJoinRequests), nameof(IMessagingHub.ListInterviews), nameof(IMessagingHub.GetInterviewAvailability),
        nameof(IMessagingHub.FindInterviewSlots), nameof(IMessagingHub.Orient),
    }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>A (re)connection is up: wakes the calls waiting for one, and arms the signal for the next.</summary>
    private void Connected() => Interlocked.Exchange(ref _nextConnection, NewConnectionSignal()).TrySetResult();

    private static TaskCompletionSource NewConnectionSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
        }

        Api.Dispose();
        _tokenGate.Dispose();
    }

    private static ServerRefusedException Refusal(HubException ex)
        => ErrorCodes.TryParseHubMessage(ex.Message, out var code, out var text)
            ? ServerRefusedException.FromCode(code, text)
            : new ServerRefusedException("hub.error", ex.Message);

    private sealed class ForeverRetryPolicy(TimeSpan maxDelay) : IRetryPolicy
    {
        public TimeSpan? NextRetryDelay(RetryContext retryContext)
            => TimeSpan.FromMilliseconds(Math.Min(maxDelay.TotalMilliseconds, 100 * Math.Pow(2, Math.Min(retryContext.PreviousRetryCount, 10))));
    }
}
