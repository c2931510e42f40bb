using System.Collections.Concurrent;
using Messaging.Server.Features.Authentication;
using Messaging.Server.Features.Telemetry;
using Microsoft.AspNetCore.SignalR;

namespace Messaging.Server.Hubs;

/// <summary>
/// Live hub connections per device on this server instance, so that a revocation can close them at once. With several
/// instances (Redis backplane) each instance aborts its own connections when it sees the revocation signal; the
/// per-call device check refuses any call that slips through.
/// Each connection also lives no longer than the token it was opened with: a timer on the injected clock closes it at
/// the token's expiry, so pushes stop with the token (calls are refused already by <see cref="HubErrorFilter"/>). The
/// client reconnects with a fresh token.
/// </summary>
internal sealed partial class ConnectionRegistry(TimeProvider time, MessagingMetrics metrics, ILogger<ConnectionRegistry> logger)
{
    private readonly ConcurrentDictionary<Guid, ConcurrentDictionary<string, Entry>> _byDevice = new();

    public void Add(Guid deviceId, HubCallerContext context)
    {
        var remaining = CallerDevice.Of(context).TokenExpiresAt - time.GetUtcNow();
        var timer = time.CreateTimer(_ => Expire(deviceId, context), null,
            remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
        // Sized for the usual one connection per device (it grows if a device opens more): the defaults (31 buckets, a
        // lock per core) cost about 330 bytes more per connection, ~4.6 MB at 14,000 (heap snapshots, docs/performance.md).
        if (_byDevice.GetOrAdd(deviceId, _ => new ConcurrentDictionary<string, Entry>(concurrencyLevel: 1, capacity: 1, StringComparer.Ordinal)).TryAdd(context.ConnectionId, new Entry(context, timer)))
        {
            metrics.ConnectionOpened();
        }
    }

    public void Remove(Guid deviceId, HubCallerContext context)
    {
        if (_byDevice.TryGetValue(deviceId, out var connections) && connections.TryRemove(context.ConnectionId, out var entry))
        {
            entry.ExpiryTimer.Dispose();
            metrics.ConnectionsClosed(1);
        }
    }

    public int Count(Guid deviceId) => _byDevice.TryGetValue(deviceId, out var connections) ? connections.Count : 0;

    /// <summary>The devices connected to this instance now, with their connection ids.</summary>
    public IReadOnlyList<(Guid DeviceId, IReadOnlyList<string> ConnectionIds)> Snapshot()
        => [.. _byDevice.Select(d => (d.Key, (IReadOnlyList<string>)[.. d.Value.Keys])).Where(d => d.Item2.Count > 0)];

    /// <summary>Aborts every connection of the device; returns how many.</summary>
    public int AbortAll(Guid deviceId)
    {
        if (!_byDevice.TryRemove(deviceId, out var connections))
        {
            return 0;
        }

        foreach (var entry in connections.Values)
        {
            entry.ExpiryTimer.Dispose();
            entry.Context.Abort();
        }

        metrics.ConnectionsClosed(connections.Count);
        return connections.Count;
    }

    /// <summary>Aborts every connection on this instance (the end of a shutdown drain); returns how many.</summary>
    public int AbortEverything() => _byDevice.Keys.Sum(AbortAll);

    private void Expire(Guid deviceId, HubCallerContext context)
    {
        Remove(deviceId, context);
        LogExpired(logger, deviceId);
        context.Abort();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Token of device {DeviceId} expired: its hub connection is closed")]
    private static partial void LogExpired(ILogger logger, Guid deviceId);

    private sealed record Entry(HubCallerContext Context, ITimer ExpiryTimer);
}
