using System.Net;
using System.Net.WebSockets;

namespace Messaging.Testing;

/// <summary>
/// A hub connection's WebSocket carried by HTTP/2 (RFC 8441, cleartext with prior knowledge), for a SignalR client's
/// <c>WebSocketFactory</c>: the load tool's capacity runs and the server tests of the connection ceilings both use it
/// (the server tests compile this file as a link).
/// </summary>
internal static class Http2WebSockets
{
    /// <summary>Opens a WebSocket to <paramref name="uri"/> over <paramref name="http2"/>, which multiplexes its
    /// connections on shared TCP connections, with <paramref name="token"/> as the bearer token.</summary>
    public static async ValueTask<WebSocket> ConnectAsync(Uri uri, HttpMessageInvoker http2, string token, CancellationToken cancellation)
    {
        var socket = new ClientWebSocket();
        socket.Options.HttpVersion = HttpVersion.Version20;
        socket.Options.HttpVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        socket.Options.SetRequestHeader("Authorization", $"Bearer {token}");
        try
        {
            await socket.ConnectAsync(uri, http2, cancellation);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
