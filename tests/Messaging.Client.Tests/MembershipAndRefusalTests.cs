using Messaging.Client.Tests.Infrastructure;
using Messaging.Contracts;

namespace Messaging.Client.Tests;

/// <summary>Membership changes seen by senders, and server refusals surfaced as the exception type the caller acts on.</summary>
public sealed class MembershipAndRefusalTests(SharedPlatform shared) : IClassFixture<SharedPlatform>
{
    [Fact]
    public async Task AMemberAddedToAConversation_ReceivesLaterMessagesOnly_AndAnOutsider_IsToldItDoesNotExist()
    {
        var platform = shared.Platform;
        var (_, adminX) = await platform.CreateOrganisationAsync("Service de prévention de Liège");
        var (_, adminY) = await platform.CreateOrganisationAsync("AMO Liège");
        var aline = await platform.EnrolDeviceAsync(adminX, await platform.CreateMemberAsync(adminX, "Aline"));
        var outsider = await platform.EnrolDeviceAsync(adminX, await platform.CreateMemberAsync(adminX, "Odile"));
        var bruno = await platform.EnrolDeviceAsync(adminY, await platform.CreateMemberAsync(adminY, "Bruno"));
        var chloe = await platform.EnrolDeviceAsync(adminY, await platform.CreateMemberAsync(adminY, "Chloé"));
        var conversation = (await aline.CreateConversationAsync([bruno.MemberId])).ConversationId;

        await aline.SendTextAsync(conversation, "avant");
        Assert.Equal("avant", (await bruno.NextAsync()).Text);

        var changed = await aline.AddConversationMemberAsync(conversation, chloe.MemberId);
        Assert.Contains(chloe.MemberId, changed.MemberIds);
        var receipt = await aline.SendTextAsync(conversation, "après");
        Assert.Equal(2, receipt.Recipients);
        Assert.Equal("après", (await bruno.NextAsync()).Text);
        Assert.Equal("après", (await chloe.NextAsync()).Text);
        Assert.DoesNotContain(await chloe.GetInboxAsync(), m => m.Text == "avant");

        var refused = await Assert.ThrowsAsync<TargetNotFoundException>(() => outsider.SendTextAsync(conversation, "intrusion"));
        Assert.Equal(ErrorCodes.ConversationNotFound, refused.Code);
        Assert.DoesNotContain(":", refused.Message[(refused.Code.Length + 1)..], StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASendersKnownDevices_AreCorrectedByTheServer_WhenDevicesOrMembersChange()
    {
        var platform = shared.Platform;
        var (_, adminX) = await platform.CreateOrganisationAsync("Service de prévention de Namur");
        var (_, adminY) = await platform.CreateOrganisationAsync("AMO Namur");
        var aline = await platform.EnrolDeviceAsync(adminX, await platform.CreateMemberAsync(adminX, "Aline"));
        var bruno1 = await platform.EnrolDeviceAsync(adminY, await platform.CreateMemberAsync(adminY, "Bruno"));
        var chloe = await platform.EnrolDeviceAsync(adminY, await platform.CreateMemberAsync(adminY, "Chloé"));
        var conversation = (await aline.CreateConversationAsync([bruno1.MemberId, chloe.MemberId])).ConversationId;
        Assert.Equal(2, (await aline.SendTextAsync(conversation, "un")).Recipients);
        Assert.Equal("un", (await bruno1.NextAsync()).Text);

        // After Aline's device listed the conversation: Bruno gets a second device, his first is revoked, Chloé leaves.
        var bruno2 = await platform.EnrolDeviceAsync(adminY, bruno1.MemberId);
        await adminY.Api.RevokeDeviceAsync(await adminY.GetAccessTokenAsync(), bruno1.DeviceId);
        await aline.RemoveConversationMemberAsync(conversation, chloe.MemberId);

        // The server refuses the outdated recipient set; the SDK lists the devices anew and sends to exactly Bruno's new one.
        Assert.Equal(1, (await aline.SendTextAsync(conversation, "deux")).Recipients);
        Assert.Equal("deux", (await bruno2.NextAsync()).Text);
        Assert.Equal(1, (await aline.SendTextAsync(conversation, "trois")).Recipients);
        Assert.Equal("trois", (await bruno2.NextAsync()).Text);
    }

    [Fact]
    public async Task AWorkerAdministeringTheDirectory_IsNotPermitted()
    {
        var platform = shared.Platform;
        var (_, admin) = await platform.CreateOrganisationAsync("Ville de Mons");
        var worker = await platform.EnrolDeviceAsync(admin, await platform.CreateMemberAsync(admin, "Wendy"));

        var refused = await Assert.ThrowsAsync<NotPermittedException>(async () =>
            await worker.Api.CreateOrganisationAsync(await worker.GetAccessTokenAsync(), new CreateOrganisationRequest("Pirate", OrganisationTypes.PreventionService)));
        Assert.Equal(ErrorCodes.Forbidden, refused.Code);
    }

    [Theory]
    [InlineData(ErrorCodes.RateLimited, typeof(RateLimitedException))]
    [InlineData(ErrorCodes.ServerStopping, typeof(ServerStoppingException))]
    [InlineData(ErrorCodes.DeviceRevoked, typeof(DeviceNoLongerEnrolledException))]
    [InlineData(ErrorCodes.EnrolmentCodeExpired, typeof(EnrolmentCodeRejectedException))]
    [InlineData(ErrorCodes.EnrolmentCodeUsed, typeof(EnrolmentCodeRejectedException))]
    [InlineData(ErrorCodes.KindRefused, typeof(NotPermittedException))]
    [InlineData(ErrorCodes.MemberNotFound, typeof(TargetNotFoundException))]
    [InlineData(ErrorCodes.CommuneNotFound, typeof(TargetNotFoundException))]
    [InlineData(ErrorCodes.ConsentRevoked, typeof(NotPermittedException))]
    [InlineData(ErrorCodes.PartnerWithdrawn, typeof(NotPermittedException))]
    [InlineData(ErrorCodes.ReferralWrongParty, typeof(NotPermittedException))]
    [InlineData(ErrorCodes.TokenExpired, typeof(AuthenticationFailedException))]
    [InlineData(ErrorCodes.TooLarge, typeof(ServerRefusedException))]
    public void EveryErrorCode_MapsToTheExceptionTheCallerActsOn(string code, Type expected)
    {
        var exception = ServerRefusedException.FromCode(code, "text");
        Assert.Equal(expected, exception.GetType());
        Assert.Equal(code, exception.Code);
        Assert.Equal($"{code}: text", exception.Message);
    }

    [Fact]
    public void PlaintextFrames_HideTheExactLength_AndRoundTrip()
    {
        var shortBody = new byte[3];
        var longerBody = new byte[200];
        Assert.Equal(PlaintextFrame.Wrap(shortBody).Length, PlaintextFrame.Wrap(longerBody).Length);
        Assert.Equal(0, PlaintextFrame.Wrap(new byte[1000]).Length % PlaintextFrame.Bucket);
        var body = "Bonjour, ça va ?"u8.ToArray();
        Assert.Equal(body, PlaintextFrame.Unwrap(PlaintextFrame.Wrap(body)));
    }
}
