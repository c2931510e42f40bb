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
        register(connection);
        connection.Reconnected += _ =>
        {
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

    public async Task<T> InvokeAsync<T>(string method, CancellationToken cancellationToken)
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

    public async Task<T> InvokeAsync<T>(string method, object argument, CancellationToken cancellationToken)
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
