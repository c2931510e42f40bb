using System.Text;
using Messaging.Client.Tests.Infrastructure;
using Messaging.Contracts;
using Microsoft.Data.Sqlite;

namespace Messaging.Client.Tests;

/// <summary>Two workers of two organisations, two devices each, against the real server run as a separate process.</summary>
public sealed class EndToEndTests
{
    private sealed record World(Platform Platform, MessagingClient A1, MessagingClient A2, MessagingClient B1, MessagingClient B2, Guid ConversationId) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Platform.DisposeAsync();
    }

    private static async Task<World> TwoWorkersTwoDevicesEachAsync(bool connectB2 = true)
    {
        var platform = await Platform.StartAsync();
        var (_, adminX) = await platform.CreateOrganisationAsync("Service de prévention de Molenbeek");
        var (_, adminY) = await platform.CreateOrganisationAsync("CAPREV");
        var workerA = await platform.CreateMemberAsync(adminX, "Aline");
        var workerB = await platform.CreateMemberAsync(adminY, "Bruno");
        var a1 = await platform.EnrolDeviceAsync(adminX, workerA);
        var a2 = await platform.EnrolDeviceAsync(adminX, workerA);
        var b1 = await platform.EnrolDeviceAsync(adminY, workerB);
        var b2 = await platform.EnrolDeviceAsync(adminY, workerB, connectB2);
        var conversation = await a1.CreateConversationAsync([workerB]);
        return new World(platform, a1, a2, b1, b2, conversation.ConversationId);
    }

    [Fact]
    public async Task Messages_FlowBothWays_ToEveryDevice_IncludingTheSendersOtherDevice()
    {
        await using var world = await TwoWorkersTwoDevicesEachAsync();

        var receipt = await world.A1.SendTextAsync(world.ConversationId, "Bonjour Bruno");
        Assert.Equal(3, receipt.Recipients);
        foreach (var device in new[] { world.B1, world.B2, world.A2 })
        {
            var message = await device.NextAsync();
            Assert.Equal("Bonjour Bruno", message.Text);
            Assert.Equal(world.A1.MemberId, message.SenderMemberId);
            Assert.Equal(receipt.EnvelopeId, message.EnvelopeId);
        }

        await world.B2.SendTextAsync(world.ConversationId, "Bonjour Aline");
        foreach (var device in new[] { world.A1, world.A2, world.B1 })
        {
            Assert.Equal("Bonjour Aline", (await device.NextAsync()).Text);
        }

        // And a longer exchange, alternating senders (every reply is a ratchet step).
        for (var i = 0; i < 5; i++)
        {
            await world.A2.SendTextAsync(world.ConversationId, $"a{i}");
            Assert.Equal($"a{i}", (await world.B1.NextAsync()).Text);
            await world.B1.SendTextAsync(world.ConversationId, $"b{i}");
            Assert.Equal($"b{i}", (await world.A2.NextAsync()).Text);
        }
    }

    [Fact]
    public async Task BothSidesStartingSessionsAtOnce_LoseNoMessage()
    {
        await using var world = await TwoWorkersTwoDevicesEachAsync();
        // Neither side has a session yet: both initiate one towards every device of the other at the same moment.
        var sends = await Task.WhenAll(
            Task.WhenAll(Enumerable.Range(0, 3).Select(async i => (await world.A1.SendTextAsync(world.ConversationId, $"A{i}")).EnvelopeId)),
            Task.WhenAll(Enumerable.Range(0, 3).Select(async i => (await world.B1.SendTextAsync(world.ConversationId, $"B{i}")).EnvelopeId)));
        var all = sends.SelectMany(ids => ids).ToHashSet();

        foreach (var device in new[] { world.A1, world.A2, world.B1, world.B2 })
        {
            var ownSends = device == world.A1 ? sends[0] : device == world.B1 ? sends[1] : [];
            var expected = all.Except(ownSends).ToHashSet();
            var inbox = await device.InboxWhenAsync(i => expected.IsSubsetOf(i.Select(m => m.EnvelopeId)));
            Assert.Equal(expected.Count, inbox.Count);
        }

        // Afterwards the sessions keep working in both directions.
        await world.A1.SendTextAsync(world.ConversationId, "after");
        await world.B1.InboxWhenAsync(i => i.Any(m => m.Text == "after"));
    }

    [Fact]
    public async Task ConcurrentFirstSends_StartOneSessionPerDevice_ConsumingOnePreKeyEach()
    {
        await using var world = await TwoWorkersTwoDevicesEachAsync();
        var before = await CountAsync(world.Platform.Server.DatabasePath, "one_time_prekeys");

        // Eight sends at once, none with a session yet: one session (one bundle, one one-time prekey) per device.
        var receipts = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => world.A1.SendTextAsync(world.ConversationId, $"m{i}")));

        Assert.Equal(before - 3, await CountAsync(world.Platform.Server.DatabasePath, "one_time_prekeys"));
        var expected = receipts.Select(r => r.EnvelopeId).ToHashSet();
        var inbox = await world.B2.InboxWhenAsync(i => expected.IsSubsetOf(i.Select(m => m.EnvelopeId)));
        Assert.Equal(8, inbox.Count);
    }

    [Fact]
    public async Task OfflineDevice_ReceivesEverything_OnReconnect_InOrder()
    {
        await using var world = await TwoWorkersTwoDevicesEachAsync(connectB2: false);
        var sent = new List<Guid>();
        for (var i = 0; i < 6; i++)
        {
            sent.Add((await world.A1.SendTextAsync(world.ConversationId, $"message {i}")).EnvelopeId);
        }

        await world.B2.ConnectAsync();
        var inbox = await world.B2.GetInboxAsync();
        Assert.Equal(sent, inbox.Select(m => m.EnvelopeId));
        Assert.Equal(Enumerable.Range(0, 6).Select(i => $"message {i}"), inbox.Select(m => m.Text));

        // Every device acknowledged what it processed (B2 its whole backlog at once): the server keeps no copy.
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        while (await CountAsync(world.Platform.Server.DatabasePath, "envelope_recipients") > 0)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(15), "acknowledged copies are still stored");
            await Task.Delay(100);
        }

        Assert.Equal(0, await CountAsync(world.Platform.Server.DatabasePath, "envelopes"));
    }

    [Fact]
    public async Task AReceivedMessage_IsAcknowledgedByTheNextSend_OrOnItsOwnAfterTheDelay()
    {
        await using var platform = await Platform.StartAsync();
        var (_, adminX) = await platform.CreateOrganisationAsync("Service de prévention de Molenbeek");
        var (_, adminY) = await platform.CreateOrganisationAsync("CAPREV");
        var workerA = await platform.CreateMemberAsync(adminX, "Aline");
        var workerB = await platform.CreateMemberAsync(adminY, "Bruno");
        var a1 = await platform.EnrolDeviceAsync(adminX, workerA);
        // B1 would wait ten minutes before acknowledging on its own: only a send can acknowledge sooner.
        var b1 = await platform.EnrolDeviceAsync(adminY, workerB, options: Platform.ClientOptions with { AcknowledgementDelay = TimeSpan.FromMinutes(10) });
        var conversation = await a1.CreateConversationAsync([workerB]);
        string CopiesOf(MessagingClient device) => $"recipient_device_id = '{device.DeviceId:D}'";

        await a1.SendTextAsync(conversation.ConversationId, "un");
        Assert.Equal("un", (await b1.NextAsync()).Text);
        await Task.Delay(300);
        Assert.Equal(1, await CountAsync(platform.Server.DatabasePath, "envelope_recipients", CopiesOf(b1)));

        // B1's reply carries the acknowledgement: committed with the reply, before the send returns.
        await b1.SendTextAsync(conversation.ConversationId, "deux");
        Assert.Equal(0, await CountAsync(platform.Server.DatabasePath, "envelope_recipients", CopiesOf(b1)));

        // A1 sends nothing more: its acknowledgement goes on its own after the default delay.
        Assert.Equal("deux", (await a1.NextAsync()).Text);
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        while (await CountAsync(platform.Server.DatabasePath, "envelope_recipients", CopiesOf(a1)) > 0)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(15), "A1's copy was never acknowledged");
            await Task.Delay(100);
        }

        Assert.Equal(0, await CountAsync(platform.Server.DatabasePath, "envelopes"));
    }

    [Fact]
    public async Task TheServersDatabase_HoldsNoPlaintext()
    {
        await using var world = await TwoWorkersTwoDevicesEachAsync(connectB2: false);
        var marker = $"secret-marker-{Guid.NewGuid():N}";
        await world.A1.SendTextAsync(world.ConversationId, marker);
        Assert.Equal(marker, (await world.B1.NextAsync()).Text);

        // B2 is offline: its copy is still stored, as ciphertext.
        Assert.True(await CountAsync(world.Platform.Server.DatabasePath, "envelope_recipients") > 0);
        foreach (var file in Directory.GetFiles(world.Platform.Server.DataDirectory))
        {
            var bytes = await File.ReadAllBytesAsync(file);
            Assert.Equal(-1, bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(marker)));
            Assert.Equal(-1, bytes.AsSpan().IndexOf(Encoding.Unicode.GetBytes(marker)));
        }
    }

    [Fact]
    public async Task DuplicateDeliveries_AreDroppedByTheClient()
    {
        await using var world = await TwoWorkersTwoDevicesEachAsync();
        var receipt = await world.A1.SendTextAsync(world.ConversationId, "once");
        await world.B1.NextAsync();
        // The same envelope id sent again is stored once by the server and shown once by the client.
        await world.A1.SendAsync(world.ConversationId, EnvelopeKind.Chat, Encoding.UTF8.GetBytes("once"), envelopeId: receipt.EnvelopeId);
        await world.A1.SendTextAsync(world.ConversationId, "next");
        Assert.Equal("next", (await world.B1.NextAsync()).Text);
        Assert.Single(await world.B1.GetInboxAsync(), m => m.EnvelopeId == receipt.EnvelopeId);
    }

    [Fact]
    public async Task AKeySwappedByTheServer_IsRefused_AndARewrittenKeyLog_IsDetected()
    {
        await using var world = await TwoWorkersTwoDevicesEachAsync();
        var (_, adminZ) = await world.Platform.CreateOrganisationAsync("Maison de justice");
        var workerC = await world.Platform.CreateMemberAsync(adminZ, "Chloé");
        var c1 = await world.Platform.EnrolDeviceAsync(adminZ, workerC);
        var conversation = await world.A1.CreateConversationAsync([workerC]);

        // The server (its database) swaps C1's identity key for one the attacker controls.
        using var attacker = Messaging.Crypto.Keys.IdentityKeyPair.Generate();
        await OperatorAccess.ExecuteAsync(world.Platform.Server.DatabasePath, "UPDATE devices SET identity_key = $key WHERE id = $id", ("$key", attacker.PublicKey.ToBytes()), ("$id", c1.DeviceId.ToString("D")));
        var refused = await Assert.ThrowsAsync<MessagingClientException>(() => world.A1.SendTextAsync(conversation.ConversationId, "for C"));
        Assert.Contains("key log", refused.Message, StringComparison.Ordinal);

        // Rewriting the key log to match breaks its hash chain: a device verifying it (A2 has not yet) detects it.
        await OperatorAccess.ExecuteAsync(world.Platform.Server.DatabasePath, "UPDATE key_log SET identity_key = $key WHERE device_id = $id", ("$key", attacker.PublicKey.ToBytes()), ("$id", c1.DeviceId.ToString("D")));
        await Assert.ThrowsAsync<KeyLogTamperedException>(() => world.A2.SyncKeyLogAsync());
    }

    internal static async Task<long> CountAsync(string database, string table, string where = "1 = 1")
    {
        await using var connection = new SqliteConnection($"Data Source={database};Mode=ReadOnly");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT COUNT(*) FROM {table} WHERE {where}";
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
