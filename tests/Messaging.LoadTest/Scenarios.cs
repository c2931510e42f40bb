using System.Diagnostics;
using System.Security.Cryptography;
using Messaging.Client;
using Messaging.Client.Connection;
using Messaging.Contracts;
using Messaging.Crypto.Keys;
using Messaging.Crypto.Ratchet;
using Messaging.Testing;
using Microsoft.AspNetCore.SignalR.Client;

namespace Messaging.LoadTest;

/// <summary>What a run does: <paramref name="Pairs"/> of devices, <paramref name="PayloadBytes"/> a message, a warm-up then
/// the measured window, the devices' keep-alive when given.</summary>
/// <param name="Pairs">Device pairs (for the realistic run, half its devices).</param>
/// <param name="PayloadBytes">The plaintext size of a message.</param>
/// <param name="WarmUp">Traffic before the window, not measured.</param>
/// <param name="Window">The measured window.</param>
/// <param name="ClientKeepAlive">The devices' ping interval, instead of the SDK's.</param>
/// <param name="ToolNoGcMegabytes">For the paced (realistic) loop: the load tool keeps its own collector out of the window
/// (<see cref="ToolGc.HoldOff"/>), up to this many megabytes allocated in it; 0 leaves the collector as it is.</param>
internal sealed record LoadSettings(int Pairs, int PayloadBytes, TimeSpan WarmUp, TimeSpan Window, TimeSpan? ClientKeepAlive = null,
    int ToolNoGcMegabytes = 0);

/// <summary>
/// Runs a closed loop: every device keeps exactly one send in flight (the next send starts when the server
/// acknowledged the previous one), for warm-up plus the measured window, then stops.
/// </summary>
internal static class ClosedLoop
{
    public static async Task<Result> RunAsync(IReadOnlyList<Func<CancellationToken, Task>> senders, Measurement measurement, LoadSettings settings, CpuProbe cpu)
    {
        using var stop = new CancellationTokenSource();
        long failed = 0;
        var loops = senders.Select(send => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await send(stop.Token);
                }
                catch (Exception ex) when (ex is InvalidOperationException or Microsoft.AspNetCore.SignalR.HubException && !stop.IsCancellationRequested)
                {
                    // A refused or failed send is counted (the table's "failed sends") and the device goes on.
                    Interlocked.Increment(ref failed);
                }
            }
        })).ToArray();

        await Task.Delay(settings.WarmUp);
        cpu.Start();
        var failedAtOpen = Interlocked.Read(ref failed);
        var gcAtOpen = ToolGc.Now();
        measurement.OpenWindow();
        await Task.Delay(settings.Window);
        measurement.CloseWindow();
        var used = cpu.Stop();
        Console.Error.WriteLine(ToolGc.Now().Since(gcAtOpen));
        var failedInWindow = Interlocked.Read(ref failed) - failedAtOpen;
        await stop.CancelAsync();
        try
        {
            await Task.WhenAll(loops).WaitAsync(TimeSpan.FromSeconds(20));
        }
        catch (Exception ex) when (ex is OperationCanceledException or InvalidOperationException or Microsoft.AspNetCore.SignalR.HubException)
        {
            // Stopping.
        }

        return measurement.Summarise(settings.Window, used) with { Failed = failedInWindow };
    }
}

/// <summary>
/// An open loop at a fixed aggregate rate: the k-th send is due at start + k / rate and comes from device k mod N, whether
/// or not earlier sends have been answered (a slow server shows as latency, not as a lower offered rate).
/// </summary>
internal static class PacedLoop
{
    public static async Task<Result> RunAsync(IReadOnlyList<Func<Task>> senders, double perSecond, Measurement measurement, LoadSettings settings, CpuProbe cpu)
    {
        long failed = 0, inFlight = 0, sent = 0;
        async Task SendOneAsync(Func<Task> send)
        {
            try
            {
                await send();
            }
            catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException or Microsoft.AspNetCore.SignalR.HubException or IOException)
            {
                Interlocked.Increment(ref failed);
            }
            finally
            {
                Interlocked.Decrement(ref inFlight);
            }
        }

