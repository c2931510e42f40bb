using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR;

namespace Messaging.LoadTest;

/// <summary>The baseline: a bare SignalR hub that forwards a payload to the partner's connection. No storage, no crypto, no acks.</summary>
internal sealed class EchoHub(EchoRegistry registry) : Hub
{
    public void Register(string deviceId) => registry.Connections[deviceId] = Context.ConnectionId;

    public Task Send(string partnerId, byte[] payload)
        => registry.Connections.TryGetValue(partnerId, out var connection)
            ? Clients.Client(connection).SendAsync("Receive", payload)
            : Task.CompletedTask;
}

internal sealed class EchoRegistry
{
    public ConcurrentDictionary<string, string> Connections { get; } = new(StringComparer.Ordinal);
}

internal static class EchoServer
{
    public static async Task<int> RunAsync(string urls)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(urls);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSignalR(o => o.MaximumReceiveMessageSize = 64 * 1024);
        builder.Services.AddSingleton<EchoRegistry>();
        var app = builder.Build();
        app.MapHub<EchoHub>("/echo");
        app.MapGet("/ready", () => "ok");
        await app.RunAsync();
        return 0;
    }
}
