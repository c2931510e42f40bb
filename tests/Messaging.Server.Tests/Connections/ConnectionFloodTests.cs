using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using System.Threading.Channels;
using Messaging.Contracts;
using Messaging.Server.Features.Connections;
using Messaging.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;
using Xunit.Abstractions;

namespace Messaging.Server.Tests;

/// <summary>
/// A real server process under a 600-descriptor limit, flooded past it with idle unauthenticated sockets and then with
/// authenticated hub connections: the excess is refused (503 <c>server.busy</c> before the upgrade, or closed), one
/// warning is logged, the process lives, and its existing devices keep sending and receiving.
/// </summary>
public sealed class ConnectionFloodTests(ITestOutputHelper output)
{
    private const int DescriptorLimit = 600;

    [Fact]
    public void TheDescriptorLimit_IsReadFromProcSelfLimits()
    {
        const string Limits = """
            Limit                     Soft Limit           Hard Limit           Units
            Max processes             63704                63704                processes
            Max open files            600                  1024                 files
            Max locked memory         8388608              8388608              bytes
            """;

        Assert.Equal(600, ConnectionCeiling.ParseDescriptorLimit(Limits));
        Assert.Null(ConnectionCeiling.ParseDescriptorLimit("Max open files            unlimited            unlimited            files"));
    }