        var clock = Stopwatch.StartNew();
        var windowOpen = settings.WarmUp;
        var windowClose = settings.WarmUp + settings.Window;
        var opened = false;
        var heldOff = false;
        long failedAtOpen = 0;
        var gcAtOpen = ToolGc.Now();
        while (clock.Elapsed < windowClose)
        {
            if (!heldOff && settings.ToolNoGcMegabytes > 0 && clock.Elapsed >= windowOpen - ToolGc.HoldOffLead)
            {
                // Before the window: the collection it starts with pauses the tool, and its deliveries are not counted.
                heldOff = true;
                Console.Error.WriteLine(ToolGc.HoldOff(settings.ToolNoGcMegabytes));
            }

            if (!opened && clock.Elapsed >= windowOpen)
            {
                opened = true;
                failedAtOpen = Interlocked.Read(ref failed);
                cpu.Start();
                gcAtOpen = ToolGc.Now();
                measurement.OpenWindow();
            }

            // One reading of the clock: read twice, the difference could come out as -1 ms, which Task.Delay takes as "forever".
            var wait = TimeSpan.FromSeconds(sent / perSecond) - clock.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                // At least a millisecond: Task.Delay rounds a shorter wait down to none, and the loop would spin.
                await Task.Delay(wait < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : wait);
                continue;
            }

            Interlocked.Increment(ref inFlight);
            _ = SendOneAsync(senders[(int)(sent % senders.Count)]);
            sent++;
        }

        measurement.CloseWindow();
        var used = cpu.Stop();
        Console.Error.WriteLine(ToolGc.Now().Since(gcAtOpen));
        if (heldOff)
        {
            Console.Error.WriteLine(ToolGc.Release());
        }

        var failedInWindow = Interlocked.Read(ref failed) - failedAtOpen;
        var drain = Stopwatch.StartNew();
        while (Interlocked.Read(ref inFlight) > 0 && drain.Elapsed < TimeSpan.FromSeconds(20))
        {
            await Task.Delay(50);
        }

        Console.Error.WriteLine(measurement.SlowTimeline(15));
        return measurement.Summarise(settings.Window, used) with { Failed = failedInWindow };
    }
}

/// <summary>The load tool's own collections during the window: its pauses delay the receipts it timestamps, so they show
/// in the latencies it reports.</summary>
internal readonly record struct ToolGc(int Gen0, int Gen1, int Gen2, TimeSpan Paused, long Allocated)
{
    /// <summary>How long before the window <see cref="HoldOff"/> runs: its own collection must be over when it opens.</summary>
    public static readonly TimeSpan HoldOffLead = TimeSpan.FromSeconds(3);

    public static ToolGc Now() => new(GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalPauseDuration(),
        GC.GetTotalAllocatedBytes());

    public string Since(ToolGc open)
        => $"load tool GC in the window ({(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")}): {Gen0 - open.Gen0} collections, " +
           $"{Gen1 - open.Gen1} of gen 1, {Gen2 - open.Gen2} of gen 2; paused {(Paused - open.Paused).TotalMilliseconds:F0} ms in all; " +
           $"{(Allocated - open.Allocated) / 1_000_000} MB allocated";

    /// <summary>
    /// Keeps the tool's collector out of the window: a region with no collection (<see cref="GC.TryStartNoGCRegion(long)"/>)
    /// for up to <paramref name="megabytes"/> of allocations, or the largest the runtime grants below it. The tool plays
    /// 2,000 devices in one process, and one collection of its pauses all of their receive loops at once (up to 300 ms a
    /// minute measured), which real devices, each in its own process, never do together; the pause shows as the server's
    /// latency. The collection that makes room for the region runs before the window.
    /// </summary>
    public static string HoldOff(int megabytes)
    {
        for (var size = (long)megabytes * 1_000_000; size >= 64_000_000; size /= 2)
        {
            try
            {
                return GC.TryStartNoGCRegion(size)
                    ? $"load tool: no collection of its own in the window, for up to {size / 1_000_000} MB allocated"
                    : "load tool: the runtime refused a region without collections; its collector runs as usual";
            }
            catch (ArgumentOutOfRangeException)
            {
                // More than the runtime grants at once: try half.
            }
        }

        return "load tool: the runtime grants no region without collections of 64 MB or more; its collector runs as usual";
    }

    /// <summary>Ends <see cref="HoldOff"/>'s region, and says whether it held over the whole window.</summary>
    public static string Release()
    {
        if (System.Runtime.GCSettings.LatencyMode != System.Runtime.GCLatencyMode.NoGCRegion)
        {
            return "load tool: its region without collections ended inside the window (more allocated than it allowed)";
        }

        GC.EndNoGCRegion();
        return "load tool: its region without collections held for the whole window";
    }
}

