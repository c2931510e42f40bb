using Messaging.Client.Tests.Infrastructure;
using Messaging.Contracts;
using Microsoft.Extensions.Time.Testing;

namespace Messaging.Client.Tests;

/// <summary>Replayed session starts and signed-prekey rotation (issue 9, defects 2 and 3).</summary>
public sealed class SessionSafetyTests(SharedPlatform shared) : IClassFixture<SharedPlatform>
{
    [Fact]
    public async Task APrekeyMessageReplayedAfter70RatchetSteps_IsRefused_AndTheConversationGoesOn()
    {
        var platform = shared.Platform;
        var (_, admin) = await platform.CreateOrganisationAsync("Ville de Verviers");
        var alice = await platform.EnrolDeviceAsync(admin, await platform.CreateMemberAsync(admin, "Alice"));
        // No one-time prekeys: the server decides whether one is handed out, so a replay cannot rely on its erasure.
        var bobMember = await platform.CreateMemberAsync(admin, "Bob");
        var bob = await platform.EnrolDeviceAsync(admin, bobMember, options: Platform.ClientOptions with { OneTimePreKeyBatch = 0 });
        var conversation = await alice.CreateConversationAsync([bobMember]);
        var captured = new List<EnvelopeDelivery>();
        bob.InboxPart.Received += d =>
        {
            lock (captured)
            {
                captured.Add(d);
            }
        };
        var failures = new List<DeliveryFailure>();
        bob.DeliveryFailed += (_, f) => failures.Add(f);

        await alice.SendTextAsync(conversation.ConversationId, "premier");
        Assert.Equal("premier", (await bob.NextAsync()).Text);
        EnvelopeDelivery start;
        lock (captured)
        {
            start = captured.Single();
        }

        for (var step = 0; step < 70; step++)
        {
            await bob.SendTextAsync(conversation.ConversationId, $"b{step}");
            Assert.Equal($"b{step}", (await alice.NextAsync()).Text);
            await alice.SendTextAsync(conversation.ConversationId, $"a{step}");
            Assert.Equal($"a{step}", (await bob.NextAsync()).Text);
        }

        // The duplicate record is gone (the user's retention deleted the history), and the session's window of retired
        // keys no longer reaches the start: only the replay rules stand between the replay and a new session.
        await bob.DeleteMessagesAsync(keepLatest: 0);
        await bob.InboxPart.ProcessPageAsync([start with { Sequence = start.Sequence + 1_000_000 }], CancellationToken.None);

        Assert.Empty(await bob.GetInboxAsync());
        Assert.False(bob.Messages.TryRead(out _));
        Assert.Single(await bob.Store.UnderLockAsync(() => bob.Store.SessionsOf(alice.DeviceId).ToList(), CancellationToken.None));

        await alice.SendTextAsync(conversation.ConversationId, "on continue");
        Assert.Equal("on continue", (await bob.NextAsync()).Text);
        await bob.SendTextAsync(conversation.ConversationId, "oui");
        Assert.Equal("oui", (await alice.NextAsync()).Text);
        Assert.Empty(failures);
    }

    [Fact]
    public async Task TheSignedPreKey_IsRotatedWeekly_AndTheOldSecretIsErasedAfterTheGracePeriod()
    {
        var platform = shared.Platform;
        var (_, admin) = await platform.CreateOrganisationAsync("Ville de Namur");
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        var bobMember = await platform.CreateMemberAsync(admin, "Bob");
        var bob = await platform.EnrolDeviceAsync(admin, bobMember, options: Platform.ClientOptions with { Time = time });
        Assert.Equal([(1u, false)], await SignedPreKeysAsync(bob));

        time.Advance(TimeSpan.FromDays(6));
        await Task.Delay(300);
        Assert.Equal([(1u, false)], await SignedPreKeysAsync(bob));

        time.Advance(TimeSpan.FromDays(1) + TimeSpan.FromHours(1));
        await WaitUntilAsync(async () => (await SignedPreKeysAsync(bob)).SequenceEqual([(2u, false), (1u, true)]));

        // A new sender starts its session on the published key 2, and Bob opens it.
        var alice = await platform.EnrolDeviceAsync(admin, await platform.CreateMemberAsync(admin, "Alice"));
        var conversation = await alice.CreateConversationAsync([bobMember]);
        await alice.SendTextAsync(conversation.ConversationId, "sur la nouvelle clé");
        Assert.Equal("sur la nouvelle clé", (await bob.NextAsync()).Text);

        // Two weeks on: key 1's grace period is over and its secret is erased; key 2 was rotated out in turn (kept).
        time.Advance(TimeSpan.FromDays(14));
        await WaitUntilAsync(async () => (await SignedPreKeysAsync(bob)).SequenceEqual([(3u, false), (2u, true)]));
    }