    [Fact]
    public async Task AFloodPastTheDescriptorLimit_IsRefused_AndTheServerKeepsServingItsConnectedDevices()
    {
        var (server, operatorCode) = await LimitedServerProcess.StartAsync(DescriptorLimit,
            "--Messaging:Connections:RequestHeadersTimeout", "00:00:02", "--Messaging:Connections:KeepAliveTimeout", "00:00:02");
        await using var _ = server;
        var (op, worker) = await EnrolOperatorAndWorkerAsync(server, operatorCode);

        await using var opHub = server.Hub(op.Token!);
        await using var workerHub = server.Hub(worker.Token!);
        var received = Channel.CreateUnbounded<EnvelopeDelivery>();
        workerHub.On<EnvelopeDelivery>(nameof(IMessagingClient.ReceiveEnvelope), e => received.Writer.TryWrite(e));
        await opHub.StartAsync();
        await workerHub.StartAsync();
        var conversation = await opHub.InvokeAsync<ConversationSummary>(nameof(IMessagingHub.CreateConversation), new CreateConversationRequest([worker.Member.Id], false));

        async Task ExchangeAsync()
        {
            var sent = await opHub.InvokeAsync<SendEnvelopeResult>(nameof(IMessagingHub.SendEnvelope), new SendEnvelopeRequest(Guid.NewGuid(),
                conversation.ConversationId, EnvelopeKind.Chat, [new RecipientCiphertext(worker.Id, Ciphertexts.Random(200))]));
            Assert.Equal(SendOutcome.Accepted, sent.Outcome);
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            var delivery = await received.Reader.ReadAsync(wait.Token);
            await workerHub.InvokeAsync<AcknowledgeResult>(nameof(IMessagingHub.AcknowledgeEnvelopes), new AcknowledgeRequest([delivery.Sequence]));
        }

        await ExchangeAsync();

        // 1. Idle unauthenticated sockets, more than the process has descriptors.
        var sockets = new List<Socket>();
        for (var i = 0; i < DescriptorLimit + 100; i++)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            using var connect = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, server.Url.Port), connect.Token);
                sockets.Add(socket);
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException)
            {
                socket.Dispose();
            }
        }

        Assert.False(server.HasExited, server.Logs);
        var afterSockets = server.OpenDescriptors;
        Assert.InRange(afterSockets, 1, DescriptorLimit - 1);
        var closedByServer = await Task.WhenAll(sockets.Select(ClosedByServerAsync));
        Assert.All(closedByServer, Assert.True);
        sockets.ForEach(s => s.Dispose());
        await ExchangeAsync();

        // 2. Authenticated hub connections until the server refuses them.
        var flood = new List<HubConnection>();
        var refusals = 0;
        for (var i = 0; i < DescriptorLimit && refusals < 5; i++)
        {
            var hub = server.Hub(op.Token!);
            try
            {
                await hub.StartAsync();
                flood.Add(hub);
            }
            catch (Exception ex) when (ex is not Xunit.Sdk.XunitException)
            {
                refusals++;
                await hub.DisposeAsync();
            }
        }

        Assert.Equal(5, refusals);
        Assert.InRange(flood.Count + 2, 50, DescriptorLimit / 2);
        using (var probe = server.Client())
        {
            using var upgrade = new HttpRequestMessage(HttpMethod.Get, new Uri(HubRoutes.Messaging + "?access_token=" + Uri.EscapeDataString(op.Token!), UriKind.Relative));
            upgrade.Headers.Connection.Add("Upgrade");
            upgrade.Headers.Upgrade.Add(new ProductHeaderValue("websocket"));
            upgrade.Headers.Add("Sec-WebSocket-Version", "13");
            upgrade.Headers.Add("Sec-WebSocket-Key", Convert.ToBase64String(Guid.NewGuid().ToByteArray()));
            var busy = await probe.SendAsync(upgrade);
            await Refusal.AssertHttpAsync(ErrorCodes.ServerBusy, 503, busy);
            Assert.NotNull(busy.Headers.RetryAfter);
        }

        Assert.False(server.HasExited, server.Logs);
        var atCeiling = server.OpenDescriptors;
        Assert.InRange(atCeiling, 1, DescriptorLimit - 1);
        output.WriteLine($"{sockets.Count} idle sockets connected, {afterSockets} descriptors held after them; {flood.Count + 2} hub connections at the ceiling, {atCeiling} descriptors held; limit {DescriptorLimit}");
        await ExchangeAsync();

        foreach (var hub in flood)
        {
            await hub.DisposeAsync();
        }

        await using var later = server.Hub(op.Token!);
        await later.StartAsync();
        await ExchangeAsync();
        await Task.Delay(500);
        Assert.Single(Regex.Matches(server.Logs, "Hub connection ceiling of [0-9]+ reached"));
        Assert.False(server.HasExited, server.Logs);
    }

    /// <summary>
    /// Kestrel's <c>MaxConcurrentConnections</c> counts per listening endpoint: a server on two addresses (public and
    /// management) held twice its plain-HTTP budget and crashed at the descriptor limit. Flooded with idle sockets on both
    /// addresses, the server holds no more than its one ceiling in all, closes the rest at once, stays up, and its
    /// connected device keeps calling; once the flood ends both addresses serve again.
    /// </summary>
    [Fact]
    public async Task OnTwoListeningAddresses_ThePlainHttpCeilingHoldsForBothTogether_AndTheServerKeepsServing()
    {
        const int Limit = 1024;
        const int MaxHttp = 150;
        var (server, operatorCode) = await LimitedServerProcess.StartAsync(Limit, 2,
            "--Messaging:Connections:MaxHttpConnections", MaxHttp.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--Messaging:Connections:RequestHeadersTimeout", "00:01:00");
        await using var _ = server;
        var op = await server.EnrolAsync(operatorCode, new TestMember(Guid.Empty, Guid.Empty, Roles.PlatformOperator));
        await using var hub = server.Hub(op.Token!);
        await hub.StartAsync();
        await hub.InvokeAsync<WhoAmIResult>(nameof(IMessagingHub.WhoAmI));
        await Task.Delay(500); // the enrolment's HTTP connections, closed by the client, leave the count

        var sockets = new List<Socket>();
        for (var i = 0; i < 2 * MaxHttp + 100; i++)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, server.Urls[i % 2].Port));
            sockets.Add(socket);
        }

        var closed = await Task.WhenAll(sockets.Select(s => ClosedByServerAsync(s, TimeSpan.FromSeconds(3))));
        var held = closed.Count(c => !c);
        var descriptors = server.OpenDescriptors;
        output.WriteLine($"{sockets.Count} idle sockets on two addresses: {held} held, {closed.Count(c => c)} closed at once; ceiling {MaxHttp}; {descriptors} descriptors");
        Assert.False(server.HasExited, server.Logs);
        Assert.InRange(held, MaxHttp - 10, MaxHttp);
        Assert.Equal(op.Id, (await hub.InvokeAsync<WhoAmIResult>(nameof(IMessagingHub.WhoAmI))).DeviceId);

        sockets.ForEach(s => s.Dispose());
        await Task.Delay(500);
        foreach (var url in server.Urls)
        {
            using var http = new HttpClient { BaseAddress = url };
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("health/ready", UriKind.Relative))).StatusCode);
        }

        await using var later = server.Hub(op.Token!);
        await later.StartAsync();
        await later.InvokeAsync<WhoAmIResult>(nameof(IMessagingHub.WhoAmI));
        Assert.Single(Regex.Matches(server.Logs, "HTTP connection ceiling of [0-9]+ reached"));
        Assert.False(server.HasExited, server.Logs);
    }

    /// <summary>
    /// WebSockets over HTTP/2 (RFC 8441), as a browser or an HTTP/2 proxy brings them, share one TCP connection, so the
    /// plain-HTTP ceiling (which counts TCP connections) cannot bound them. The hub ceiling counts every hub connection,
    /// whatever carries it: with a ceiling of two, a device over HTTP/2 and one over HTTP/1.1 exchange envelopes; a third
    /// connection is refused with 503 <c>server.busy</c> before authentication, over HTTP/2 (a raw extended CONNECT as well
    /// as the SignalR client) and over HTTP/1.1; one closing makes room again.
    /// </summary>
    [Fact]
    public async Task OverHttp2_EveryHubConnectionCountsAgainstTheHubCeiling_AndCarriesEnvelopes()
    {
        var (server, operatorCode) = await LimitedServerProcess.StartWithHttp2Async(1024, "--Messaging:Connections:MaxHubConnections", "2");
        await using var _ = server;
        var (op, worker) = await EnrolOperatorAndWorkerAsync(server, operatorCode);
        using var http2 = new HttpMessageInvoker(new SocketsHttpHandler());
        await using var opHub = server.Http2Hub(op.Token!, http2);
        await using var workerHub = server.Hub(worker.Token!);
        var toWorker = Channel.CreateUnbounded<EnvelopeDelivery>();
        var toOperator = Channel.CreateUnbounded<EnvelopeDelivery>();
        workerHub.On<EnvelopeDelivery>(nameof(IMessagingClient.ReceiveEnvelope), e => toWorker.Writer.TryWrite(e));
        opHub.On<EnvelopeDelivery>(nameof(IMessagingClient.ReceiveEnvelope), e => toOperator.Writer.TryWrite(e));
        await opHub.StartAsync();
        await workerHub.StartAsync();
        Assert.Equal(op.Id, (await opHub.InvokeAsync<WhoAmIResult>(nameof(IMessagingHub.WhoAmI))).DeviceId);
        var conversation = await opHub.InvokeAsync<ConversationSummary>(nameof(IMessagingHub.CreateConversation), new CreateConversationRequest([worker.Member.Id], false));

        async Task SendAsync(HubConnection from, TestDevice to, Channel<EnvelopeDelivery> inbox, HubConnection receiver)
        {
            var body = Ciphertexts.Random(1024);
            var sent = await from.InvokeAsync<SendEnvelopeResult>(nameof(IMessagingHub.SendEnvelope), new SendEnvelopeRequest(Guid.NewGuid(),
                conversation.ConversationId, EnvelopeKind.Chat, [new RecipientCiphertext(to.Id, body)]));
            Assert.Equal(SendOutcome.Accepted, sent.Outcome);
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            var delivery = await inbox.Reader.ReadAsync(wait.Token);
            Assert.Equal(body, delivery.Ciphertext);
            await receiver.InvokeAsync<AcknowledgeResult>(nameof(IMessagingHub.AcknowledgeEnvelopes), new AcknowledgeRequest([delivery.Sequence]));
        }

        await SendAsync(opHub, worker, toWorker, workerHub);
        await SendAsync(workerHub, op, toOperator, opHub);

        // At the ceiling: a raw extended CONNECT, then the SignalR client over HTTP/2, then over HTTP/1.1.
        using (var probe = new HttpClient(new SocketsHttpHandler()))
        {
            using var connect = new HttpRequestMessage(HttpMethod.Connect, new Uri(server.Http2Url!, HubRoutes.Messaging))
            {
                Version = HttpVersion.Version20,
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            };
            connect.Headers.Protocol = "websocket";
            connect.Headers.Add("Sec-WebSocket-Version", "13");
            connect.Headers.Authorization = new AuthenticationHeaderValue("Bearer", op.Token);
            var busy = await probe.SendAsync(connect);
            Assert.Equal(HttpVersion.Version20, busy.Version);
            await Refusal.AssertHttpAsync(ErrorCodes.ServerBusy, 503, busy);
            Assert.NotNull(busy.Headers.RetryAfter);
        }

        await using (var third = server.Http2Hub(worker.Token!, http2))
        {
            Assert.Contains("503", (await Assert.ThrowsAnyAsync<Exception>(() => third.StartAsync())).Message, StringComparison.Ordinal);
        }

        await using (var fourth = server.Hub(worker.Token!))
        {
            Assert.Contains("503", (await Assert.ThrowsAnyAsync<Exception>(() => fourth.StartAsync())).Message, StringComparison.Ordinal);
        }

        await SendAsync(opHub, worker, toWorker, workerHub);

        // One closes: room for one more, over HTTP/2 again (the server ends the closed connection's request shortly after).
        await workerHub.StopAsync();
        await using var again = server.Http2Hub(worker.Token!, http2);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await again.StartAsync();
                break;
            }
            catch (Exception ex) when (ex.Message.Contains("503", StringComparison.Ordinal) && clock.Elapsed < TimeSpan.FromSeconds(10))
            {
                await Task.Delay(100);
            }
        }

        Assert.Equal(worker.Id, (await again.InvokeAsync<WhoAmIResult>(nameof(IMessagingHub.WhoAmI))).DeviceId);
        Assert.False(server.HasExited, server.Logs);
    }

    /// <summary>The platform operator, enrolled with its code, and an organisation admin of a new service, enrolled with a
    /// code the operator issues.</summary>
    private static async Task<(TestDevice Operator, TestDevice Worker)> EnrolOperatorAndWorkerAsync(LimitedServerProcess server, string operatorCode)
    {
        var op = await server.EnrolAsync(operatorCode, new TestMember(Guid.Empty, Guid.Empty, Roles.PlatformOperator));
        using var admin = server.Client(op.Token);
        var organisation = (await (await admin.PostAsJsonAsync(ApiRoutes.Organisations, new CreateOrganisationRequest("Service", OrganisationTypes.PreventionService)))
            .EnsureSuccessStatusCode().Content.ReadFromJsonAsync<OrganisationEntry>())!;
        var member = (await (await admin.PostAsJsonAsync(ApiRoutes.Members, new CreateMemberRequest(organisation.OrganisationId, "Admin", Roles.OrganisationAdmin, "admin@service.example")))
            .EnsureSuccessStatusCode().Content.ReadFromJsonAsync<MemberCreated>())!;
        var code = (await (await admin.PostAsync(new Uri(ApiRoutes.EnrolmentCodesFor(member.MemberId), UriKind.Relative), null))
            .EnsureSuccessStatusCode().Content.ReadFromJsonAsync<EnrolmentCodeIssued>())!;
        var worker = await server.EnrolAsync(code.Code, new TestMember(member.MemberId, organisation.OrganisationId, Roles.OrganisationAdmin));
        return (op, worker);
    }

    /// <summary>True when the server closes (or resets) the socket within 20 s without a byte sent.</summary>
    private static Task<bool> ClosedByServerAsync(Socket socket) => ClosedByServerAsync(socket, TimeSpan.FromSeconds(20));

    private static async Task<bool> ClosedByServerAsync(Socket socket, TimeSpan within)
    {
        using var timeout = new CancellationTokenSource(within);
        var buffer = new byte[1];
        try
        {
            return await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token) == 0;
        }
        catch (SocketException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