/// <summary>(A) The durable relay: the real server process with SQLite, real devices with real E2E sessions, acknowledgements.</summary>
internal static class RelayScenario
{
    internal sealed class Device
    {
        public required Guid DeviceId { get; init; }

        public required Guid MemberId { get; init; }

        public required IdentityKeyPair Identity { get; init; }

        public required SignedPreKeyPair SignedPreKey { get; init; }

        public required Dictionary<uint, OneTimePreKeyPair> OneTimePreKeys { get; init; }

        public required string Token { get; init; }

        public HubConnection Hub { get; set; } = null!;

        public Session? Session { get; set; }

        public Device Partner { get; set; } = null!;

        public Guid ConversationId { get; set; }

        public TaskCompletionSource FirstMessage { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Received and decrypted, not yet acknowledged: the next send carries them, or a separate call after
        /// <see cref="AcknowledgementDelay"/> when no send came (as the SDK does). Guarded by its own lock.</summary>
        public List<long> PendingAcks { get; } = [];

        public bool AckFlushScheduled { get; set; }
    }

    private static int _enrolmentRetries;

    /// <summary>Worker enrolments started over after an internal server error (see <see cref="EnrolWorkersAsync"/>).</summary>
    internal static int EnrolmentRetries => Volatile.Read(ref _enrolmentRetries);

    /// <summary>The SDK's delay before a separate acknowledgement call, when no send carried the acknowledgements.</summary>
    private static readonly TimeSpan AcknowledgementDelay = TimeSpan.FromMilliseconds(100);

    /// <summary>Runs the relay on <paramref name="setup"/>: a closed loop (every device keeps one send in flight), or an
    /// open loop at <paramref name="perSecond"/> sends per second in aggregate.</summary>
    public static async Task<Result> RunAsync(string serverDirectory, LoadSettings settings, ServerSetup setup, double? perSecond = null)
    {
        await using var real = await RealServer.StartAsync(serverDirectory, setup);
        var measurement = new Measurement();
        var devices = await PrepareAsync(real, settings.Pairs, settings.PayloadBytes, measurement, settings.ClientKeepAlive);
        await real.SettleStatisticsAsync();
        var cpu = new CpuProbe([.. real.Processes.Select(p => p.Pid)],
            setup.Storage == LoadStorage.Postgres ? ServerSetup.ProcessIdFrom(ServerSetup.PostgresPidVariable) : null,
            setup.Instances > 1 ? ServerSetup.ProcessIdFrom(ServerSetup.RedisPidVariable) : null);
        var payload = RandomNumberGenerator.GetBytes(settings.PayloadBytes);
        Console.Error.WriteLine($"{TimeProvider.System.GetUtcNow().ToString("HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture)} measuring…");
        var result = perSecond is { } rate
            ? await PacedLoop.RunAsync([.. devices.Select(d => (Func<Task>)(() => SendAsync(d, payload, measurement)))], rate, measurement, settings, cpu)
            : await ClosedLoop.RunAsync([.. devices.Select(d => (Func<CancellationToken, Task>)(_ => SendAsync(d, payload, measurement)))], measurement, settings, cpu);
        await Task.WhenAll(devices.Select(d => d.Hub.DisposeAsync().AsTask()));
        return result;
    }