    [Fact]
    public async Task AMessageWhoseSkippedKeyIsOlderThanTheMaximumAge_ByTheClientsClock_IsNotRead()
    {
        var platform = shared.Platform;
        var (_, admin) = await platform.CreateOrganisationAsync("Ville de Huy");
        var alice = await platform.EnrolDeviceAsync(admin, await platform.CreateMemberAsync(admin, "Alice"));
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        var bobMember = await platform.CreateMemberAsync(admin, "Bob");
        var bob = await platform.EnrolDeviceAsync(admin, bobMember, options: Platform.ClientOptions with { Time = time });
        var conversation = await alice.CreateConversationAsync([bobMember]);
        await alice.SendTextAsync(conversation.ConversationId, "premier");
        Assert.Equal("premier", (await bob.NextAsync()).Text);

        var captured = new List<EnvelopeDelivery>();
        bob.InboxPart.Received += d =>
        {
            lock (captured)
            {
                captured.Add(d);
            }
        };
        var before = await bob.Store.UnderLockAsync(() => bob.Store.SessionsOf(alice.DeviceId).ToList(), CancellationToken.None);
        var un = await alice.SendTextAsync(conversation.ConversationId, "un");
        var deux = await alice.SendTextAsync(conversation.ConversationId, "deux");
        Assert.Equal("un", (await bob.NextAsync()).Text);
        Assert.Equal("deux", (await bob.NextAsync()).Text);
        EnvelopeDelivery first, second;
        lock (captured)
        {
            (first, second) = (captured.First(d => d.EnvelopeId == un.EnvelopeId), captured.First(d => d.EnvelopeId == deux.EnvelopeId));
        }

        // Back to the session as it was before both, as if "un" had been held up: "deux" arrives first and leaves
        // "un"'s key skipped, stored at the client's (fake) time.
        await bob.Store.LockAsync(CancellationToken.None);
        try
        {
            bob.Store.ReplaceSessions(alice.DeviceId, before);
            await bob.Store.SaveAsync(CancellationToken.None);
        }
        finally
        {
            bob.Store.Release();
        }

        await bob.DeleteMessagesAsync(keepLatest: 0);
        await bob.InboxPart.ProcessPageAsync([second], CancellationToken.None);
        Assert.Equal("deux", (await bob.NextAsync()).Text);

        // The system clock has barely moved; the client's clock says the skipped key is past its age: it is gone.
        time.Advance(Messaging.Crypto.Ratchet.Session.MaxSkippedKeyAge + TimeSpan.FromHours(1));
        await bob.InboxPart.ProcessPageAsync([first], CancellationToken.None);

        Assert.Equal(["deux"], (await bob.GetInboxAsync()).Select(m => m.Text));
        Assert.False(bob.Messages.TryRead(out _));
    }

    /// <summary>(id, retired) of each signed prekey secret the device holds, current first.</summary>
    private static async Task<List<(uint Id, bool Retired)>> SignedPreKeysAsync(MessagingClient client)
        => await client.Store.UnderLockAsync(() => client.Store.Keys.SignedPreKeys.Select(k => (k.Id, k.RetiredAt is not null || k.Unpublished)).ToList(), CancellationToken.None);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var elapsed = System.Diagnostics.Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(elapsed.Elapsed < TimeSpan.FromSeconds(20), "the condition was not met in 20 s");
            await Task.Delay(100);
        }
    }
}
