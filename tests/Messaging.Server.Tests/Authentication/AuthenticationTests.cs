using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Messaging.Contracts;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Messaging.Server.Tests;

public abstract class AuthenticationTests(StorageProvider storage)
{
    [Fact]
    public async Task ASignedChallenge_YieldsAToken_ThatOpensTheHub()
    {
        await using var app = new MessagingApp(storage);
        var device = await app.EnrolDeviceAsync(await app.CreateMemberAsync(await app.CreateOrganisationAsync()));

        var token = await app.AuthenticateAsync(device);
        await using var connected = await app.ConnectAsync(device);
        var me = await connected.Hub.InvokeAsync<WhoAmIResult>(nameof(IMessagingHub.WhoAmI));

        Assert.Equal(app.Clock.GetUtcNow().AddMinutes(15).ToUnixTimeMilliseconds(), token.ExpiresAt.ToUnixTimeMilliseconds());
        Assert.Equal(device.Id, me.DeviceId);
        Assert.Equal(device.Member.Id, me.MemberId);
        Assert.Equal(Roles.Worker, me.Role);
        Assert.Equal(0, await app.CountAsync("access_tokens", $"token_hash = '{token.AccessToken}'"));
    }

    [Fact]
    public async Task AWrongSignature_IsRefused_AndBurnsTheChallenge()
    {
        await using var app = new MessagingApp(storage);
        var device = await app.EnrolDeviceAsync(await app.CreateMemberAsync(await app.CreateOrganisationAsync()));
        var other = DeviceKeys.Generate();
        var http = app.CreateClient();
        var challenge = (await (await http.PostAsJsonAsync(ApiRoutes.AuthChallenge, new ChallengeRequest(device.Id))).Content.ReadFromJsonAsync<ChallengeResponse>())!;

        var forged = await http.PostAsJsonAsync(ApiRoutes.AuthToken, new TokenRequest(device.Id, challenge.Challenge, other.Identity.SignChallenge(challenge.Challenge)));
        await Refusal.AssertHttpAsync(ErrorCodes.SignatureInvalid, 401, forged);

        var retried = await http.PostAsJsonAsync(ApiRoutes.AuthToken, new TokenRequest(device.Id, challenge.Challenge, device.Keys.Identity.SignChallenge(challenge.Challenge)));
        await Refusal.AssertHttpAsync(ErrorCodes.ChallengeInvalid, 401, retried);
        Assert.Equal(0, await app.CountAsync("access_tokens", $"device_id = '{device.Id:D}'"));
    }

    [Fact]
    public async Task AChallenge_IsSingleUse_AndExpires()
    {
        await using var app = new MessagingApp(storage);
        var device = await app.EnrolDeviceAsync(await app.CreateMemberAsync(await app.CreateOrganisationAsync()));
        var http = app.CreateClient();
        async Task<ChallengeResponse> ChallengeAsync() =>
            (await (await http.PostAsJsonAsync(ApiRoutes.AuthChallenge, new ChallengeRequest(device.Id))).Content.ReadFromJsonAsync<ChallengeResponse>())!;
        TokenRequest Signed(ChallengeResponse c) => new(device.Id, c.Challenge, device.Keys.Identity.SignChallenge(c.Challenge));

        var used = await ChallengeAsync();
        (await http.PostAsJsonAsync(ApiRoutes.AuthToken, Signed(used))).EnsureSuccessStatusCode();
        await Refusal.AssertHttpAsync(ErrorCodes.ChallengeInvalid, 401, await http.PostAsJsonAsync(ApiRoutes.AuthToken, Signed(used)));

        var late = await ChallengeAsync();
        app.Clock.Advance(TimeSpan.FromMinutes(3));
        await Refusal.AssertHttpAsync(ErrorCodes.ChallengeInvalid, 401, await http.PostAsJsonAsync(ApiRoutes.AuthToken, Signed(late)));
    }

    [Fact]
    public async Task AChallengeForAnotherDevice_IsRefused()
    {
        await using var app = new MessagingApp(storage);
        var worker = await app.CreateMemberAsync(await app.CreateOrganisationAsync());
        var first = await app.EnrolDeviceAsync(worker);
        var second = await app.EnrolDeviceAsync(worker);
        var http = app.CreateClient();
        var challenge = (await (await http.PostAsJsonAsync(ApiRoutes.AuthChallenge, new ChallengeRequest(first.Id))).Content.ReadFromJsonAsync<ChallengeResponse>())!;

        var response = await http.PostAsJsonAsync(ApiRoutes.AuthToken, new TokenRequest(second.Id, challenge.Challenge, second.Keys.Identity.SignChallenge(challenge.Challenge)));

        await Refusal.AssertHttpAsync(ErrorCodes.ChallengeInvalid, 401, response);
    }

