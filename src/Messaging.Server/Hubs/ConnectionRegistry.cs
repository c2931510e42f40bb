using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR;

namespace Messaging.Server.Hubs;

/// <summary>
/// Live hub connections per device on this server instance, so that a revocation can close them at once. With several
/// instances (Redis backplane) each instance aborts its own connections when it sees the revocation signal; the
/// per-call device check refuses any call that slips through.
/// </summary>
internal sealed class ConnectionRegistry
{
    private readonly ConcurrentDictionary<Guid, ConcurrentDictionary<string, HubCallerContext>> _byDevice = new();

    public void Add(Guid deviceId, HubCallerContext context)
        => _byDevice.GetOrAdd(deviceId, _ => new ConcurrentDictionary<string, HubCallerContext>())[context.ConnectionId] = context;

    public void Remove(Guid deviceId, HubCallerContext context)
    {
        if (_byDevice.TryGetValue(deviceId, out var connections))
        {
            connections.TryRemove(context.ConnectionId, out _);
        }
    }

    public int Count(Guid deviceId) => _byDevice.TryGetValue(deviceId, out var connections) ? connections.Count : 0;

    /// <summary>Aborts every connection of the device; returns how many.</summary>
    public int AbortAll(Guid deviceId)
    {
        if (!_byDevice.TryRemove(deviceId, out var connections))
        {
            return 0;
        }

        foreach (var context in connections.Values)
        {
            context.Abort();
        }

        return connections.Count;
    }
}
