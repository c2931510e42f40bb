using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Messaging.Contracts;

namespace Messaging.Server.Tests.Infrastructure;

/// <summary>
/// A hub connection that speaks the SignalR JSON protocol by hand over the test server's WebSocket — as an outside
/// probe does — so tests can send frames the typed client never would: broken JSON, wrong types, unknown fields.
/// </summary>
public sealed class RawHubConnection : IAsyncDisposable
{
    private const char RecordSeparator = '\u001e';
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);
    private readonly WebSocket _socket;
    private readonly StringBuilder _pending = new();
    private readonly Queue<string> _frames = new();
    private int _nextId;

    private RawHubConnection(WebSocket socket) => _socket = socket;

    /// <summary>The close message's error, once the server closed the connection.</summary>
    public string? CloseError { get; private set; }

    public bool IsClosed { get; private set; }

    public static async Task<RawHubConnection> ConnectAsync(MessagingApp app, TestDevice device)
    {
        if (device.Token is null)
        {
            await app.AuthenticateAsync(device);
        }

        var uri = new UriBuilder(new Uri(app.Server.BaseAddress, HubRoutes.Messaging))
        {
            Scheme = "ws",
            Query = "access_token=" + Uri.EscapeDataString(device.Token!),
        }.Uri;
        var socket = await app.Server.CreateWebSocketClient().ConnectAsync(uri, CancellationToken.None);
        var connection = new RawHubConnection(socket);
        await connection.SendFrameAsync("""{"protocol":"json","version":1}""");
        var handshake = await connection.NextFrameAsync();
        if (handshake != "{}")
        {
            throw new InvalidOperationException("Handshake refused: " + handshake);
        }

        return connection;
    }

    /// <summary>Sends one frame: the text followed by the record separator.</summary>
    public Task SendFrameAsync(string json) => SendBytesAsync(Encoding.UTF8.GetBytes(json + RecordSeparator));

    public async Task SendBytesAsync(byte[] bytes)
        => await _socket.SendAsync(bytes, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);

    /// <summary>Invokes <paramref name="target"/> with the raw JSON of its arguments array and waits for the completion.</summary>
    public async Task<HubOutcome> InvokeAsync(string target, string argumentsJson)
    {
        var id = NextInvocationId();
        await SendFrameAsync($$"""{"type":1,"invocationId":"{{id}}","target":{{JsonSerializer.Serialize(target)}},"arguments":{{argumentsJson}}}""");
        return await CompletionAsync(id);
    }

    public string NextInvocationId() => "f" + Interlocked.Increment(ref _nextId).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Waits for the completion of <paramref name="invocationId"/>; null when the connection closed first.</summary>
    public async Task<HubOutcome> CompletionAsync(string invocationId)
    {
        while (true)
        {
            var frame = await NextFrameAsync();
            if (frame is null)
            {
                return HubOutcome.Closed(CloseError);
            }

            using var document = JsonDocument.Parse(frame);
            var root = document.RootElement;
            var type = root.GetProperty("type").GetInt32();
            if (type == 7)
            {
                CloseError = root.TryGetProperty("error", out var error) ? error.GetString() : null;
                IsClosed = true;
                return HubOutcome.Closed(CloseError);
            }

            if (type == 3 && root.GetProperty("invocationId").GetString() == invocationId)
            {
                return root.TryGetProperty("error", out var error)
                    ? HubOutcome.Failed(error.GetString())
                    : HubOutcome.Succeeded(root.TryGetProperty("result", out var result) ? result.GetRawText() : null);
            }
        }
    }

    private async Task<string?> NextFrameAsync()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var buffer = new byte[64 * 1024];
        while (_frames.Count == 0)
        {
            if (IsClosed)
            {
                return null;
            }

            WebSocketReceiveResult received;
            try
            {
                received = await _socket.ReceiveAsync(buffer, cts.Token);
            }
            catch (WebSocketException)
            {
                IsClosed = true;
                return null;
            }

            if (received.MessageType == WebSocketMessageType.Close)
            {
                IsClosed = true;
                return null;
            }

            _pending.Append(Encoding.UTF8.GetString(buffer, 0, received.Count));
            var text = _pending.ToString();
            var last = text.LastIndexOf(RecordSeparator);
            if (last >= 0)
            {
                foreach (var frame in text[..last].Split(RecordSeparator))
                {
                    _frames.Enqueue(frame);
                }

                _pending.Clear().Append(text[(last + 1)..]);
            }
        }

        return _frames.Dequeue();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_socket.State == WebSocketState.Open)
            {
                await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
        }

        _socket.Dispose();
    }
}

/// <summary>What a raw invocation came to: a result, an error message, or a closed connection.</summary>
public sealed record HubOutcome(bool Success, bool ConnectionClosed, string? Error, string? ResultJson)
{
    public static HubOutcome Succeeded(string? result) => new(true, false, null, result);

    public static HubOutcome Failed(string? error) => new(false, false, error, null);

    public static HubOutcome Closed(string? error) => new(false, true, error, null);

    /// <summary>The stable code of the error (or of the close message), or null when it carries none.</summary>
    public string? Code => ErrorCodes.TryParseHubMessage(Error, out var code) ? code : null;
}
