using Messaging.Client.Tests.Infrastructure;
using Messaging.Crypto.KeyStore;

namespace Messaging.Client.Tests;

/// <summary>A key store has one owner at a time: a second opener, through the SDK or the CLI, is refused and changes
/// nothing.</summary>
public sealed class OneOwnerTests(SharedPlatform shared) : IClassFixture<SharedPlatform>
{
    [Fact]
    public async Task OpeningAStoreTwice_IsRefused_UntilTheFirstClientIsDisposed()
    {
        var platform = shared.Platform;
        var (_, admin) = await platform.CreateOrganisationAsync("Ville de Wavre");
        var store = await platform.ReleaseAsync(await platform.EnrolDeviceAsync(admin, await platform.CreateMemberAsync(admin, "Zoé"), connect: false));
        using var passphrase = new Passphrase(Platform.Passphrase);

        var first = await MessagingClient.OpenAsync(store, passphrase, Platform.ClientOptions);
        var refused = await Assert.ThrowsAsync<KeyStoreLockedException>(() => MessagingClient.OpenAsync(store, passphrase, Platform.ClientOptions));
        Assert.Equal(Environment.ProcessId, refused.HolderProcessId);

        await first.DisposeAsync();
        await using var second = await MessagingClient.OpenAsync(store, passphrase, Platform.ClientOptions);
        Assert.Equal(first.DeviceId, second.DeviceId);
    }

    [Fact]
    public async Task ACliCommand_OnAStoreAnotherClientHolds_ExitsWithAnErrorNamingTheHolder_AndChangesNothing()
    {
        var platform = shared.Platform;
        var (_, admin) = await platform.CreateOrganisationAsync("Ville de Wavre");
        var holderMember = await platform.CreateMemberAsync(admin, "Zoé");
        var conversation = await admin.CreateConversationAsync([holderMember]);
        // Not connected: nothing of its own changes the store while the CLI tries it.
        var holder = await platform.EnrolDeviceAsync(admin, holderMember, connect: false);
        var store = platform.StorePathOf(holder);
        var before = Snapshot(store);

        var send = await CliRunner.RunAsync(store, "send", "--conversation", conversation.ConversationId.ToString(), "--text", "par la ligne de commande");
        var inbox = await CliRunner.RunAsync(store, "inbox");

        Assert.Equal((1, ""), (send.ExitCode, send.Output));
        Assert.Equal($"error: this device's key store is in use by process {Environment.ProcessId} (a device is used by one process at a time: stop that process, e.g. 'messaging listen', then retry)\n",
            send.Error.ReplaceLineEndings("\n"));
        Assert.Equal(1, inbox.ExitCode);
        Assert.Contains($"in use by process {Environment.ProcessId}", inbox.Error, StringComparison.Ordinal);
        Assert.Equal(before, Snapshot(store));
        Assert.Empty(await holder.GetInboxAsync());

        // Once the holder lets go, the same command works.
        await platform.ReleaseAsync(holder);
        var again = await CliRunner.RunAsync(store, "send", "--conversation", conversation.ConversationId.ToString(), "--text", "par la ligne de commande");
        Assert.True(again.ExitCode == 0, again.Error);
    }

    [Fact]
    public async Task AKeyStoreFileReplacedUnderItsOwner_IsNeverWrittenOver_AndTheClientSaysSo()
    {
        var platform = shared.Platform;
        var (_, admin) = await platform.CreateOrganisationAsync("Ville de Wavre");
        var bobMember = await platform.CreateMemberAsync(admin, "Bob");
        var bob = await platform.EnrolDeviceAsync(admin, bobMember);
        var alice = await platform.EnrolDeviceAsync(admin, await platform.CreateMemberAsync(admin, "Alice"));
        var conversation = await alice.CreateConversationAsync([bobMember]);
        var other = await platform.ReleaseAsync(await platform.EnrolDeviceAsync(admin, await platform.CreateMemberAsync(admin, "Chloé"), connect: false));
        var store = platform.StorePathOf(bob);
        File.Copy(other, store, overwrite: true);
        var replaced = await File.ReadAllBytesAsync(store);

        // Alice's first message uses one of Bob's one-time prekeys: erasing it is a save of Bob's keys.
        await alice.SendTextAsync(conversation.ConversationId, "bonjour");

        var stopped = await Assert.ThrowsAsync<System.Threading.Channels.ChannelClosedException>(async () => await bob.NextAsync());
        Assert.IsType<KeyStoreConflictException>(stopped.InnerException);
        await Assert.ThrowsAsync<KeyStoreConflictException>(() => bob.SynchronizeAsync());
        await Assert.ThrowsAsync<KeyStoreConflictException>(() => platform.ReleaseAsync(bob));
        Assert.Equal(replaced, await File.ReadAllBytesAsync(store));
    }

    /// <summary>The key store's bytes and the database's rows, to compare.</summary>
    private static (string KeyStore, string Database) Snapshot(string store)
    {
        var database = new System.Text.StringBuilder();
        using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={store}.db;Mode=ReadOnly;Pooling=False"))
        {
            connection.Open();
            foreach (var table in new[] { "sessions", "pinned", "keylog", "meta", "prekey_seen", "messages" })
            {
                using var command = connection.CreateCommand();
                command.CommandText = $"SELECT * FROM {table} ORDER BY lookup";
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    for (var i = 0; i < reader.FieldCount; i++)
                    {
                        database.Append(reader.GetValue(i) is byte[] bytes ? Convert.ToHexString(bytes) : reader.GetValue(i).ToString()).Append('|');
                    }

                    database.Append('\n');
                }
            }
        }

        return (Convert.ToHexString(File.ReadAllBytes(store)), database.ToString());
    }
}