    [Fact]
    public async Task AnExpiredToken_IsRefused_OverHttpAndByTheHub()
    {
        await using var app = new MessagingApp(storage);
        var organisation = await app.CreateOrganisationAsync();
        var admin = organisation.Admin;
        var client = await app.ClientAsync(admin);
        await using var connected = await app.ConnectAsync(admin);

        app.Clock.Advance(TimeSpan.FromMinutes(15));

        var response = await client.PostAsJsonAsync(ApiRoutes.Members, new CreateMemberRequest(organisation.Id, "Late", Roles.Worker, "late@service.example"));
        await Refusal.AssertHttpAsync(ErrorCodes.Unauthenticated, 401, response);
        // The hub closes the connection at the token's expiry (HubErrorFilter still refuses a call that would slip in
        // with auth.token-expired); TokenExpiryTests covers the pushes.
        await connected.Closed.WaitAsync(TimeSpan.FromSeconds(10));
        await Assert.ThrowsAsync<InvalidOperationException>(() => connected.Hub.InvokeAsync<WhoAmIResult>(nameof(IMessagingHub.WhoAmI)));
        await Assert.ThrowsAnyAsync<Exception>(() => app.ConnectAsync(admin, authenticate: false));
    }

    [Fact]
    public async Task AGarbageToken_IsRefused()
    {
        await using var app = new MessagingApp(storage);
        var client = app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "not-a-token");
        var response = await client.PostAsJsonAsync(ApiRoutes.Organisations, new CreateOrganisationRequest("X", OrganisationTypes.PreventionService));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task RevokingADevice_ClosesItsLiveConnectionAtOnce_AndRejectsItsTokenFromThenOn()
    {
        await using var app = new MessagingApp(storage);
        var organisation = await app.CreateOrganisationAsync();
        var device = await app.EnrolDeviceAsync(await app.CreateMemberAsync(organisation));
        var token = await app.AuthenticateAsync(device);
        await using var connected = await app.ConnectAsync(device);
        var admin = await app.ClientAsync(organisation.Admin);

        var revoke = await admin.PostAsync(ApiRoutes.RevokeDeviceFor(device.Id), null);

        Assert.Equal(HttpStatusCode.NoContent, revoke.StatusCode);
        await connected.Closed.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(HubConnectionState.Disconnected, connected.Hub.State);

        var withOldToken = app.CreateClient();
        withOldToken.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token.AccessToken);
        Assert.Equal(HttpStatusCode.Unauthorized, (await withOldToken.PostAsync(ApiRoutes.RevokeDeviceFor(device.Id), null)).StatusCode);
        await Assert.ThrowsAnyAsync<Exception>(() => app.ConnectAsync(device, authenticate: false));
        await Refusal.AssertHttpAsync(ErrorCodes.DeviceRevoked, 401,
            await app.CreateClient().PostAsJsonAsync(ApiRoutes.AuthChallenge, new ChallengeRequest(device.Id)));
        Assert.Equal(1, await app.CountAsync("key_log", $"device_id = '{device.Id:D}' AND action = {(int)KeyLogAction.Revoked}"));
    }

    [Fact]
    public async Task ARevokedDevice_IsDroppedFromRecipientSets_AndLosesItsPendingEnvelopes()
    {
        await using var app = new MessagingApp(storage);
        var serviceA = await app.CreateOrganisationAsync();
        var serviceB = await app.CreateOrganisationAsync();
        var workerA = await app.CreateMemberAsync(serviceA);
        var workerB = await app.CreateMemberAsync(serviceB);
        var a1 = await app.EnrolDeviceAsync(workerA);
        var b1 = await app.EnrolDeviceAsync(workerB);
        var b2 = await app.EnrolDeviceAsync(workerB);
        await using var sender = await app.ConnectAsync(a1);
        var conversation = await MessagingApp.CreateConversationAsync(sender, false, workerB);
        var stale = await MessagingApp.BuildSendAsync(sender, conversation.ConversationId);
        await MessagingApp.SendAsync(sender, conversation.ConversationId);
        Assert.Equal(1, await app.CountAsync("envelope_recipients", $"recipient_device_id = '{b2.Id:D}'"));

        (await (await app.ClientAsync(serviceB.Admin)).PostAsync(ApiRoutes.RevokeDeviceFor(b2.Id), null)).EnsureSuccessStatusCode();

        Assert.Equal(0, await app.CountAsync("envelope_recipients", $"recipient_device_id = '{b2.Id:D}'"));
        var result = await sender.SendAsync(stale);
        Assert.Equal(SendOutcome.DeviceMismatch, result.Outcome);
        Assert.Equal([b2.Id], result.StaleDeviceIds);
        Assert.Empty(result.MissingDevices);
        _ = b1;
    }

    [Fact]
    public async Task ADeviceRevokedByAnotherProcess_IsRefusedAtItsVeryNextSendOrAcknowledgement_WithNothingChanged()
    {
        await using var app = new MessagingApp(storage);
        var serviceA = await app.CreateOrganisationAsync();
        var serviceB = await app.CreateOrganisationAsync();
        var workerB = await app.CreateMemberAsync(serviceB);
        await using var sender = await app.ConnectAsync(await app.EnrolDeviceAsync(await app.CreateMemberAsync(serviceA)));
        await using var recipient = await app.ConnectAsync(await app.EnrolDeviceAsync(workerB));
        var conversation = await MessagingApp.CreateConversationAsync(sender, false, workerB);
        var first = await MessagingApp.SendAsync(sender, conversation.ConversationId);
        Assert.Equal(first.Sequence, (await recipient.ReceiveAsync(1))[0].Sequence);
        var next = await MessagingApp.BuildSendAsync(sender, conversation.ConversationId);

        // Revoked as a host command or another instance does it, with no word to this process: the test clock stands
        // still, so the hub's cached "active" answers for both devices (DatabaseDeviceCheck.ActiveFor) never lapse.
        await app.ExecuteSqlAsync($"UPDATE devices SET status = 'revoked', revoked_at = 1 WHERE id IN ('{sender.Device.Id:D}', '{recipient.Device.Id:D}');");

        // The refusal cannot come back on a connection the server closes: each device is told it was revoked (the push a
        // revocation sends), then its connection is closed.
        await Assert.ThrowsAnyAsync<Exception>(() => sender.SendAsync(next));
        await Assert.ThrowsAnyAsync<Exception>(() => recipient.AcknowledgeAsync(first.Sequence));
        foreach (var device in new[] { sender, recipient })
        {
            await device.Revoked.WaitAsync(TimeSpan.FromSeconds(10));
            await device.Closed.WaitAsync(TimeSpan.FromSeconds(10));
        }

        Assert.Equal(1, await app.CountAsync("envelopes"));
        Assert.Equal(1, await app.CountAsync("envelope_recipients", $"recipient_device_id = '{recipient.Device.Id:D}' AND envelope_seq = {first.Sequence}"));
    }

    [Fact]
    public async Task ADeviceRevokedByAnotherProcess_IsRefusedAnyOtherCall_OnceItsCachedAnswerLapses()
    {
        await using var app = new MessagingApp(storage);
        var organisation = await app.CreateOrganisationAsync();
        await using var device = await app.ConnectAsync(await app.EnrolDeviceAsync(await app.CreateMemberAsync(organisation)));
        await device.Hub.InvokeAsync<IReadOnlyList<ConversationSummary>>(nameof(IMessagingHub.ListConversations));

        await app.ExecuteSqlAsync($"UPDATE devices SET status = 'revoked', revoked_at = 1 WHERE id = '{device.Device.Id:D}';");
        // Within the cache's second the call still passes: the bound SECURITY.md states for calls other than sends and
        // acknowledgements.
        await device.Hub.InvokeAsync<IReadOnlyList<ConversationSummary>>(nameof(IMessagingHub.ListConversations));
        app.Clock.Advance(TimeSpan.FromSeconds(1));

        await Assert.ThrowsAnyAsync<Exception>(() => device.Hub.InvokeAsync<IReadOnlyList<ConversationSummary>>(nameof(IMessagingHub.ListConversations)));
        await device.Revoked.WaitAsync(TimeSpan.FromSeconds(10));
        await device.Closed.WaitAsync(TimeSpan.FromSeconds(10));
    }

    public sealed class OnSqlite() : AuthenticationTests(StorageProvider.Sqlite);

    public sealed class OnPostgres() : AuthenticationTests(StorageProvider.Postgres);
}
