using System.Security.Cryptography;
using Messaging.Client.Storage;
using Messaging.Client.Tests.Infrastructure;
using Messaging.Contracts;
using Messaging.Crypto.KeyStore;
using Microsoft.Data.Sqlite;

namespace Messaging.Client.Tests;

/// <summary>Message history lives in the sealed local database, not in the key store; old stores are migrated.</summary>
public sealed class LocalStoreTests
{
    [Fact]
    public async Task ADeviceHolding100000Messages_StillReceivesAndSavesTheNextOne()
    {
        await using var platform = await Platform.StartAsync();
        var (_, admin) = await platform.CreateOrganisationAsync("Ville de Liège");
        var alice = await platform.EnrolDeviceAsync(admin, await platform.CreateMemberAsync(admin, "Alice"));
        var bobMember = await platform.CreateMemberAsync(admin, "Bob");
        var bob = await platform.EnrolDeviceAsync(admin, bobMember);
        var conversation = await alice.CreateConversationAsync([bobMember]);

        // 100,000 received messages of 1 KiB, written straight into Bob's database (the old store refused every save
        // from about 97,000 on: the whole inbox lived in the key store's single payload).
        await bob.Store.LockAsync(CancellationToken.None);
        try
        {
            using var batch = bob.Store.Database.Begin();
            var body = new byte[1024];
            for (var i = 1; i <= 100_000; i++)
            {
                batch.AddMessage(new InboxMessage(i, Guid.NewGuid(), conversation.ConversationId, alice.MemberId, alice.DeviceId, EnvelopeKind.Chat, body, DateTimeOffset.UnixEpoch), DateTimeOffset.UnixEpoch);
            }

            batch.Commit();
        }
        finally
        {
            bob.Store.Release();
        }

        var sent = await alice.SendTextAsync(conversation.ConversationId, "le 100 001e");
        Assert.Equal("le 100 001e", (await bob.NextAsync()).Text);

        var storePath = platform.StorePathOf(bob);
        await bob.DisposeAsync();
        var reopened = await platform.OpenAsync(storePath);
        Assert.Equal(100_001, reopened.Store.Database.CountMessages());
        var last = (await reopened.GetInboxAsync()).Single(m => m.EnvelopeId == sent.EnvelopeId);
        Assert.Equal("le 100 001e", last.Text);
    }

