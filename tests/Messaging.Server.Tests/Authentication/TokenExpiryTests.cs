using Messaging.Contracts;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Messaging.Server.Tests;

/// <summary>A hub connection lives no longer than its token: at expiry the server closes it, so pushes stop with the
/// token; the device reconnects with a fresh one and gets what was sent meanwhile.</summary>
public abstract class TokenExpiryTests(StorageProvider storage)
{
    [Fact]
    public async Task AtItsTokensExpiry_AConnectionIsClosed_AndReceivesNoMorePushes_UntilItReconnectsWithAFreshToken()
    {
        await using var app = new MessagingApp(storage);
        var organisation = await app.CreateOrganisationAsync();
        var peer = await app.CreateMemberAsync(organisation);
        var receiver = await app.ConnectAsync(await app.EnrolDeviceAsync(peer));
        var sender = await app.ConnectWorkerAsync(organisation);
        var conversation = await MessagingApp.CreateConversationAsync(sender, false, peer);
        await MessagingApp.SendAsync(sender, conversation.ConversationId);
        Assert.Single(await receiver.ReceiveAsync(1));
        var expiresAt = (await receiver.Hub.InvokeAsync<WhoAmIResult>(nameof(IMessagingHub.WhoAmI))).TokenExpiresAt;

        app.Clock.Advance(expiresAt - app.Clock.GetUtcNow() - TimeSpan.FromSeconds(1));
        await MessagingApp.SendAsync(sender, conversation.ConversationId);
        Assert.Single(await receiver.ReceiveAsync(1));
        Assert.False(receiver.Closed.IsCompleted);

        app.Clock.Advance(TimeSpan.FromSeconds(2));
        await receiver.Closed.WaitAsync(TimeSpan.FromSeconds(10));
        await using var freshSender = await app.ReconnectAsync(sender);
        Assert.Equal(SendOutcome.Accepted, (await MessagingApp.SendAsync(freshSender, conversation.ConversationId)).Outcome);

        Assert.Equal(HubConnectionState.Disconnected, receiver.Hub.State);
        Assert.True(await receiver.NothingMoreAsync());
        await using var freshReceiver = await app.ReconnectAsync(receiver);
        Assert.Single(await freshReceiver.ReceiveAsync(1));
    }

    public sealed class OnSqlite() : TokenExpiryTests(StorageProvider.Sqlite);

    public sealed class OnPostgres() : TokenExpiryTests(StorageProvider.Postgres);
}
