using Messaging.Contracts;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Messaging.Server.Tests;

/// <summary>Bundles (and the one-time prekeys they consume) go only to devices that may write to the member — its own
/// other devices and members sharing a conversation with it — and no faster than the per-(device, target) limit.</summary>
public abstract class PreKeyBundleAccessTests(StorageProvider storage)
{
    private static Task<PreKeyBundles> BundlesAsync(ConnectedDevice requester, Guid memberId)
        => requester.Hub.InvokeAsync<PreKeyBundles>(nameof(IMessagingHub.GetPreKeyBundles), new GetPreKeyBundlesRequest(memberId));

    [Theory]
    [InlineData(Roles.JusticeAssistant)]
    [InlineData(Roles.PlatformOperator)]
    [InlineData(Roles.Worker)]
    public async Task ADeviceSharingNoConversationWithTheMember_IsRefusedItsBundles_AndConsumesNoPreKey(string role)
    {
        await using var app = new MessagingApp(storage);
        var service = await app.CreateOrganisationAsync();
        var target = await app.CreateMemberAsync(service);
        var targetDevice = await app.EnrolDeviceAsync(target, oneTimePreKeys: 5);
        await using var requester = role switch
        {
            Roles.PlatformOperator => await app.ConnectAsync(await app.OperatorAsync()),
            Roles.JusticeAssistant => await app.ConnectWorkerAsync(await app.CreateOrganisationAsync(OrganisationTypes.JusticeHouse), Roles.JusticeAssistant),
            _ => await app.ConnectWorkerAsync(await app.CreateOrganisationAsync()),
        };

        await Refusal.AssertHubAsync(ErrorCodes.PreKeyBundleRefused, () => BundlesAsync(requester, target.Id));
        Assert.Equal(5, await app.CountAsync("one_time_prekeys", $"device_id = '{targetDevice.Id:D}'"));

        // Once they share a conversation, the bundle is given.
        await MessagingApp.CreateConversationAsync(requester, false, target);
        Assert.Equal(targetDevice.Id, Assert.Single((await BundlesAsync(requester, target.Id)).Bundles).DeviceId);
        Assert.Equal(4, await app.CountAsync("one_time_prekeys", $"device_id = '{targetDevice.Id:D}'"));
    }

    [Fact]
    public async Task OneDevice_FetchingOneMembersBundlesPastThePerTargetLimit_IsRateLimited_WhileOtherTargetsAndDevicesAreNot()
    {
        await using var app = new MessagingApp(storage);
        var service = await app.CreateOrganisationAsync();
        var target = await app.CreateMemberAsync(service);
        var other = await app.CreateMemberAsync(service);
        var targetDevice = await app.EnrolDeviceAsync(target, oneTimePreKeys: 50);
        await app.EnrolDeviceAsync(other, oneTimePreKeys: 5);
        await using var drainer = await app.ConnectWorkerAsync(service);
        await using var colleague = await app.ConnectWorkerAsync(service);
        await MessagingApp.CreateConversationAsync(drainer, false, target, other, colleague.Device.Member);

        for (var i = 0; i < 5; i++)
        {
            await BundlesAsync(drainer, target.Id);
        }

        await Refusal.AssertHubAsync(ErrorCodes.RateLimited, () => BundlesAsync(drainer, target.Id));
        Assert.Equal(45, await app.CountAsync("one_time_prekeys", $"device_id = '{targetDevice.Id:D}'"));
        Assert.Single((await BundlesAsync(drainer, other.Id)).Bundles);
        Assert.Single((await BundlesAsync(colleague, target.Id)).Bundles);

        app.Clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Single((await BundlesAsync(drainer, target.Id)).Bundles);
    }

    [Fact]
    public async Task TheTargetsLiveDevice_IsToldWhenItsOneTimePreKeysRunLow_AndOnlyIt()
    {
        await using var app = new MessagingApp(storage);
        var service = await app.CreateOrganisationAsync();
        var target = await app.CreateMemberAsync(service);
        await using var low = await app.ConnectAsync(await app.EnrolDeviceAsync(target, oneTimePreKeys: 11));
        await using var requester = await app.ConnectWorkerAsync(service);
        await MessagingApp.CreateConversationAsync(requester, false, target);

        await BundlesAsync(requester, target.Id); // 10 left: at the threshold, not below
        await BundlesAsync(requester, target.Id); // 9 left

        Assert.Equal(9, await low.PreKeysLowAsync());
        using var none = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => requester.PreKeysLowAsync().WaitAsync(none.Token));
    }

    public sealed class OnSqlite() : PreKeyBundleAccessTests(StorageProvider.Sqlite);

    public sealed class OnPostgres() : PreKeyBundleAccessTests(StorageProvider.Postgres);
}
