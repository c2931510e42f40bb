using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Messaging.Server.Features.Scaleout;

/// <summary>
/// The one Redis connection of this instance, shared by the SignalR backplane, the revocation channel and the readiness
/// probe. Commands fail at once while Redis is unreachable (no backlog): a push that cannot pass is dropped and logged —
/// the envelope stays pending in the database — instead of holding the sender's call. The connection string is never
/// logged.
/// </summary>
internal sealed partial class RedisLink(IOptions<ScaleoutOptions> options, ILogger<RedisLink> logger) : IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IConnectionMultiplexer? _connection;

    /// <summary>Raised when the subscription connection is back after a loss (subscriptions are restored with it).</summary>
    public event Action? SubscriptionsRestored;

    /// <summary>Connects on first use; later calls return the same connection, connected or reconnecting.</summary>
    public async Task<IConnectionMultiplexer> ConnectAsync()
    {
        if (_connection is { } connected)
        {
            return connected;
        }

        await _gate.WaitAsync();
        try
        {
            if (_connection is null)
            {
                var configuration = ConfigurationOptions.Parse(options.Value.Redis!);
                configuration.AbortOnConnectFail = false;
                configuration.BacklogPolicy = BacklogPolicy.FailFast;
                // Back within a second of Redis's return, not after an exponential back-off: until then this instance
                // neither hears the others' pushes nor has its own pass.
                configuration.ReconnectRetryPolicy = new LinearRetry(1000);
                configuration.ChannelPrefix = RedisChannel.Literal(options.Value.ChannelPrefix + ":");
                configuration.ClientName ??= "messaging-server";
                var connection = await ConnectionMultiplexer.ConnectAsync(configuration);
                connection.ConnectionFailed += (_, e) => LogLost(logger, e.ConnectionType, e.FailureType);
                connection.ConnectionRestored += (_, e) =>
                {
                    LogRestored(logger, e.ConnectionType);
                    if (e.ConnectionType == ConnectionType.Subscription)
                    {
                        SubscriptionsRestored?.Invoke();
                    }
                };
                _connection = connection;
            }

            return _connection;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is { } connection)
        {
            await connection.DisposeAsync();
        }

        _gate.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis {ConnectionType} connection lost ({FailureType}): pushes wait in the database")]
    private static partial void LogLost(ILogger logger, ConnectionType connectionType, ConnectionFailureType failureType);

    [LoggerMessage(Level = LogLevel.Information, Message = "Redis {ConnectionType} connection restored")]
    private static partial void LogRestored(ILogger logger, ConnectionType connectionType);
}
