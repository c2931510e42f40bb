using System.Diagnostics;
using Messaging.Contracts;
using Messaging.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Messaging.Server.Tests.Scaleout;

/// <summary>
/// One device's client as an application runs it against a scaled-out deployment, counting everything by envelope id:
/// its sends the server acknowledged (accepted), the attempts refused or broken on the way (each retried with the same
/// envelope id, as clients do), what was pushed to it, what it acknowledged, and what came again. When its connection
/// breaks (its instance killed) it reconnects to the next running instance, as a client behind a load balancer would.
/// </summary>
public sealed class CountingDevice : IAsyncDisposable
{
    private static readonly TimeSpan GiveUpAfter = TimeSpan.FromSeconds(60);
    private readonly ProcessDeployment _deployment;
    private readonly object _gate = new();
    private readonly Dictionary<Guid, int> _pushes = [];
    private readonly Dictionary<Guid, int> _acknowledgedByMe = []; // envelope id → the connection that acknowledged it
    private readonly List<(long Sequence, Guid EnvelopeId)> _toAcknowledge = [];
    private readonly HashSet<Guid> _accepted = [];
    private readonly Dictionary<string, int> _refusals = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _connecting = new(1, 1);
    private HubConnection? _hub;
    private int _hubNumber;
    private int _connections;
    private Task? _acknowledging;
    private int _redeliveredAfterAcknowledgement;
    private volatile bool _offline;
    private int _reconnections;

    public CountingDevice(ProcessDeployment deployment, TestDevice device)
    {
        _deployment = deployment;
        Device = device;
    }

    public TestDevice Device { get; }

    /// <summary>The instance the device is connected to now.</summary>
    public LimitedServerProcess? Instance { get; private set; }

    /// <summary>Envelope ids of this device's sends that the server accepted (committed).</summary>
    public IReadOnlySet<Guid> Accepted
    {
        get
        {
            lock (_gate)
            {
                return new HashSet<Guid>(_accepted);
            }
        }
    }

    /// <summary>Distinct envelope ids pushed to this device (what reaches its application: the client drops repeats by id).</summary>
    public IReadOnlySet<Guid> Delivered
    {
        get
        {
            lock (_gate)
            {
                return new HashSet<Guid>(_pushes.Keys);
            }
        }
    }

    /// <summary>Pushes of an id pushed before (allowed by the protocol — a live push and the catch-up at connect may
    /// cross, and a push already on its way when the acknowledgement was confirmed still arrives on that connection — and
    /// dropped by the client's id check, as the client SDK does).</summary>
    public int Repeats
    {
        get
        {
            lock (_gate)
            {
                return _pushes.Values.Sum(n => n - 1);
            }
        }
    }

    /// <summary>Pushes, on a later connection, of an id whose acknowledgement the server had confirmed on an earlier one:
    /// the server kept an acknowledged envelope pending and delivered it twice.</summary>
    public int RedeliveredAfterAcknowledgement => Volatile.Read(ref _redeliveredAfterAcknowledgement);

    /// <summary>Send attempts refused or broken (then retried with the same id), by what the client saw.</summary>
    public IReadOnlyDictionary<string, int> Refusals
    {
        get
        {
            lock (_gate)
            {
                return new Dictionary<string, int>(_refusals, StringComparer.Ordinal);
            }
        }
    }

    public int Reconnections => Volatile.Read(ref _reconnections);

    /// <summary>Connects to <paramref name="preferred"/> (or the first running instance) and starts acknowledging what
    /// is pushed.</summary>
    public async Task ConnectAsync(LimitedServerProcess? preferred = null)
    {
        _offline = false;
        await EnsureConnectedAsync(preferred);
        _acknowledging ??= Task.Run(AcknowledgeLoopAsync);
    }

    /// <summary>Closes this device's connection and connects it to <paramref name="instance"/> (a client moving to the
    /// other instance).</summary>
    public async Task MoveToAsync(LimitedServerProcess instance)
    {
        await DisconnectAsync();
        _offline = false;
        await EnsureConnectedAsync(instance);
    }

    /// <summary>Disconnects (the device goes offline); its pending envelopes wait in the database.</summary>
    public async Task DisconnectAsync()
    {
        _offline = true;
        await _connecting.WaitAsync();
        try
        {
            if (_hub is not null)
            {
                await _hub.DisposeAsync();
                _hub = null;
            }
        }
        finally
        {
            _connecting.Release();
        }
    }

    /// <summary>One hub call on the current connection (setting up, not traffic: no retry).</summary>
    public async Task<T> InvokeAsync<T>(string method, object request)
        => await (await EnsureConnectedAsync(null)).InvokeAsync<T>(method, request, _stopping.Token);

