using System.Threading.Channels;
using Messaging.Contracts;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace Messaging.Server.Tests.Infrastructure;

/// <summary>A live hub connection that records what the server pushes.</summary>
public sealed class ConnectedDevice : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly Channel<EnvelopeDelivery> _envelopes = Channel.CreateUnbounded<EnvelopeDelivery>();
    private readonly Channel<int> _preKeysLow = Channel.CreateUnbounded<int>();
    private readonly Channel<PartnerAnnouncementDto> _announcements = Channel.CreateUnbounded<PartnerAnnouncementDto>();
    private readonly TaskCompletionSource<Exception?> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _revoked = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ConnectedDevice(TestDevice device, HubConnection hub)
    {
        Device = device;
        Hub = hub;
        hub.On<EnvelopeDelivery>(nameof(IMessagingClient.ReceiveEnvelope), e => _envelopes.Writer.TryWrite(e));
        hub.On<int>(nameof(IMessagingClient.PreKeysLow), n => _preKeysLow.Writer.TryWrite(n));
        hub.On(nameof(IMessagingClient.DeviceRevoked), () => _revoked.TrySetResult());
        hub.On<PartnerAnnouncementDto>(nameof(IMessagingClient.PartnerAnnouncement), a => _announcements.Writer.TryWrite(a));
        hub.Closed += error =>
        {
            _closed.TrySetResult(error);
            return Task.CompletedTask;
        };
    }

    public TestDevice Device { get; }

    public HubConnection Hub { get; }

    public Task Closed => _closed.Task;

    public Task Revoked => _revoked.Task;

    public Task<SendEnvelopeResult> SendAsync(SendEnvelopeRequest request)
        => Hub.InvokeAsync<SendEnvelopeResult>(nameof(IMessagingHub.SendEnvelope), request);

    public Task<AcknowledgeResult> AcknowledgeAsync(params long[] sequences)
        => Hub.InvokeAsync<AcknowledgeResult>(nameof(IMessagingHub.AcknowledgeEnvelopes), new AcknowledgeRequest(sequences));

    /// <summary>Waits for exactly the next <paramref name="count"/> pushed envelopes.</summary>
    public async Task<IReadOnlyList<EnvelopeDelivery>> ReceiveAsync(int count)
    {
        using var cts = new CancellationTokenSource(Timeout);
        var result = new List<EnvelopeDelivery>();
        while (result.Count < count)
        {
            result.Add(await _envelopes.Reader.ReadAsync(cts.Token));
        }

        return result;
    }

    /// <summary>Takes the next pushed envelope if one has arrived, without waiting.</summary>
    public bool TryTake(out EnvelopeDelivery envelope) => _envelopes.Reader.TryRead(out envelope!);

    /// <summary>True when nothing more arrives within a short grace period.</summary>
    public async Task<bool> NothingMoreAsync(int milliseconds = 200)
    {
        await Task.Delay(milliseconds);
        return !_envelopes.Reader.TryPeek(out _);
    }

    /// <summary>Invokes a hub method with one request record.</summary>
    public Task<T> InvokeAsync<T>(string method, object request) => Hub.InvokeAsync<T>(method, request);

    /// <summary>Waits for the next partner announcement.</summary>
    public async Task<PartnerAnnouncementDto> AnnouncementAsync()
    {
        using var cts = new CancellationTokenSource(Timeout);
        return await _announcements.Reader.ReadAsync(cts.Token);
    }

    public async Task<int> PreKeysLowAsync()
    {
        using var cts = new CancellationTokenSource(Timeout);
        return await _preKeysLow.Reader.ReadAsync(cts.Token);
    }

    public async ValueTask DisposeAsync() => await Hub.DisposeAsync();
}

public static class Refusal
{
    /// <summary>Asserts that a hub call fails with a HubException carrying <paramref name="code"/>.</summary>
    public static async Task AssertHubAsync(string code, Func<Task> call)
    {
        var exception = await Assert.ThrowsAsync<HubException>(call);
        Assert.True(ErrorCodes.TryParseHubMessage(exception.Message, out var actual), exception.Message);
        Assert.Equal(code, actual);
    }

    /// <summary>Asserts an HTTP ProblemDetails response with <paramref name="code"/> and <paramref name="status"/>.</summary>
    public static async Task AssertHttpAsync(string code, int status, HttpResponseMessage response)
    {
        Assert.Equal(status, (int)response.StatusCode);
        using var document = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(code, document.RootElement.GetProperty("code").GetString());
    }
}
