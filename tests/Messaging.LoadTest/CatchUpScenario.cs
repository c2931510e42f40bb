using System.Diagnostics;
using System.Globalization;
using Messaging.Client;
using Messaging.Contracts;
using Messaging.Crypto.KeyStore;

namespace Messaging.LoadTest;

/// <summary>
/// Catch-up of a fresh device, and the cost of one more message into a device that already holds many, with the SDK
/// against the real server process. The sending device runs in a child process of this tool (<c>catchup-sender</c>),
/// so the CPU time read from /proc for this process is the receiving client's alone.
/// </summary>
internal static class CatchUpScenario
{
    private const string Passphrase = "load passphrase";
    private static readonly MessagingClientOptions Options = new() { KeyStore = KeyStoreOptions.Interactive };

    public static async Task<string> RunAsync(string tool, string serverDirectory, IReadOnlyList<int> sizes, int held, int live)
    {
        await using var server = await RealServer.StartAsync(serverDirectory);
        var root = Directory.CreateTempSubdirectory("messaging-catchup-");
        try
        {
            string Store(string name) => Path.Combine(root.FullName, name + ".mks");
            await using var op = await EnrolAsync(server.Url, server.OperatorCode, Store("operator"));
            var token = await op.GetAccessTokenAsync();
            var organisation = await op.Api.CreateOrganisationAsync(token, new CreateOrganisationRequest("Service", OrganisationTypes.PreventionService));
            var adminMember = await op.Api.CreateMemberAsync(token, new CreateMemberRequest(organisation.OrganisationId, "Admin", Roles.OrganisationAdmin, "admin@load.example"));
            await using var admin = await EnrolAsync(server.Url, (await op.Api.IssueEnrolmentCodeAsync(token, adminMember.MemberId)).Code, Store("admin"));
            var adminToken = await admin.GetAccessTokenAsync();

            async Task<(Guid MemberId, string Store)> DeviceAsync(string name)
            {
                var member = await admin.Api.CreateMemberAsync(adminToken, new CreateMemberRequest(organisation.OrganisationId, name, Roles.Worker, $"{name}@load.example"));
                await using var client = await EnrolAsync(server.Url, (await admin.Api.IssueEnrolmentCodeAsync(adminToken, member.MemberId)).Code, Store(name));
                return (member.MemberId, Store(name));
            }

            var sender = await DeviceAsync("sender");
            var receivers = new List<(int Count, Guid MemberId, string Store, Guid Conversation)>();
            await using (var client = await OpenAsync(sender.Store))
            {
                await client.ConnectAsync();
                foreach (var (count, name) in sizes.Select(n => (n, $"fresh{n}")).Append((-held, "held")))
                {
                    var receiver = await DeviceAsync(name);
                    var conversation = await client.CreateConversationAsync([receiver.MemberId]);
                    receivers.Add((count, receiver.MemberId, receiver.Store, conversation.ConversationId));
                }
            }

            var rows = new List<string>
            {
                "| queued envelopes (1 KiB) | catch-up (wall) | per envelope | client CPU | client CPU per envelope | server CPU |",
                "|---:|---:|---:|---:|---:|---:|",
            };
            foreach (var (count, _, store, conversation) in receivers.Where(r => r.Count > 0))
            {
                Console.Error.WriteLine($"queueing {count} envelopes…");
                await RunSenderAsync(tool, sender.Store, conversation, count, paceMs: 0);
                await using var receiver = await OpenAsync(store);
                var cpu = Cpu.Seconds(Environment.ProcessId);
                var serverCpu = Cpu.Seconds(server.Process.Pid);
                var wall = Stopwatch.StartNew();
                await receiver.ConnectAsync();
                wall.Stop();
                var cpuUsed = Cpu.Seconds(Environment.ProcessId) - cpu;
                var serverUsed = Cpu.Seconds(server.Process.Pid) - serverCpu;
                var received = (await receiver.GetInboxAsync()).Count;
                if (received != count)
                {
                    throw new InvalidOperationException($"expected {count} messages, the device holds {received}");
                }

                rows.Add(string.Create(CultureInfo.InvariantCulture,
                    $"| {count:N0} | {wall.Elapsed.TotalSeconds:F2} s | {wall.Elapsed.TotalMilliseconds / count:F3} ms | {cpuUsed:F2} s | {cpuUsed * 1000 / count:F3} ms | {serverUsed:F2} s |"));
                Console.Error.WriteLine(rows[^1]);
            }

            var (_, _, heldStore, heldConversation) = receivers.Single(r => r.Count < 0);
            await using (var receiver = await OpenAsync(heldStore))
            {
                FillDirectly(receiver, heldConversation, held);
                await receiver.ConnectAsync();
                Console.Error.WriteLine($"{live} live messages into a device holding {held:N0}…");
                // Measured after a warm-up of 100 messages: starting the child process costs this process CPU (fork),
                // and the first live messages pay for compiling the live path; neither is the steady per-message cost.
                const int warmUp = 100;
                var sending = RunSenderAsync(tool, sender.Store, heldConversation, warmUp + live, paceMs: 20);
                using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
                for (var i = 0; i < warmUp; i++)
                {
                    await receiver.Messages.ReadAsync(timeout.Token);
                }

                var cpu = Cpu.Seconds(Environment.ProcessId);
                for (var i = 0; i < live; i++)
                {
                    await receiver.Messages.ReadAsync(timeout.Token);
                }

                var cpuUsed = Cpu.Seconds(Environment.ProcessId) - cpu;
                await sending;
                var stored = (await receiver.GetInboxAsync()).Count;
                rows.Add(string.Create(CultureInfo.InvariantCulture,
                    $"\none message into a device holding {held:N0}: {cpuUsed * 1000 / live:F2} ms of client CPU (mean over {live} live messages paced 20 ms apart, each its own commit, acknowledgements included; the device then holds {stored:N0})"));
            }

            return string.Join('\n', rows);
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    /// <summary>The child: opens the sending device and sends <paramref name="count"/> 1 KiB envelopes — all at once
    /// (8 in flight) when <paramref name="paceMs"/> is 0, otherwise one every <paramref name="paceMs"/> ms.</summary>
    public static async Task<int> SendAsync(string store, Guid conversation, int count, int paceMs)
    {
        await using var client = await OpenAsync(store);
        await client.ConnectAsync();
        var body = new byte[1024];
        if (paceMs > 0)
        {
            for (var i = 0; i < count; i++)
            {
                await client.SendAsync(conversation, EnvelopeKind.Chat, body);
                await Task.Delay(paceMs);
            }

            return 0;
        }

        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            while (Interlocked.Increment(ref next) < count)
            {
                await client.SendAsync(conversation, EnvelopeKind.Chat, body);
            }
        })));
        return 0;
    }

    private static async Task RunSenderAsync(string tool, string store, Guid conversation, int count, int paceMs)
        => await ChildProcess.RunAsync(Path.GetDirectoryName(tool)!, tool, "catchup-sender", "--store", store, "--conversation", conversation.ToString(),
            "--count", count.ToString(CultureInfo.InvariantCulture), "--pace-ms", paceMs.ToString(CultureInfo.InvariantCulture));

    /// <summary>Writes <paramref name="count"/> stored 1 KiB messages straight into the device's database (what
    /// receiving them would have left), so the cost of the next one can be measured without hours of setup.</summary>
    private static void FillDirectly(MessagingClient client, Guid conversation, int count)
    {
        client.Store.LockAsync(CancellationToken.None).GetAwaiter().GetResult();
        try
        {
            using var batch = client.Store.Database.Begin();
            var body = new byte[1024];
            var at = DateTimeOffset.UnixEpoch;
            for (var i = 1; i <= count; i++)
            {
                batch.AddMessage(new InboxMessage(-i, Guid.NewGuid(), conversation, Guid.NewGuid(), Guid.NewGuid(), EnvelopeKind.Chat, body, at), at);
            }

            batch.Commit();
        }
        finally
        {
            client.Store.Release();
        }
    }

    private static async Task<MessagingClient> EnrolAsync(Uri server, string code, string store)
    {
        using var passphrase = new Passphrase(Passphrase);
        return await MessagingClient.EnrolAsync(server, code, store, passphrase, Options);
    }

    private static async Task<MessagingClient> OpenAsync(string store)
    {
        using var passphrase = new Passphrase(Passphrase);
        return await MessagingClient.OpenAsync(store, passphrase, Options);
    }
}