    /// <summary>Enrols 2 × <paramref name="pairs"/> workers in two services, connects them (the first of each pair to the
    /// first instance, its partner to the last), creates one conversation per pair and starts its E2E session with one
    /// exchange each way (not measured).</summary>
    private static async Task<List<Device>> PrepareAsync(RealServer real, int pairs, int payloadBytes, Measurement measurement, TimeSpan? clientKeepAlive)
    {
        var clock = Stopwatch.StartNew();
        using var api = new ServerApi(real.Url);
        var op = await EnrolAsync(api, real.OperatorCode);
        var sides = new List<Device[]>();
        foreach (var name in new[] { "Service X", "Service Y" })
        {
            var organisation = await api.CreateOrganisationAsync(op.Token, new CreateOrganisationRequest(name, OrganisationTypes.PreventionService));
            var admin = await api.CreateMemberAsync(op.Token, new CreateMemberRequest(organisation.OrganisationId, $"Admin {name}", Roles.OrganisationAdmin, $"admin@{Guid.NewGuid():N}.example"));
            var adminDevice = await EnrolAsync(api, (await api.IssueEnrolmentCodeAsync(op.Token, admin.MemberId)).Code);
            sides.Add(await EnrolWorkersAsync(api, adminDevice.Token, organisation.OrganisationId, pairs, oneTimePreKeys: 5));
        }

        var (left, right) = (sides[0], sides[1]);
        Console.Error.WriteLine($"enrolled {2 * pairs} devices in {clock.Elapsed.TotalSeconds:F1} s ({EnrolmentRetries} started over after an internal server error)");
        using var gate = new SemaphoreSlim(64);
        async Task Gated(Func<Task> work)
        {
            await gate.WaitAsync();
            try
            {
                await work();
            }
            finally
            {
                gate.Release();
            }
        }

        await Task.WhenAll(left.Select(d => Gated(() => ConnectAsync(d, real.InstanceUrls[0][0], measurement)))
            .Concat(right.Select(d => Gated(() => ConnectAsync(d, real.InstanceUrls[^1][0], measurement)))));
        if (clientKeepAlive is { } interval)
        {
            foreach (var device in left.Concat(right))
            {
                device.Hub.KeepAliveInterval = interval;
            }
        }

        Console.Error.WriteLine($"connected at {clock.Elapsed.TotalSeconds:F1} s");
        for (var i = 0; i < pairs; i++)
        {
            (left[i].Partner, right[i].Partner) = (right[i], left[i]);
        }

        // Fewer at once than the connections: on PostgreSQL a burst of concurrent first sends meets serialization failures.
        using var sessions = new SemaphoreSlim(16);
        await Task.WhenAll(left.Select(async x =>
        {
            await sessions.WaitAsync();
            try
            {
                await StartSessionAsync(x, payloadBytes);
            }
            finally
            {
                sessions.Release();
            }
        }));
        Console.Error.WriteLine($"sessions started at {clock.Elapsed.TotalSeconds:F1} s");
        return [.. left, .. right];
    }

    /// <summary>Creates the pair's conversation and starts its E2E session with one exchange each way.</summary>
    internal static async Task StartSessionAsync(Device x, int payloadBytes)
    {
        var conversation = await x.Hub.InvokeAsync<ConversationSummary>(nameof(IMessagingHub.CreateConversation), new CreateConversationRequest([x.Partner.MemberId], false));
        x.ConversationId = x.Partner.ConversationId = conversation.ConversationId;
        var bundles = await x.Hub.InvokeAsync<PreKeyBundles>(nameof(IMessagingHub.GetPreKeyBundles), new GetPreKeyBundlesRequest(x.Partner.MemberId));
        var bundle = bundles.Bundles.Single();
        var identity = IdentityPublicKey.Parse(bundle.IdentityKey);
        x.Session = Session.Initiate(x.Identity, new PreKeyBundle(
            identity,
            SignedPreKeyPublic.Create(bundle.SignedPreKey.Id, bundle.SignedPreKey.PublicKey, bundle.SignedPreKey.Signature, identity),
            bundle.OneTimePreKey is { } o ? OneTimePreKeyPublic.Create(o.Id, o.PublicKey) : null));
        await SendRetryingAsync(x, payloadBytes);
        await x.Partner.FirstMessage.Task.WaitAsync(TimeSpan.FromSeconds(60));
        await SendRetryingAsync(x.Partner, payloadBytes);
        await x.FirstMessage.Task.WaitAsync(TimeSpan.FromSeconds(60));
    }