    [Fact]
    public async Task AnOldStore_WithItsInboxInside_IsMigratedOnOpen_IntoSealedRows()
    {
        var directory = Directory.CreateTempSubdirectory("messaging-migration-");
        try
        {
            var path = Path.Combine(directory.FullName, "device.mks");
            var remote = Guid.NewGuid();
            var conversation = Guid.NewGuid();
            var legacy = new LegacyDeviceState
            {
                Server = new Uri("http://127.0.0.1:9/"),
                IdentitySeed = RandomNumberGenerator.GetBytes(32),
                IdentityAgreementSecret = RandomNumberGenerator.GetBytes(32),
                DeviceId = Guid.NewGuid(),
                MemberId = Guid.NewGuid(),
            };
            legacy.SignedPreKeys.Add(new StoredSignedPreKey(1, RandomNumberGenerator.GetBytes(32)));
            legacy.Sessions[remote] = [new StoredSession(Guid.NewGuid(), [9, 9, 9])];
            legacy.PinnedIdentities[remote] = [1, 2, 3];
            legacy.Inbox.Add(new InboxMessage(4, Guid.NewGuid(), conversation, Guid.NewGuid(), remote, EnvelopeKind.Chat, "salut migration"u8.ToArray(), DateTimeOffset.UnixEpoch));
            using (var passphrase = new Passphrase(Platform.Passphrase))
            {
                await new EncryptedKeyStore(path, KeyStoreOptions.Interactive).SaveAsync(legacy.Serialize(), passphrase);
            }

            await using (var client = await OpenAsync(path))
            {
                Assert.Equal(legacy.DeviceId, client.DeviceId);
                Assert.Equal("salut migration", Assert.Single(await client.GetInboxAsync()).Text);
            }

            // The key store now holds format 2 (no inbox), and reopening finds everything again.
            using (var passphrase = new Passphrase(Platform.Passphrase))
            using (var payload = await new EncryptedKeyStore(path, KeyStoreOptions.Interactive).LoadAsync(passphrase))
            {
                Assert.Equal(DeviceKeys.CurrentVersion, DeviceKeys.ReadVersion(payload.Span));
            }

            await using (var client = await OpenAsync(path))
            {
                Assert.Equal("salut migration", Assert.Single(await client.GetInboxAsync()).Text);
                Assert.Equal([9, 9, 9], await client.Store.UnderLockAsync(() => client.Store.SessionsOf(remote).Single().State, CancellationToken.None));
            }

            // Neither the text nor the ids appear in the database file.
            var file = await LocalDatabaseBytesAsync(path);
            Assert.NotEmpty(file);
            Assert.Equal(-1, file.AsSpan().IndexOf("salut migration"u8));
            Assert.Equal(-1, file.AsSpan().IndexOf(conversation.ToByteArray()));
            Assert.Equal(-1, file.AsSpan().IndexOf(remote.ToByteArray()));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public void ASealedRow_DoesNotOpen_UnderAnotherKeyOrTableOrStorageKey()
    {
        var storageKey = RandomNumberGenerator.GetBytes(32);
        using var sealer = new RowSealer(storageKey);
        var lookup = sealer.Lookup(LocalDatabase.SessionsTable, Guid.NewGuid());
        var row = sealer.Seal(LocalDatabase.SessionsTable, lookup, "state"u8.ToArray());

        Assert.Equal("state"u8.ToArray(), sealer.Open(LocalDatabase.SessionsTable, lookup, row));
        Assert.Throws<LocalStoreCorruptedException>(() => sealer.Open(LocalDatabase.SessionsTable, sealer.Lookup(LocalDatabase.SessionsTable, Guid.NewGuid()), row));
        Assert.Throws<LocalStoreCorruptedException>(() => sealer.Open(LocalDatabase.PinnedTable, lookup, row));
        using var other = new RowSealer(RandomNumberGenerator.GetBytes(32));
        Assert.Throws<LocalStoreCorruptedException>(() => other.Open(LocalDatabase.SessionsTable, lookup, row));
        Assert.NotEqual(lookup, other.Lookup(LocalDatabase.SessionsTable, Guid.Empty));
    }

    [Fact]
    public async Task Retention_DeletesOnlyWhatTheUserAsksFor()
    {
        var directory = Directory.CreateTempSubdirectory("messaging-retention-");
        try
        {
            var path = await OfflineStoreAsync(directory, legacy =>
            {
                for (var i = 1; i <= 5; i++)
                {
                    legacy.Inbox.Add(new InboxMessage(i, Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), EnvelopeKind.Chat, [(byte)i], DateTimeOffset.UnixEpoch));
                }
            });
            await using var client = await OpenAsync(path);
            var stored = await StoredMessageRowsAsync(path);
            Assert.Equal(5, stored.Count);
            Assert.Equal(0, await client.DeleteMessagesAsync(olderThan: TimeSpan.FromDays(1)));
            Assert.Equal(3, await client.DeleteMessagesAsync(keepLatest: 2));
            Assert.Equal([4L, 5L], (await client.GetInboxAsync()).Select(m => m.Sequence));
            await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.DeleteMessagesAsync(keepLatest: -1));

            // Deleted means gone from the device's files, not left in a free cell of the database or in its write-ahead
            // log (read while the client still has the database open, so the log has not been folded in at close).
            var file = await LocalDatabaseBytesAsync(path);
            foreach (var (sequence, lookup, sealedRow) in stored)
            {
                var kept = sequence > 3;
                Assert.True(kept == file.AsSpan().IndexOf(sealedRow) >= 0, $"message {sequence}'s sealed row");
                Assert.True(kept == file.AsSpan().IndexOf(lookup) >= 0, $"message {sequence}'s lookup");
            }
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task ReadMarks_AreKeptSealedOnTheDevice_OnlyMoveForward_AndSurviveReopening()
    {
        var directory = Directory.CreateTempSubdirectory("messaging-readmarks-");
        try
        {
            var path = await OfflineStoreAsync(directory, _ => { });
            var (read, untouched) = (Guid.NewGuid(), Guid.NewGuid());
            await using (var client = await OpenAsync(path))
            {
                Assert.Empty(await client.GetReadMarksAsync());
                await client.MarkReadAsync(read, 7);
                await client.MarkReadAsync(read, 3);
                await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.MarkReadAsync(untouched, -1));
                Assert.Equal(7, Assert.Single(await client.GetReadMarksAsync(), m => m.Key == read).Value);
            }

            // Sealed like every other row: the conversation id is not in the file in the clear.
            var file = await LocalDatabaseBytesAsync(path);
            Assert.NotEmpty(file);
            Assert.Equal(-1, file.AsSpan().IndexOf(read.ToByteArray()));
            Assert.DoesNotContain(read.ToString(), System.Text.Encoding.Latin1.GetString(file), StringComparison.Ordinal);

            await using (var reopened = await OpenAsync(path))
            {
                var marks = await reopened.GetReadMarksAsync();
                Assert.Equal(7, marks[read]);
                Assert.False(marks.ContainsKey(untouched));
                await reopened.MarkReadAsync(read, 9);
                Assert.Equal(9, (await reopened.GetReadMarksAsync())[read]);
            }
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task OwnSentTexts_AreKeptSealedBesideTheReceivedOnes_SurviveReopening_AndArePrunedLikeThem()
    {
        var directory = Directory.CreateTempSubdirectory("messaging-sent-");
        try
        {
            var path = await OfflineStoreAsync(directory, _ => { });
            var conversation = Guid.NewGuid();
            var text = "Rendez-vous confirmé " + Guid.NewGuid().ToString("N");
            var receipt = new SendReceipt(Guid.NewGuid(), 4242, new DateTimeOffset(2031, 4, 2, 8, 30, 0, TimeSpan.Zero), Recipients: 2);
            Guid device, member;
            await using (var client = await OpenAsync(path))
            {
                (device, member) = (client.DeviceId, client.MemberId);
                await client.KeepSentTextAsync(conversation, receipt, text);
                await client.KeepSentTextAsync(conversation, receipt, text);
                await Assert.ThrowsAsync<ArgumentNullException>(() => client.KeepSentTextAsync(conversation, receipt, null!));
            }

            var file = await LocalDatabaseBytesAsync(path);
            Assert.DoesNotContain(text, System.Text.Encoding.UTF8.GetString(file), StringComparison.Ordinal);

            await using (var reopened = await OpenAsync(path))
            {
                var kept = Assert.Single(await reopened.GetInboxAsync());
                Assert.Equal((receipt.EnvelopeId, receipt.Sequence, conversation, member, device, EnvelopeKind.Chat, text, receipt.AcceptedAt),
                    (kept.EnvelopeId, kept.Sequence, kept.ConversationId, kept.SenderMemberId, kept.SenderDeviceId, kept.Kind, kept.Text, kept.SentAt));
                Assert.Equal(1, await reopened.DeleteMessagesAsync(keepLatest: 0));
                Assert.Empty(await reopened.GetInboxAsync());
            }
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    /// <summary>Every byte of the device's local database as it is on disk: the file and its write-ahead log.</summary>
    private static async Task<byte[]> LocalDatabaseBytesAsync(string keyStorePath)
    {
        var database = LocalDatabase.PathFor(keyStorePath);
        return [.. await File.ReadAllBytesAsync(database), .. File.Exists(database + "-wal") ? await File.ReadAllBytesAsync(database + "-wal") : []];
    }

    /// <summary>The message rows of the device's local database as stored: server sequence, lookup and sealed row.</summary>
    private static async Task<List<(long Sequence, byte[] Lookup, byte[] Sealed)>> StoredMessageRowsAsync(string keyStorePath)
    {
        var source = new SqliteConnectionStringBuilder { DataSource = LocalDatabase.PathFor(keyStorePath), Mode = SqliteOpenMode.ReadOnly, Pooling = false };
        await using var connection = new SqliteConnection(source.ToString());
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT sequence, lookup, sealed FROM messages ORDER BY sequence";
        var rows = new List<(long, byte[], byte[])>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.GetInt64(0), (byte[])reader[1], (byte[])reader[2]));
        }

        return rows;
    }

    /// <summary>A device's key store in <paramref name="directory"/> (an old-format one, filled by <paramref name="fill"/>),
    /// pointing at a server that is not there: the client opens it and works offline.</summary>
    private static async Task<string> OfflineStoreAsync(DirectoryInfo directory, Action<LegacyDeviceState> fill)
    {
        var path = Path.Combine(directory.FullName, "device.mks");
        var legacy = new LegacyDeviceState { Server = new Uri("http://127.0.0.1:9/"), IdentitySeed = RandomNumberGenerator.GetBytes(32), IdentityAgreementSecret = RandomNumberGenerator.GetBytes(32) };
        legacy.SignedPreKeys.Add(new StoredSignedPreKey(1, RandomNumberGenerator.GetBytes(32)));
        fill(legacy);
        using var passphrase = new Passphrase(Platform.Passphrase);
        await new EncryptedKeyStore(path, KeyStoreOptions.Interactive).SaveAsync(legacy.Serialize(), passphrase);
        return path;
    }

    private static async Task<MessagingClient> OpenAsync(string path)
    {
        using var passphrase = new Passphrase(Platform.Passphrase);
        return await MessagingClient.OpenAsync(path, passphrase, Platform.ClientOptions);
    }
}