    /// <summary>Sends until the server accepts, retrying the same request (same envelope id) after a refusal or a broken
    /// connection. Returns the number of attempts.</summary>
    public async Task<int> SendUntilAcceptedAsync(SendEnvelopeRequest request)
    {
        var clock = Stopwatch.StartNew();
        for (var attempt = 1; ; attempt++)
        {
            string refusal;
            try
            {
                var hub = await EnsureConnectedAsync(null);
                var result = await hub.InvokeAsync<SendEnvelopeResult>(nameof(IMessagingHub.SendEnvelope), request, _stopping.Token);
                Assert.Equal(SendOutcome.Accepted, result.Outcome);
                lock (_gate)
                {
                    _accepted.Add(request.EnvelopeId);
                }

                return attempt;
            }
            catch (Microsoft.AspNetCore.SignalR.HubException ex)
            {
                refusal = ErrorCodes.TryParseHubMessage(ex.Message, out var code) ? code : "hub error without a code";
            }
            catch (Exception ex) when (ex is IOException or InvalidOperationException or TaskCanceledException or System.Net.WebSockets.WebSocketException)
            {
                refusal = "connection broken";
            }

            lock (_gate)
            {
                _refusals[refusal] = _refusals.GetValueOrDefault(refusal) + 1;
            }

            Assert.True(clock.Elapsed < GiveUpAfter, $"a send was refused for {GiveUpAfter.TotalSeconds} s: {refusal}");
            await Task.Delay(100);
        }
    }

    /// <summary>Waits until every id of <paramref name="expected"/> was delivered (or 30 s passed) and its acknowledgement
    /// went through.</summary>
    public async Task WaitForAsync(IReadOnlySet<Guid> expected)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            lock (_gate)
            {
                if (expected.All(_acknowledgedByMe.ContainsKey))
                {
                    return;
                }
            }

            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        if (_acknowledging is not null)
        {
            await _acknowledging;
        }

        await DisconnectAsync();
        _stopping.Dispose();
        _connecting.Dispose();
    }

    private async Task<HubConnection> EnsureConnectedAsync(LimitedServerProcess? preferred)
    {
        await _connecting.WaitAsync(_stopping.Token);
        try
        {
            if (_hub is { State: HubConnectionState.Connected } live)
            {
                return live;
            }

            if (_offline && preferred is null)
            {
                throw new InvalidOperationException("The device is offline.");
            }

            if (_hub is not null)
            {
                await _hub.DisposeAsync();
                _hub = null;
                Interlocked.Increment(ref _reconnections);
            }

            var clock = Stopwatch.StartNew();
            while (true)
            {
                var instance = preferred is { HasExited: false } ? preferred : (_deployment.Running is { Count: > 0 } running ? running[0] : null)
                    ?? throw new InvalidOperationException("No instance is running.");
                var hub = instance.Hub(Device.Token!);
                var number = Interlocked.Increment(ref _connections);
                hub.On<EnvelopeDelivery>(nameof(IMessagingClient.ReceiveEnvelope), d => Received(d, number));
                try
                {
                    await hub.StartAsync(_stopping.Token);
                    // The connection's catch-up (what is pending) is pushed before its first call is answered.
                    await hub.InvokeAsync<WhoAmIResult>(nameof(IMessagingHub.WhoAmI), _stopping.Token);
                    (_hub, _hubNumber) = (hub, number);
                    Instance = instance;
                    return hub;
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !_stopping.IsCancellationRequested)
                {
                    await hub.DisposeAsync();
                    Assert.True(clock.Elapsed < GiveUpAfter, $"could not connect for {GiveUpAfter.TotalSeconds} s: {ex.Message}");
                    await Task.Delay(200, _stopping.Token);
                }
            }
        }
        finally
        {
            _connecting.Release();
        }
    }

    private void Received(EnvelopeDelivery delivery, int connection)
    {
        lock (_gate)
        {
            _pushes[delivery.EnvelopeId] = _pushes.GetValueOrDefault(delivery.EnvelopeId) + 1;
            if (_acknowledgedByMe.TryGetValue(delivery.EnvelopeId, out var acknowledgedOn) && acknowledgedOn < connection)
            {
                _redeliveredAfterAcknowledgement++;
            }

            _toAcknowledge.Add((delivery.Sequence, delivery.EnvelopeId));
        }
    }

    /// <summary>Acknowledges what was pushed, in batches; a batch whose call fails is acknowledged again later (after a
    /// reconnection the same envelopes come again anyway).</summary>
    private async Task AcknowledgeLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            List<(long Sequence, Guid EnvelopeId)> batch = [];
            if (!_offline)
            {
                lock (_gate)
                {
                    batch = [.. _toAcknowledge];
                    _toAcknowledge.Clear();
                }
            }

            if (batch.Count == 0 && !_offline && _hub is not { State: HubConnectionState.Connected })
            {
                // The connection broke (its instance died): reconnect at once, as a client does, to get what is pending.
                try
                {
                    await EnsureConnectedAsync(null);
                }
                catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
                {
                    return;
                }
                catch (InvalidOperationException)
                {
                    // Went offline meanwhile.
                }
            }
            else if (batch.Count > 0)
            {
                try
                {
                    var hub = await EnsureConnectedAsync(null);
                    var connection = Volatile.Read(ref _hubNumber);
                    await hub.InvokeAsync<AcknowledgeResult>(nameof(IMessagingHub.AcknowledgeEnvelopes),
                        new AcknowledgeRequest([.. batch.Select(b => b.Sequence)]), _stopping.Token);
                    lock (_gate)
                    {
                        foreach (var (_, envelopeId) in batch)
                        {
                            _acknowledgedByMe.TryAdd(envelopeId, connection);
                        }
                    }

                    continue;
                }
                catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex) when (ex is Microsoft.AspNetCore.SignalR.HubException or IOException or InvalidOperationException
                    or TaskCanceledException or System.Net.WebSockets.WebSocketException)
                {
                    lock (_gate)
                    {
                        _toAcknowledge.AddRange(batch);
                    }
                }
            }

            try
            {
                await Task.Delay(50, _stopping.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