    /// <summary>Set-up sends are retried: on PostgreSQL a burst of concurrent sends can exhaust the server's retries of
    /// serialization failures (the hub then answers an unexpected error), and the set-up is not what is measured.</summary>
    private static async Task SendRetryingAsync(Device device, int payloadBytes)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await SendAsync(device, new byte[payloadBytes], measurement: null);
                return;
            }
            catch (Microsoft.AspNetCore.SignalR.HubException) when (attempt < 30)
            {
                await Task.Delay(Random.Shared.Next(10, 100));
            }
        }
    }

    /// <summary>Creates and enrols <paramref name="count"/> workers of one organisation, <paramref name="parallel"/> at a
    /// time (a member, an enrolment code, the enrolment, a challenge and a token each: five requests).</summary>
    internal static async Task<Device[]> EnrolWorkersAsync(ServerApi api, string adminToken, Guid organisationId, int count, int oneTimePreKeys, int parallel = 16)
    {
        using var gate = new SemaphoreSlim(parallel);
        async Task<Device> WorkerAsync(int i)
        {
            await gate.WaitAsync();
            try
            {
                for (var attempt = 1; ; attempt++)
                {
                    try
                    {
                        var member = await api.CreateMemberAsync(adminToken, new CreateMemberRequest(organisationId, $"Worker {i}", Roles.Worker, $"w{i}-{Guid.NewGuid():N}@load.example"));
                        return await EnrolAsync(api, (await api.IssueEnrolmentCodeAsync(adminToken, member.MemberId)).Code, oneTimePreKeys);
                    }
                    catch (ServerRefusedException ex) when (ex.Message.StartsWith("http.500", StringComparison.Ordinal) && attempt < 20)
                    {
                        // On PostgreSQL concurrent enrolments can exhaust the server's retries of serialization failures
                        // (an internal error, 500); set-up is not what is measured, so the worker starts over, and it is counted.
                        Interlocked.Increment(ref _enrolmentRetries);
                        await Task.Delay(Random.Shared.Next(10, 100));
                    }
                }
            }
            finally
            {
                gate.Release();
            }
        }

        return await Task.WhenAll(Enumerable.Range(0, count).Select(WorkerAsync));
    }

    /// <summary>The device's hub connection, as the SDK makes it; with <paramref name="http2"/>, its WebSocket goes over
    /// HTTP/2 (RFC 8441, cleartext with prior knowledge) through that shared handler, which multiplexes up to the server's
    /// stream limit (Kestrel: 100) per TCP connection and opens more as needed.</summary>
    internal static HubConnection Connect(Device device, Uri url, HttpMessageInvoker? http2 = null)
        => HubLink.KeepAlive(new HubConnectionBuilder().WithUrl(new Uri(url, HubRoutes.Messaging), o =>
        {
            HubLink.WebSocketsOnly(o, () => Task.FromResult<string?>(device.Token));
            if (http2 is not null)
            {
                o.WebSocketFactory = (context, cancellation) => Http2WebSockets.ConnectAsync(context.Uri, http2, device.Token, cancellation);
            }
        }).Build());

    /// <summary>A handler for <see cref="Connect"/>'s HTTP/2 WebSockets: one pool, new TCP connections when one is full.</summary>
    internal static HttpMessageInvoker Http2Handler() => new(new SocketsHttpHandler
    {
        EnableMultipleHttp2Connections = true,
        PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
        ConnectTimeout = TimeSpan.FromSeconds(10),
    });

    internal static async Task ConnectAsync(Device device, Uri url, Measurement measurement, HttpMessageInvoker? http2 = null)
    {
        device.Hub = Connect(device, url, http2);
        // Decrypting is a few microseconds on this in-memory session, so the handler does it in place; the
        // acknowledgement is only queued (a hub call from inside a handler would deadlock the client's receive loop).
        device.Hub.On<EnvelopeDelivery>(nameof(IMessagingClient.ReceiveEnvelope), delivery =>
        {
            measurement.Delivered(delivery.EnvelopeId);
            Process(device, delivery);
        });
        await device.Hub.StartAsync();
    }

    /// <summary>Decrypts a delivery, then queues its acknowledgement as the SDK does: the device's next send carries
    /// it, or a separate call does after <see cref="AcknowledgementDelay"/>.</summary>
    private static void Process(Device device, EnvelopeDelivery delivery)
    {
        lock (device)
        {
            var associatedData = delivery.EnvelopeId.ToByteArray();
            if (device.Session is null)
            {
                var info = Session.ReadPreKeyInfo(delivery.Ciphertext)!;
                device.Session = Session.AcceptPreKeyMessage(device.Identity, device.SignedPreKey, info.OneTimePreKeyId is { } id ? device.OneTimePreKeys[id] : null, delivery.Ciphertext, associatedData, out _);
            }
            else
            {
                device.Session.Decrypt(delivery.Ciphertext, associatedData);
            }
        }

        device.FirstMessage.TrySetResult();
        QueueAcknowledgement(device, [delivery.Sequence]);
    }

    private static void QueueAcknowledgement(Device device, IEnumerable<long> sequences)
    {
        lock (device.PendingAcks)
        {
            device.PendingAcks.AddRange(sequences);
            if (device.AckFlushScheduled || device.PendingAcks.Count == 0)
            {
                return;
            }

            device.AckFlushScheduled = true;
        }

        _ = FlushAcknowledgementsLaterAsync(device);
    }

    private static long[]? TakeAcknowledgements(Device device)
    {
        lock (device.PendingAcks)
        {
            if (device.PendingAcks.Count == 0)
            {
                return null;
            }

            long[] taken = [.. device.PendingAcks];
            device.PendingAcks.Clear();
            return taken;
        }
    }

    private static async Task FlushAcknowledgementsLaterAsync(Device device)
    {
        await Task.Delay(AcknowledgementDelay);
        lock (device.PendingAcks)
        {
            device.AckFlushScheduled = false;
        }

        if (TakeAcknowledgements(device) is not { } acks)
        {
            return;
        }

        try
        {
            await device.Hub.InvokeAsync<AcknowledgeResult>(nameof(IMessagingHub.AcknowledgeEnvelopes), new AcknowledgeRequest(acks));
        }
        catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException or Microsoft.AspNetCore.SignalR.HubException)
        {
            // The connection closed at the end of the run.
        }
    }

    internal static async Task SendAsync(Device device, byte[] payload, Measurement? measurement)
    {
        var id = Guid.NewGuid();
        measurement?.Started(id);
        byte[] ciphertext;
        lock (device)
        {
            ciphertext = device.Session!.Encrypt(payload, id.ToByteArray());
        }

        var acks = TakeAcknowledgements(device);
        SendEnvelopeResult result;
        try
        {
            result = await device.Hub.InvokeAsync<SendEnvelopeResult>(nameof(IMessagingHub.SendEnvelope),
                new SendEnvelopeRequest(id, device.ConversationId, EnvelopeKind.Chat, [new RecipientCiphertext(device.Partner.DeviceId, ciphertext)], Acknowledge: acks));
        }
        catch
        {
            QueueAcknowledgement(device, acks ?? []);
            throw;
        }

        if (result.Outcome != SendOutcome.Accepted)
        {
            QueueAcknowledgement(device, acks ?? []);
            throw new InvalidOperationException($"send refused: {result.Outcome}");
        }
    }

    internal static async Task<Device> EnrolAsync(ServerApi api, string code, int oneTimePreKeyCount = 5)
    {
        var identity = IdentityKeyPair.Generate();
        var signedPreKey = SignedPreKeyPair.Generate(identity, 1);
        var oneTimePreKeys = OneTimePreKeyPair.GenerateBatch(1, oneTimePreKeyCount).ToDictionary(k => k.Id);
        var enrolled = await api.EnrolAsync(new EnrolDeviceRequest(code, identity.PublicKey.ToBytes(),
            new SignedPreKeyData(1, signedPreKey.PublicKey.PublicKey, signedPreKey.PublicKey.Signature),
            [.. oneTimePreKeys.Values.Select(k => new OneTimePreKeyData(k.Id, k.PublicKey.PublicKey))]));
        var challenge = await api.ChallengeAsync(enrolled.DeviceId);
        var token = await api.TokenAsync(new TokenRequest(enrolled.DeviceId, challenge.Challenge, identity.SignChallenge(challenge.Challenge)));
        return new Device
        {
            DeviceId = enrolled.DeviceId,
            MemberId = enrolled.MemberId,
            Identity = identity,
            SignedPreKey = signedPreKey,
            OneTimePreKeys = oneTimePreKeys,
            Token = token.AccessToken,
        };
    }
}

