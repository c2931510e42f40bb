using System.Security.Cryptography;
using Messaging.Client;
using Messaging.Contracts;
using Messaging.Crypto.Keys;
using Messaging.Crypto.Ratchet;
using Microsoft.AspNetCore.SignalR.Client;

namespace Messaging.LoadTest;

internal sealed record LoadSettings(int Pairs, int PayloadBytes, TimeSpan WarmUp, TimeSpan Window);

/// <summary>
/// Runs a closed loop: every device keeps exactly one send in flight (the next send starts when the server
/// acknowledged the previous one), for warm-up plus the measured window, then stops.
/// </summary>
internal static class ClosedLoop
{
    public static async Task<Result> RunAsync(IReadOnlyList<Func<CancellationToken, Task>> senders, Measurement measurement, LoadSettings settings, int serverPid)
    {
        using var stop = new CancellationTokenSource();
        var loops = senders.Select(send => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await send(stop.Token);
            }
        })).ToArray();

        await Task.Delay(settings.WarmUp);
        var serverCpu = Cpu.Seconds(serverPid);
        var loadCpu = Cpu.Seconds(Environment.ProcessId);
        var writer = WriterThread.Seconds(serverPid);
        measurement.OpenWindow();
        await Task.Delay(settings.Window);
        measurement.CloseWindow();
        var serverUsed = Cpu.Seconds(serverPid) - serverCpu;
        var loadUsed = Cpu.Seconds(Environment.ProcessId) - loadCpu;
        var writerAfter = WriterThread.Seconds(serverPid);
        await stop.CancelAsync();
        try
        {
            await Task.WhenAll(loops).WaitAsync(TimeSpan.FromSeconds(20));
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }

        return measurement.Summarise(settings.Window, serverUsed, loadUsed, (writerAfter.OnCpu - writer.OnCpu, writerAfter.Waiting - writer.Waiting));
    }
}

/// <summary>(A) The durable relay: the real server process with SQLite, real devices with real E2E sessions, acknowledgements.</summary>
internal static class RelayScenario
{
    private sealed class Device
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

    /// <summary>The SDK's delay before a separate acknowledgement call, when no send carried the acknowledgements.</summary>
    private static readonly TimeSpan AcknowledgementDelay = TimeSpan.FromMilliseconds(100);

    public static async Task<Result> RunAsync(string serverDirectory, LoadSettings settings)
    {
        await using var real = await RealServer.StartAsync(serverDirectory);
        var (server, url, operatorCode) = (real.Process, real.Url, real.OperatorCode);
        {
            using var api = new ServerApi(url);
            var op = await EnrolAsync(api, operatorCode);
            var admins = new List<Device>();
            foreach (var name in new[] { "Service X", "Service Y" })
            {
                var organisation = await api.CreateOrganisationAsync(op.Token, new CreateOrganisationRequest(name, OrganisationTypes.PreventionService));
                var admin = await api.CreateMemberAsync(op.Token, new CreateMemberRequest(organisation.OrganisationId, $"Admin {name}", Roles.OrganisationAdmin, $"admin@{Guid.NewGuid():N}.example"));
                admins.Add(await EnrolAsync(api, (await api.IssueEnrolmentCodeAsync(op.Token, admin.MemberId)).Code));
            }

            using var gate = new SemaphoreSlim(8);
            async Task<Device> WorkerAsync(Device admin, int i)
            {
                await gate.WaitAsync();
                try
                {
                    var whoami = await api.CreateMemberAsync(admin.Token, new CreateMemberRequest(await OrganisationOfAsync(admin, url), $"Worker {i}", Roles.Worker, $"w{i}-{Guid.NewGuid():N}@load.example"));
                    return await EnrolAsync(api, (await api.IssueEnrolmentCodeAsync(admin.Token, whoami.MemberId)).Code);
                }
                finally
                {
                    gate.Release();
                }
            }

            var left = await Task.WhenAll(Enumerable.Range(0, settings.Pairs).Select(i => WorkerAsync(admins[0], i)));
            var right = await Task.WhenAll(Enumerable.Range(0, settings.Pairs).Select(i => WorkerAsync(admins[1], i)));
            var devices = left.Concat(right).ToList();
            var measurement = new Measurement();
            await Task.WhenAll(devices.Select(d => ConnectAsync(d, url, measurement)));

            // Pair up, create the conversations, and start the E2E sessions with one exchange each way (not measured).
            for (var i = 0; i < settings.Pairs; i++)
            {
                (left[i].Partner, right[i].Partner) = (right[i], left[i]);
            }

            await Task.WhenAll(left.Select(async x =>
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
                await SendAsync(x, new byte[settings.PayloadBytes], measurement: null);
                await x.Partner.FirstMessage.Task.WaitAsync(TimeSpan.FromSeconds(30));
                await SendAsync(x.Partner, new byte[settings.PayloadBytes], measurement: null);
                await x.FirstMessage.Task.WaitAsync(TimeSpan.FromSeconds(30));
            }));

            var payload = RandomNumberGenerator.GetBytes(settings.PayloadBytes);
            var result = await ClosedLoop.RunAsync([.. devices.Select(d => (Func<CancellationToken, Task>)(_ => SendAsync(d, payload, measurement)))], measurement, settings, server.Pid);
            await Task.WhenAll(devices.Select(d => d.Hub.DisposeAsync().AsTask()));
            return result;
        }
    }

    private static async Task<Guid> OrganisationOfAsync(Device admin, Uri url)
    {
        await using var hub = Connect(admin, url);
        await hub.StartAsync();
        return (await hub.InvokeAsync<WhoAmIResult>(nameof(IMessagingHub.WhoAmI))).OrganisationId;
    }

    private static HubConnection Connect(Device device, Uri url)
        => new HubConnectionBuilder().WithUrl(new Uri(url, HubRoutes.Messaging), o => o.AccessTokenProvider = () => Task.FromResult<string?>(device.Token)).Build();

    private static async Task ConnectAsync(Device device, Uri url, Measurement measurement)
    {
        device.Hub = Connect(device, url);
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

    private static async Task SendAsync(Device device, byte[] payload, Measurement? measurement)
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

    private static async Task<Device> EnrolAsync(ServerApi api, string code)
    {
        var identity = IdentityKeyPair.Generate();
        var signedPreKey = SignedPreKeyPair.Generate(identity, 1);
        var oneTimePreKeys = OneTimePreKeyPair.GenerateBatch(1, 5).ToDictionary(k => k.Id);
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

/// <summary>(B) The bare baseline: the same closed loop through a SignalR hub that only forwards (child process).</summary>
internal static class EchoScenario
{
    public static async Task<Result> RunAsync(string toolPath, LoadSettings settings)
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
        var result = await ClosedLoop.RunAsync(senders, measurement, settings, server.Pid);
        await Task.WhenAll(connections.Select(c => c.Hub.DisposeAsync().AsTask()));
        return result;
    }
}