/// <summary>(B) The bare baseline: the same loops through a SignalR hub that only forwards (child process).</summary>
internal static class EchoScenario
{
    /// <summary>Closed loop (the peak), or with <paramref name="perSecond"/> the realistic scenario's open loop: the same
    /// devices and rate as the relay, on a hub that stores, checks and encrypts nothing (the floor of this machine).</summary>
    public static async Task<Result> RunAsync(string toolPath, LoadSettings settings, double? perSecond = null)
    {
        var port = ChildProcess.FreePort();
        var url = new Uri($"http://127.0.0.1:{port}/");
        await using var server = await ChildProcess.StartAsync(Path.GetDirectoryName(toolPath)!, [toolPath, "echo-server", "--urls", url.ToString().TrimEnd('/')], new Uri(url, "ready"));
        var measurement = new Measurement();
        var connections = new List<(HubConnection Hub, string Id, string Partner)>();
        for (var i = 0; i < settings.Pairs * 2; i++)
        {
            var hub = new HubConnectionBuilder().WithUrl(new Uri(url, "echo")).Build();
            hub.On<byte[]>("Receive", payload => measurement.Delivered(new Guid(payload.AsSpan(0, 16))));
            await hub.StartAsync();
            var id = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var partner = (i < settings.Pairs ? i + settings.Pairs : i - settings.Pairs).ToString(System.Globalization.CultureInfo.InvariantCulture);
            await hub.InvokeAsync("Register", id);
            connections.Add((hub, id, partner));
        }

        var senders = connections.Select(c => (Func<CancellationToken, Task>)(async _ =>
        {
            var payload = RandomNumberGenerator.GetBytes(settings.PayloadBytes);
            var id = Guid.NewGuid();
            id.TryWriteBytes(payload);
            measurement.Started(id);
            // A send in flight is never cancelled: the loop stops between sends, as in the relay scenario.
            await c.Hub.InvokeAsync("Send", c.Partner, payload, CancellationToken.None);
        })).ToList();
        var cpu = new CpuProbe([server.Pid]);
        var result = perSecond is { } rate
            ? await PacedLoop.RunAsync([.. senders.Select(send => (Func<Task>)(() => send(CancellationToken.None)))], rate, measurement, settings, cpu)
            : await ClosedLoop.RunAsync(senders, measurement, settings, cpu);
        await Task.WhenAll(connections.Select(c => c.Hub.DisposeAsync().AsTask()));
        return result;
    }
}
